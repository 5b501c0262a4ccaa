"""Benchmark: 5,000 realistic LS webhooks from 4 senders to the shim under gunicorn, vs a bare endpoint.

Run: `make bench-webhook` (or `PYTHONPATH=. .venv/bin/python bench/webhook_load.py --events 5000`).
Starts its own embedded Postgres and gunicorn on free ports; prints req/s, p50 and p99 for both
endpoints and the ratio. Goal: p99 <= 100 ms and >= 0.5x the bare endpoint's req/s.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil
from tqdm import tqdm

from devstack.services.embedded_postgres import EmbeddedPostgres
from devstack.services.shim import ShimServer
from include.adapters.db import repository as repo
from include.adapters.db.connection import connect, transaction
from include.adapters.db.migrate import apply_migrations

SECRET = "bench-secret"
TEXT = "Alice Smith paid $120.50 to Acme Corp on March 1, 2024. Call (415) 555-0132 or bob@acme.com."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _span(needle: str, label: str) -> dict:
    start = TEXT.index(needle)
    return {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + len(needle), "text": needle, "labels": [label]},
    }


def make_events(url: str, n_events: int, per_record: int = 4, run_no: int = 0) -> list[list[bytes]]:
    """Per record: one ANNOTATION_CREATED then updates, as an SME produces them. Grouped by record.

    Each `run_no` gets its own document, tasks and annotation ids, so runs never dedupe each other.
    """
    n_records = n_events // per_record
    sha = hashlib.sha256(f"bench-doc-{run_no}".encode()).hexdigest()
    offset = run_no * 1_000_000
    conn = connect(url)
    with transaction(conn):
        doc = repo.add_document(conn, sha256=sha, uri="file:///bench.csv", doc_type="csv", size_bytes=1)
        records = repo.add_records(
            conn, doc.id, [repo.NewRecord(record_key=f"row={i}", text=TEXT) for i in range(n_records)]
        )
    conn.close()
    results = [
        [_span("Alice Smith", "PERSON")],
        [_span("Alice Smith", "PERSON"), _span("$120.50", "MONEY")],
        [_span("Alice Smith", "PERSON"), _span("$120.50", "MONEY"), _span("March 1, 2024", "DATE")],
        [_span("Alice Smith", "PERSON"), _span("Acme Corp", "ORG"), _span("(415) 555-0132", "PHONE")],
    ]
    groups = []
    for i, record in enumerate(records):
        task = {
            "id": offset + 10_000 + i,
            "project": 1,
            "data": {"text": TEXT, "document_sha256": sha, "record_key": record.record_key},
        }
        group = []
        for k in range(per_record):
            ann = {
                "id": offset + 500_000 + i,
                "task": task["id"],
                "project": 1,
                "result": results[k % len(results)],
                "completed_by": 1,
                "lead_time": 10.0 + k,
                "was_cancelled": False,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": f"2026-01-01T00:{k:02d}:00Z",
            }
            action = "ANNOTATION_CREATED" if k == 0 else "ANNOTATION_UPDATED"
            body = {
                "action": action,
                "annotation": ann,
                "task": task,
                "project": {"id": 1, "title": "bench", "token": "x" * 40},
            }
            group.append(json.dumps(body).encode())
        groups.append(group)
    return groups


def tree_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process and its children, now."""
    if pid is None:
        return 0.0
    procs = [psutil.Process(pid)]
    procs += procs[0].children(recursive=True)
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def statements_executed(url: str) -> tuple[int, int]:
    """Statements the server has run: (sent by clients, all including those inside functions)."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT coalesce(sum(calls) FILTER (WHERE toplevel), 0), coalesce(sum(calls), 0) "
                "FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            top, total = cur.fetchone()
            return int(top), int(total)
    finally:
        conn.close()


def run(port: int, path: str, groups: list[list[bytes]], senders: int, label: str) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    bar = tqdm(total=sum(len(g) for g in groups), desc=label, unit="req")

    def sender(my_groups: list[list[bytes]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local: list[float] = []
        for group in my_groups:
            for body in group:
                t = time.perf_counter()
                conn.request(
                    "POST",
                    path,
                    body=body,
                    headers={"Content-Type": "application/json", "X-Webhook-Secret": SECRET},
                )
                resp = conn.getresponse()
                resp.read()
                local.append(time.perf_counter() - t)
                with lock:
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                bar.update(1)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=sender, args=(groups[i::senders],)) for i in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    bar.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "req_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "statuses": statuses,
    }


def count_versions(url: str) -> int:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM record_versions")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def nested_statements(url: str, port: int, run_no: int, events: int = 200) -> float:
    """Statements per event with those inside functions and triggers, from a separate, short run (tracking
    nested statements costs the server time, so the timed runs count only what clients send)."""

    def track(what: str) -> None:
        conn = connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"ALTER SYSTEM SET pg_stat_statements.track = '{what}'")
            cur.execute("SELECT pg_reload_conf()")
        conn.close()
        time.sleep(0.5)

    groups = make_events(url, events, run_no=run_no)
    track("all")
    try:
        before = statements_executed(url)[1]
        run(port, "/webhooks/label-studio", groups, 1, "nested statements")
        return (statements_executed(url)[1] - before - 1) / events
    finally:
        track("top")


def _cpu_ms_per_event(
    before: tuple[float, float, float], shim_pid: int | None, pg_pid: int | None, events: int
) -> dict[str, float]:
    now = (tree_cpu_s(shim_pid), tree_cpu_s(pg_pid), time.process_time())
    names = ("shim", "postgres", "senders")
    return {name: 1000 * (b - a) / events for name, a, b in zip(names, before, now, strict=True)}


def _other_cpus(cpus: set[int]) -> set[int]:
    others = set(range(os.cpu_count() or 1)) - cpus
    if not others:
        raise SystemExit(f"--postgres-cpus {sorted(cpus)} leaves no CPU for the shim and the senders")
    return others


def _pin(pid: int | None, cpus: set[int]) -> None:
    """Pin a process and everything it has started to `cpus`."""
    if pid is None:
        raise SystemExit("cannot pin a process that is not running")
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        process.cpu_affinity(sorted(cpus))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--synchronous-commit",
        choices=["on", "off", "both"],
        default="both",
        help="WEBHOOK_SYNCHRONOUS_COMMIT of the shim; both = one run each, side by side",
    )
    parser.add_argument(
        "--postgres-cpus",
        default=None,
        help="e.g. 1 or 2,3: pin Postgres to these CPUs and the shim and senders to the others, as when "
        "Postgres runs on its own host (production); default: everything shares every CPU",
    )
    args = parser.parse_args()
    pg_cpus = {int(c) for c in args.postgres_cpus.split(",")} if args.postgres_cpus else None
    modes = ["on", "off"] if args.synchronous_commit == "both" else [args.synchronous_commit]
    results: dict[str, tuple[dict, dict, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        pg = EmbeddedPostgres(
            root=Path(tmp) / "pg",
            port=free_port(),
            # pg_stat_statements.track stays at its default, top: nested_statements changes it for its run.
            settings=(("shared_preload_libraries", "pg_stat_statements"),),
        )
        url = pg.start(database="bench")
        if pg_cpus is not None:
            # Backends fork from the postmaster and inherit its CPUs; the shim's workers are pinned below.
            _pin(pg.pid(), pg_cpus)
            os.sched_setaffinity(0, _other_cpus(pg_cpus))
        conn = connect(url, statement_timeout_ms=0)
        apply_migrations(conn)
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.commit()
        conn.close()
        try:
            for mode in modes:
                shim = ShimServer(
                    run_dir=Path(tmp) / f"shim-{mode}",
                    port=free_port(),
                    database_url=url,
                    secret=SECRET,
                    workers=args.workers,
                )
                try:
                    shim.start(
                        extra_env={
                            "SHIM_ENABLE_BARE_ENDPOINT": "true",
                            "SHIM_ACCESS_LOG": "/dev/null",
                            "WEBHOOK_SYNCHRONOUS_COMMIT": mode,
                        }
                    )
                    groups = make_events(url, args.events, run_no=len(results))
                    shim_pid, pg_pid = shim.process.pid(), pg.pid()
                    if pg_cpus is not None:
                        _pin(shim_pid, _other_cpus(pg_cpus))
                    cpu = (tree_cpu_s(shim_pid), tree_cpu_s(pg_pid), time.process_time())
                    bare = run(shim.port, "/webhooks/bare", groups, args.senders, f"bare ({mode})")
                    bare["cpu_ms"] = _cpu_ms_per_event(cpu, shim_pid, pg_pid, args.events)
                    statements, versions = statements_executed(url), count_versions(url)
                    cpu = (tree_cpu_s(shim_pid), tree_cpu_s(pg_pid), time.process_time())
                    real = run(shim.port, "/webhooks/label-studio", groups, args.senders, f"shim ({mode})")
                    real["cpu_ms"] = _cpu_ms_per_event(cpu, shim_pid, pg_pid, args.events)
                    # Less the one statements_executed itself adds.
                    real["round_trips"] = (statements_executed(url)[0] - statements[0] - 1) / args.events
                    stored = count_versions(url) - versions
                    real["statements"] = nested_statements(url, shim.port, run_no=100 + len(results))
                finally:
                    shim.stop()
                results[mode] = (bare, real, stored)
        finally:
            pg.stop()
    print(
        f"\nwebhook load: {args.events} events per mode, {args.senders} senders, "
        f"gunicorn {args.workers} workers x 4 threads, load average {os.getloadavg()[0]:.2f} at the end"
    )
    if pg_cpus is not None:
        print(
            f" Postgres pinned to CPUs {sorted(pg_cpus)}, shim and senders to {sorted(_other_cpus(pg_cpus))} "
            "(Postgres on its own host, as in production)"
        )
    for mode, (bare, real, stored) in results.items():
        print(f" synchronous_commit={mode}")
        for name, r in (("bare endpoint", bare), ("shim + Postgres", real)):
            cpu = "  ".join(f"{k} {v:.2f}" for k, v in r["cpu_ms"].items())
            print(
                f"  {name:16s} {r['req_per_s']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                f"p99 {r['p99_ms']:6.1f} ms  statuses {r['statuses']}  CPU ms/event: {cpu}"
            )
        print(
            f"  SQL statements per event (pg_stat_statements): {real['round_trips']:.1f} sent by the shim, "
            f"{real['statements']:.1f} with those inside functions and triggers"
        )
        print(f"  ratio shim/bare req/s: {real['req_per_s'] / bare['req_per_s']:.2f}  (goal >= 0.5)")
        print(f"  p99 goal <= 100 ms: {'met' if real['p99_ms'] <= 100 else 'NOT met'}")
        print(f"  record versions stored: {stored} of {args.events} events")


if __name__ == "__main__":
    main()
