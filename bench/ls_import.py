"""Label Studio import: tasks in chunks of 100 per request vs one task per request, against the real LS.

Usage: `make bench-ls-import` or PYTHONPATH=. .venv/bin/python bench/ls_import.py [--tasks 1000]
Starts its own Label Studio (LS_VENV, default .venv-ls) on a free port. Each task carries an inline
prediction with 3 spans, as the prelabel DAG imports them. Goal: chunked ÷ one-per-request >= 20x.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import tempfile
import time
from pathlib import Path

from devstack.services.label_studio import LabelStudioServer
from include.adapters.label_studio import client as ls_client
from include.adapters.label_studio.tasks import build_task
from include.core.settings import get_settings
from include.core.spans import Span

TEXT = "Alice Smith paid $120.50 to Acme Corp on March 1, 2024."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tasks(n: int, prefix: str) -> list[dict]:
    spans = [
        Span(start=0, end=11, label="PERSON", text="Alice Smith", score=0.9),
        Span(start=17, end=24, label="MONEY", text="$120.50", score=0.8),
        Span(start=28, end=37, label="ORG", text="Acme Corp", score=0.7),
    ]
    return [
        build_task(
            text=TEXT,
            record_key=f"{prefix}/row={i}",
            meta={"row": i},
            document_sha256="0" * 64,
            document_uri="file:///bench.csv",
            s3_key=None,
            doc_type="csv",
            spans=spans,
            model_version="bench-0",
        )
        for i in range(n)
    ]


def timed_import(ls, project_id: int, tasks: list[dict], chunk: int) -> float:
    started = time.perf_counter()
    ls_client.import_tasks(ls, project_id, tasks, chunk_size=chunk)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--single", type=int, default=200, help="tasks imported one per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        server = LabelStudioServer(
            venv=get_settings().stack.ls_venv,
            root=Path(tmp),
            port=free_port(),
            username="bench@example.com",
            password=secrets.token_urlsafe(12),
            token=secrets.token_hex(20),
        )
        server.start()
        try:
            ls = ls_client.connect(server.url, server.token)
            project_id = ls_client.ensure_project(ls, "bench")
            chunked = timed_import(ls, project_id, make_tasks(args.tasks, "chunked"), 100)
            single = timed_import(ls, project_id, make_tasks(args.single, "single"), 1)
        finally:
            server.stop()
    chunked_rate, single_rate = args.tasks / chunked, args.single / single
    print("\nLabel Studio import, tasks with a 3-span prediction each:")
    print(f"  chunks of 100    {chunked_rate:8.1f} tasks/s  ({args.tasks} tasks in {chunked:.1f} s)")
    print(f"  one per request  {single_rate:8.1f} tasks/s  ({args.single} tasks in {single:.1f} s)")
    print(f"  ratio chunked / one-per-request: {chunked_rate / single_rate:.1f}x  (goal >= 20x)")


if __name__ == "__main__":
    main()
