"""gunicorn settings for the ML backend: threaded workers, each with its own NER client (loaded on first
use)."""

import os

bind = f"{os.environ.get('ML_BACKEND_HOST', '127.0.0.1')}:{os.environ.get('ML_BACKEND_PORT', '8082')}"
# Each worker holds an ONNX Runtime session (or a Triton client): one or two are enough for LS's calls.
workers = int(os.environ.get("ML_BACKEND_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("ML_BACKEND_THREADS", "4"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("ML_BACKEND_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("ML_BACKEND_LOG_LEVEL", "info")
pidfile = os.environ.get("ML_BACKEND_PID_FILE")


def on_starting(server):
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
