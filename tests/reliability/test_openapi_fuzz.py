"""Schemathesis fuzzes the shim and the ML backend in-process, each from its own /openapi.json, against the
real test Postgres.

Every operation the document lists is fuzzed with data that fits the schema (positive) and data that
breaks it (negative); the webhook both with the right secret (so bodies reach validation and storage)
and with a generated or missing one. Per case: no 5xx, the answer matches the document (status, content
type, body schema; schemathesis' own checks), and a rejected request (4xx) leaves the row count of every
domain table as it was. FUZZ_CASES (default 10,000) is spread over the runs by their shares.

Generating a case costs ~5× sending it, so schemathesis generates in FUZZ_WORKERS processes (default 2)
while this process sends the cases, one at a time, to the Flask app through its WSGI interface.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import pickle
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata as md
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from include.adapters.ner.backends import OnnxRuntimeBackend
from include.adapters.ner.client import NerClient
from include.core.bundle.read import read_bundle
from ml_backend.app import create_app as create_ml_app
from ml_backend.openapi import openapi_document as ml_openapi_document
from tests.conftest import _TABLES
from tests.helpers.bundle import tiny_bundle
from tests.helpers.cache import cache_dir
from tests.integration.ls_payloads import make_record
from tests.reliability.conftest import print_figures
from webhook_shim.app import create_app
from webhook_shim.openapi import openapi_document

FUZZ_CASES = int(os.environ.get("FUZZ_CASES", "10000"))
FUZZ_WORKERS = int(os.environ.get("FUZZ_WORKERS", "2"))
CHUNK = 250  # cases per generation task (each with its own seed)
SECRET = "openapi-fuzz-secret"
SECRET_HEADER = "X-Webhook-Secret"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
WEBHOOK = "/webhooks/label-studio"
ML_USER, ML_PASS = "label-studio", "ml-backend-password-123"


@dataclass(frozen=True)
class Run:
    """One operation fuzzed in one mode, with the secret fixed or left to the generator."""

    path: str
    method: str
    mode: GenerationMode
    share: float
    with_secret: bool = True

    @property
    def app(self) -> str:
        """Which app serves it: the ML backend (/ml/...) or the shim."""
        return "ml" if self.path.startswith("/ml/") else "shim"

    @property
    def name(self) -> str:
        secret = "" if self.path != WEBHOOK else (" +secret" if self.with_secret else " -secret")
        return f"{self.method} {self.path} {self.mode.value}{secret}"


# Shares of FUZZ_CASES. Operations without parameters have one possible request and no negative one;
# schemathesis leaves out the operation that serves the document it loaded (/openapi.json).
RUNS = [
    Run(WEBHOOK, "POST", POSITIVE, 0.32),
    Run(WEBHOOK, "POST", NEGATIVE, 0.12),
    Run(WEBHOOK, "POST", POSITIVE, 0.04, with_secret=False),
    Run(WEBHOOK, "POST", NEGATIVE, 0.04, with_secret=False),
    Run("/ml/predict", "POST", POSITIVE, 0.15),
    Run("/ml/predict", "POST", NEGATIVE, 0.12),
    Run("/ml/setup", "POST", POSITIVE, 0.105),
    Run("/ml/setup", "POST", NEGATIVE, 0.105),
    Run("/healthz", "GET", POSITIVE, 0.0),
    Run("/metrics", "GET", POSITIVE, 0.0),
    Run("/ml/health", "GET", POSITIVE, 0.0),
]


def fuzz_document(app: str) -> dict[str, Any]:
    """The document the app under test serves (checked against its /openapi.json below)."""
    return ml_openapi_document() if app == "ml" else openapi_document(secret_header=SECRET_HEADER)


@functools.cache
def _strategy(index: int) -> SearchStrategy[schemathesis.Case]:
    run = RUNS[index]
    schema = schemathesis.openapi.from_dict(fuzz_document(run.app))
    if run.app == "ml":
        token = base64.b64encode(f"{ML_USER}:{ML_PASS}".encode()).decode()
        headers: dict[str, str] | None = {"Authorization": f"Basic {token}"}
    else:
        headers = {SECRET_HEADER: SECRET} if run.with_secret else None
    return schema[run.path][run.method].as_strategy(generation_mode=run.mode, headers=headers)


def generate(task: tuple[int, int, int]) -> tuple[int, list[dict[str, Any]], float]:
    """In a worker process: `n` requests schemathesis generates for RUNS[index], as plain data, and the
    CPU seconds that took."""
    index, n, task_seed = task
    began = time.process_time()
    strategy = _strategy(index)
    requests: list[dict[str, Any]] = []

    @seed(task_seed)
    @settings(
        max_examples=max(n, 1),
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def collect(case: schemathesis.Case) -> None:
        request = {"headers": dict(case.headers or {}), "query": case.query, "media_type": case.media_type}
        if case.body is not NOT_SET:
            request["body"] = case.body
        requests.append(request)

    with contextlib.suppress(Unsatisfiable):  # an operation with nothing to break has no negative case
        collect()
    return index, requests, time.process_time() - began


@dataclass
class Tally:
    cases: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_run: dict[str, Counter[str]] = field(default_factory=dict)
    server_errors: int = 0
    rows_from_rejected: int = 0
    rows_from_accepted: int = 0
    failures: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    generation_cpu_s: Counter[str] = field(default_factory=Counter)
    send_s: Counter[str] = field(default_factory=Counter)

    def add(self, run: Run, status: int, rows_written: int) -> None:
        self.cases += 1
        self.by_status[str(status)] += 1
        self.by_run.setdefault(run.name, Counter())[str(status)] += 1
        self.server_errors += status >= 500
        if status >= 400:
            self.rows_from_rejected += rows_written
        else:
            self.rows_from_accepted += rows_written


def domain_rows(conn) -> int:
    """Rows in every domain table together (the app under test is the only writer here)."""
    tables = [t.strip() for t in _TABLES.split(",")]
    with conn.cursor() as cur:
        cur.execute("SELECT " + " + ".join(f"(SELECT count(*) FROM {t})" for t in tables))
        n = cur.fetchone()[0]
    conn.commit()
    return n


def send(schema: Any, run: Run, request: dict[str, Any], conn, rows_before: int, tally: Tally) -> int:
    """Send one generated request to the app; tally it; returns the domain row count after it."""
    case = schema[run.path][run.method].Case(**request)
    try:
        response = case.call()
    except Exception as exc:  # Flask would answer 500 for an exception the app lets through
        tally.add(run, 500, 0)
        tally.failures.append(f"{run.name}: {exc!r}\n{case.as_curl_command()}")
        return domain_rows(conn)
    rows_after = domain_rows(conn)
    written = rows_after - rows_before
    tally.add(run, response.status_code, written)
    if 400 <= response.status_code < 500:
        body = response.json() if "json" in (response.headers.get("content-type") or [""])[0] else {}
        stored = body.get("error") == "a value cannot be stored"
        reason = f" ({body.get('reason', '')[:60]})" if stored else ""
        tally.reasons[f"{run.name} → {response.status_code} {body.get('error')}{reason}"] += 1
    problem = None
    if response.status_code >= 400 and written:
        problem = f"{written} rows written by a {response.status_code} answer"
    else:
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as exc:  # a 5xx, or an answer the document does not describe
            problem = str(exc)[:800]
    if problem:
        tally.failures.append(f"{run.name}: {problem}\n{case.as_curl_command()}")
    return rows_after


@pytest.fixture
def fuzz_apps(db, database_url):
    make_record(db)  # so some generated annotations could match a record
    bundle = tiny_bundle()
    ner = NerClient(bundle, OnnxRuntimeBackend(read_bundle(bundle).model_path, 1), max_length=64, stride=16)
    shim = create_app(
        {"DATABASE_URL": database_url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_SECRET_HEADER": SECRET_HEADER}
    )
    ml = create_ml_app({"NER_CLIENT": ner, "ML_BASIC_AUTH_USER": ML_USER, "ML_BASIC_AUTH_PASS": ML_PASS})
    return {"shim": shim, "ml": ml}


def cached_cases(task: tuple[int, int, int]) -> Path:
    """Where one generation task's requests are kept: keyed by the document fuzzed, the run, the task and
    this file (the generator) with the generating libraries' versions, so a changed input is generated anew.
    Generation is seeded, so a kept task holds exactly the requests it would generate again."""
    index, n, task_seed = task
    run = RUNS[index]
    key = hashlib.sha256(
        json.dumps(
            [
                fuzz_document(run.app),
                repr(run),
                n,
                task_seed,
                schemathesis.__version__,
                md.version("hypothesis"),
                Path(__file__).read_text(),
            ],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:24]
    return cache_dir("openapi-fuzz") / f"{key}.pickle"


def generated(tasks: list[tuple[int, int, int]]) -> Iterator[tuple[int, list[dict[str, Any]], float]]:
    """Each task's requests: from the cache where it holds them (0 CPU seconds of generation), the rest
    generated in FUZZ_WORKERS processes (started only when something is missing) and kept."""
    paths = {task: cached_cases(task) for task in tasks}
    missing = [task for task, path in paths.items() if not path.is_file()]
    for task, path in paths.items():
        if task not in missing:
            yield task[0], pickle.loads(path.read_bytes()), 0.0
    if not missing:
        return
    with multiprocessing.get_context("spawn").Pool(FUZZ_WORKERS) as pool:
        for task, (index, requests, cpu_s) in zip(missing, pool.imap(generate, missing), strict=True):
            path = paths[task]
            path.parent.mkdir(parents=True, exist_ok=True)
            staging = path.with_suffix(f".{os.getpid()}.tmp")
            staging.write_bytes(pickle.dumps(requests))
            staging.replace(path)
            yield index, requests, cpu_s


def generation_tasks() -> list[tuple[int, int, int]]:
    tasks = []
    for index, run in enumerate(RUNS):
        n = max(round(FUZZ_CASES * run.share), 1)
        for k, start in enumerate(range(0, n, CHUNK)):
            tasks.append((index, min(CHUNK, n - start), index * 1000 + k))
    return tasks


@pytest.mark.timeout(1800)
def test_schemathesis_finds_no_500_and_rejected_requests_write_nothing(fuzz_apps, db) -> None:
    schemas = {name: schemathesis.openapi.from_wsgi("/openapi.json", app) for name, app in fuzz_apps.items()}
    described = set()
    for name, schema in schemas.items():
        assert schema.raw_schema == json.loads(json.dumps(fuzz_document(name)))
        described |= {(op.ok().path, op.ok().method.upper()) for op in schema.get_all_operations()}
    assert described == {(r.path, r.method) for r in RUNS}

    tally = Tally()
    started = time.perf_counter()
    rows = domain_rows(db)
    for index, requests, cpu_s in generated(generation_tasks()):
        run, began = RUNS[index], time.perf_counter()
        for request in requests:
            rows = send(schemas[run.app], run, request, db, rows, tally)
        tally.generation_cpu_s[run.name] += cpu_s
        tally.send_s[run.name] += time.perf_counter() - began
    seconds = time.perf_counter() - started

    figures = {
        "cases": tally.cases,
        "by_status": dict(sorted(tally.by_status.items())),
        "server_errors": tally.server_errors,
        "rows_from_rejected": tally.rows_from_rejected,
        "rows_from_accepted": tally.rows_from_accepted,
        "failures": len(tally.failures),
        "seconds": round(seconds, 1),
        "by_run": {r.name: dict(sorted(tally.by_run.get(r.name, Counter()).items())) for r in RUNS},
        "rejected_reasons": dict(tally.reasons.most_common(12)),
        "generation_cpu_s": round(sum(tally.generation_cpu_s.values()), 1),
        "send_s": round(sum(tally.send_s.values()), 1),
    }
    print_figures("openapi_fuzz", figures)
    for r in RUNS:
        n = max(sum(tally.by_run.get(r.name, Counter()).values()), 1)
        print(
            f"  {r.name}: {n} cases, generation {tally.generation_cpu_s[r.name] / n * 1000:.1f} ms CPU"
            f" and send {tally.send_s[r.name] / n * 1000:.1f} ms a case"
        )
    assert not tally.failures, "\n\n".join(tally.failures[:5])
    assert tally.server_errors == 0 and tally.rows_from_rejected == 0
    assert tally.cases >= FUZZ_CASES * 0.95
