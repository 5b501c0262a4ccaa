"""Operator command line: `python -m devstack.cli demo|down|status|db ...|lineage ID|airflow ARGS...`."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from devstack.services.embedded_postgres import PostgresStartError
from devstack.services.process import ServiceError
from devstack.stack import Stack
from include.adapters.db import documents, repository
from include.adapters.db.connection import connect
from include.adapters.db.migrate import MigrationError, apply_migrations
from include.core.logs import setup_logging


def db_up(stack: Stack) -> str:
    """Start the embedded server unless DATABASE_URL is set, then apply migrations. Returns the URL."""
    s = stack.settings
    if s.db.database_url:
        url = s.db.database_url
        print(f"database: using DATABASE_URL ({_redact(url)})")
    else:
        url = stack.postgres.start(database=s.db.db_name)
        print(
            f"database: embedded PostgreSQL 18 at {_redact(url)} (data in {s.embedded_pg_dir}; "
            f"password in {s.paths.state_dir / 'secrets.json'})"
        )
    conn = connect(url, statement_timeout_ms=0)
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    print(f"database: schema up to date ({len(applied)} migration(s) applied now)")
    return url


def _redact(url: str) -> str:
    head, sep, host = url.rpartition("@")
    if not sep or ":" not in head.split("//")[-1]:
        return url
    scheme, creds = head.split("//", 1)
    return f"{scheme}//{creds.split(':')[0]}:***@{host}"


def ensure_model(stack: Stack) -> str:
    """The bundle in service; on a fresh install, build the bootstrap model (version 0) and release it."""
    from include.adapters.db.connection import transaction
    from include.core.bundle.layout import BundleLayout
    from include.core.bundle.read import read_bundle
    from include.workflows.release import release_bundle
    from include.workflows.training.bootstrap import BOOTSTRAP_VERSION, build_bootstrap
    from include.workflows.training.gold import record_model_version

    layout = BundleLayout(stack.bundles_root)
    current = layout.current()
    if current is not None:
        return read_bundle(current).model_version
    target = layout.named(BOOTSTRAP_VERSION)
    if not (target / "onnx" / "VERSION.json").exists():
        print("model: no model yet, building the bootstrap model from WNUT-17 + generated records (~10 min)")
        shutil.rmtree(target, ignore_errors=True)
        build_bootstrap(target)
    bundle = read_bundle(target)
    s = stack.settings
    conn = connect(stack.database_url())
    try:
        with transaction(conn):
            record_model_version(conn, bundle.version, status="candidate", bundle_uri=str(target))
        release = release_bundle(
            conn,
            bundle,
            model_repository=s.model_repository_root,
            bundles_root=stack.bundles_root,
            model=s.ner.triton_model_name,
            flavour=s.serving.triton_flavour,
            keep=s.serving.model_repository_keep,
            intra_op_threads=s.serving.triton_intra_op_threads,
        )
    finally:
        conn.close()
    print(
        f"model: {release.model_version} published to {s.model_repository_root} "
        f"(Triton version {release.triton_version})"
    )
    return release.model_version


def prelabel_samples(stack: Stack) -> None:
    """Write the sample documents into the inbox and prelabel them through the prelabel DAG."""
    from devstack.samples import write_samples

    written = write_samples(stack.inbox)
    print(
        f"samples: {len(written)} files in {stack.inbox}; "
        "running the prelabel_batch DAG (airflow dags test)..."
    )
    conf = {
        "source": stack.inbox.as_uri(),
        "project": stack.settings.label_studio.label_studio_project,
        "chunk_size": stack.settings.label_studio.ls_import_chunk_size,
    }
    res = stack.airflow.cli("dags", "test", "prelabel_batch", "-c", json.dumps(conf))
    log_file = stack.run_dir / "prelabel-demo.log"
    log_file.write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        raise ServiceError(f"prelabel_batch failed; its log is {log_file}")
    for line in (res.stdout + res.stderr).splitlines():
        if "prelabel summary:" in line:
            print("prelabel: " + line.split("prelabel summary:", 1)[1].strip()[:600])


def demo(stack: Stack) -> None:
    """Bring the loop up on the embedded defaults, prelabel the samples, say what a person does next."""
    from include.adapters.label_studio import client as ls_client
    from include.adapters.label_studio.storage import ensure_source_storage
    from include.adapters.label_studio.target_storage import ensure_target_storage

    # The demo serves through the real tritonserver unless NER_BACKEND says otherwise.
    stack = stack.serving_through_triton()
    url = db_up(stack)
    if not stack.settings.db.database_url:
        from include.adapters.db.server import create_database

        create_database(stack.postgres.url(), "airflow")
    shim_env = {}
    if stack.settings.ner.ner_backend == "triton":
        # The shim's /metrics then shows the batches Triton's dynamic batcher formed.
        shim_env["TRITON_METRICS_URL"] = f"127.0.0.1:{stack.settings.serving.triton_metrics_port}"
    stack.shim.start(extra_env=shim_env)
    print(f"webhook shim: gunicorn at {stack.shim.url} (/healthz, /metrics)")
    ls = stack.label_studio
    stack.check_ls_files_root()
    old_inbox = stack.settings.paths.state_dir / "inbox"
    if old_inbox.is_dir() and old_inbox.resolve() != stack.inbox.resolve():
        print(
            f"note: the inbox is now {stack.inbox} (LS serves {stack.ls_files_root} only); "
            f"move what {old_inbox} holds there to have it prelabeled"
        )
    print("label studio: starting (the first start runs its migrations, ~45 s)...")
    ls.start()
    api = ls_client.connect(ls.url, ls.token)
    project_id = ls_client.ensure_project(api, stack.settings.label_studio.label_studio_project)
    header = {stack.settings.shim.webhook_secret_header: stack.secrets["webhook_secret"]}
    ls_client.ensure_webhook(api, project_id, stack.shim.webhook_url, header)
    print(f"label studio: {ls.url} project {project_id}, webhook → {stack.shim.webhook_url}")
    stack.inbox.mkdir(parents=True, exist_ok=True)
    storage = ensure_source_storage(api, project_id, stack.inbox.as_uri(), files_root=stack.ls_files_root)
    print(
        f"label studio: storage {storage.id} serves the inbox {stack.inbox} (source files and their pages);"
        " `Sync Storage` in the project's settings makes a task per file, prelabeled by label_studio_intake"
    )
    target = stack.ls_target_dir.as_uri()
    target_id = ensure_target_storage(api, project_id, target)
    print(
        f"label studio: target storage {target_id} copies each submitted task to {target}"
        " (reconcile reads it when LS is down)"
    )
    model_version = ensure_model(stack)
    env = stack.airflow_env()
    if env["NER_BACKEND"] == "triton":
        triton = stack.triton
        triton_url = triton.start(timeout_s=120)
        print(f"triton: {triton_url} serving {model_version} (python backend running ONNX Runtime)")
    else:
        print(f"model: {model_version} in-process ONNX Runtime from {env['NER_BUNDLE_DIR']}")
    if stack.settings.ml_backend.ml_backend_enabled:
        ml = stack.ml_backend
        ml.start(extra_env={k: env[k] for k in ("NER_BACKEND", "NER_BUNDLE_DIR", "TRITON_URL")})
        ls_client.ensure_ml_backend(api, project_id, ml.ml_url, ml.basic_auth_user, ml.basic_auth_pass)
        print(
            f"ml backend: {ml.ml_url} attached to project {project_id} (Basic Auth, password in secrets.json)"
        )
    print("airflow: starting api-server, scheduler, dag-processor, triggerer...")
    stack.write_airflow_passwords()
    stack.airflow.start()
    dags = "prelabel_batch, label_studio_intake, gold_extract, nightly_train_publish, reconcile_label_studio"
    print(f"airflow: UI at {stack.airflow.url} (DAGs {dags}); log in as admin (password in secrets.json)")
    prelabel_samples(stack)
    scheduled = {
        "gold_extract": "daily at 01:30",
        "nightly_train_publish": "every night at 02:00",
        "reconcile_label_studio": "every 10 minutes",
        "label_studio_intake": "every 5 minutes",
    }
    for dag_id, outcome in stack.airflow.unpause(list(scheduled)).items():
        print(f"airflow: {dag_id} {outcome} ({scheduled[dag_id]})")
    with closing(connect(url)) as conn:
        waiting = documents.count_records(conn, ls_project_id=project_id)
    print(next_steps(stack, project_id, waiting, model_version, url))


# The commands the demo's last lines print (tests/integration/test_operator_commands.py runs them).
TRAIN_NOW = 'make airflow ARGS="dags trigger nightly_train_publish"'


def next_steps(stack: Stack, project_id: int, waiting: int, model_version: str, database_url: str) -> str:
    """What a person does next, printed at the end of the demo."""
    ls_url, airflow_url = stack.label_studio.url, stack.airflow.url
    secrets_file = stack.settings.paths.state_dir / "secrets.json"
    return (
        "\nNext:\n"
        f"  1. open {ls_url}/projects/{project_id} — {waiting} tasks wait, prelabeled by {model_version};\n"
        f"     log in as {stack.settings.stack.ls_username} (password in {secrets_file})\n"
        f"  2. correct and submit: each submission lands in Postgres ({_redact(database_url)}),\n"
        "     tables record_versions (history) and annotations; `make lineage ID=<record_version_id>`\n"
        f"  3. train now: trigger nightly_train_publish in the Airflow UI ({airflow_url}) or\n"
        f"     `{TRAIN_NOW}`; it also runs every night at 02:00\n"
        f"  4. see the loop learn: {airflow_url}/nerloop/ (drift per label, learning curve, model\n"
        "     timeline, the tasks the model is least sure of, lineage)\n"
        "  `make status` shows what runs, `make down` stops it all"
    )


def airflow(stack: Stack, args: list[str]) -> int:
    """The airflow CLI with the environment the demo starts Airflow with (AIRFLOW_HOME, the config, the
    metadata database, connections, NERLOOP_HOME): `make airflow ARGS="dags list"`."""
    explicit_db = stack.settings.db.database_url or stack.settings.stack.airflow_sql_alchemy_conn
    if not explicit_db and stack.postgres.pid() is None:
        raise ServiceError(
            "database: the demo's PostgreSQL (which holds Airflow's metadata) is not running: `make demo`"
        )
    env = stack.airflow_env()
    # Its home, where an SQLite metadata database (with DATABASE_URL set) lives too.
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    try:
        return subprocess.run([stack.airflow.binary, *args], env=env, check=False).returncode
    except KeyboardInterrupt:
        return 130


def down(stack: Stack) -> None:
    for name, process in reversed(list(stack.processes().items())):
        stopped = stack.triton.stop() if name == "triton" else process.stop()
        print(f"{name}: {'stopped' if stopped else 'was not running'}")
    print(f"database: {'stopped' if stack.postgres.stop() else 'was not running'}")


def status(stack: Stack) -> int:
    running = 0
    pid = stack.postgres.pid()
    print(f"{'database':14s} {'running pid ' + str(pid) if pid else 'stopped'}")
    running += bool(pid)
    for name, process in stack.processes().items():
        pid = process.pid()
        print(f"{name:14s} {'running pid ' + str(pid) if pid else 'stopped'}  log {process.log_file}")
        running += bool(pid)
    return running


def main(argv: list[str] | None = None) -> int:
    setup_logging("%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="nerloop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="start the local stack and prelabel the samples")
    sub.add_parser("down", help="stop everything the demo started")
    sub.add_parser("status", help="show what runs")
    db = sub.add_parser("db", help="the Intelligence DB")
    db.add_argument("action", choices=["up", "migrate", "url"])
    lineage = sub.add_parser("lineage", help="print the lineage of a record version")
    lineage.add_argument("record_version_id", type=int)
    run_airflow = sub.add_parser("airflow", help="the airflow CLI with the demo's environment")
    run_airflow.add_argument("args", nargs=argparse.REMAINDER, help="airflow's arguments, e.g. dags list")
    argv = sys.argv[1:] if argv is None else argv
    # Everything after `airflow` is airflow's own (its options and --help included).
    args = argparse.Namespace(command="airflow", args=argv[1:]) if argv[:1] == ["airflow"] else None
    args = args or parser.parse_args(argv)
    stack = Stack.from_env()
    try:
        if args.command == "demo":
            demo(stack)
        elif args.command == "down":
            down(stack)
        elif args.command == "status":
            status(stack)
        elif args.command == "db":
            if args.action == "up":
                db_up(stack)
            elif args.action == "migrate":
                conn = connect(stack.database_url(), statement_timeout_ms=0)
                try:
                    print(f"applied: {apply_migrations(conn) or 'nothing (up to date)'}")
                finally:
                    conn.close()
            else:
                # The URL itself, credentials included: what DATABASE_URL=$(... db url) needs.
                print(stack.database_url())
        elif args.command == "airflow":
            return airflow(stack, args.args)
        elif args.command == "lineage":
            conn = connect(stack.database_url())
            try:
                lineage_row = repository.record_version_lineage(conn, args.record_version_id)
                print(json.dumps(lineage_row.model_dump(mode="json"), indent=2))
            finally:
                conn.close()
    except (PostgresStartError, MigrationError, ServiceError, repository.RepositoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
