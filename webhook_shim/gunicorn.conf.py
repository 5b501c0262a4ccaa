"""gunicorn settings for the shim: threaded workers, short timeouts, multiprocess Prometheus metrics."""

import os
import tempfile

bind = f"{os.environ.get('SHIM_HOST', '127.0.0.1')}:{os.environ.get('SHIM_PORT', '8081')}"
workers = int(os.environ.get("SHIM_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("SHIM_THREADS", "4"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("SHIM_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("SHIM_LOG_LEVEL", "info")
pidfile = os.environ.get("SHIM_PID_FILE")

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shim-metrics-")


def on_starting(server):
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A restarted shim must not add to a previous run's counters.
    d = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        os.remove(os.path.join(d, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
