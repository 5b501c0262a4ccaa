"""Put a bundle in service: publish to the model repository, reload Triton with verification, or point
in-process ONNX Runtime at it; the database records which model version serves."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from include.adapters.db import repository as repo
from include.adapters.db.connection import transaction
from include.adapters.ner.precision import triton_model_name
from include.adapters.objectstore import ObjectStore, default_store
from include.adapters.serving.repository import open_repository, publish_bundle
from include.core.bundle.config import Flavour
from include.core.bundle.format import Bundle
from include.core.bundle.layout import BundleLayout
from include.core.bundle.read import read_bundle
from include.workflows.reload import reload_and_verify

log = logging.getLogger(__name__)

PROBE_TEXTS = [
    "Alice Smith paid $120.50 to Acme Corp in Paris on March 1, 2024.",
    "Call Bob Jones at (415) 555-0132 or write to bob@example.com.",
]


@dataclass(frozen=True)
class Release:
    model_version: str
    triton_version: int
    served_by: str
    current_link: str
    int8_triton_version: int | None = None


def release_bundle(
    conn: repo.Connection,
    bundle: Bundle | Path,
    *,
    model_repository: str,
    bundles_root: Path,
    model: str = "ner",
    flavour: Flavour | None = "python",
    keep: int = 3,
    triton_url: str | None = None,
    intra_op_threads: int = 2,
    store: ObjectStore | None = None,
) -> Release:
    """Publish, then reload and verify in Triton when `triton_url` is given, then repoint `current`.

    The bundle is read once, strictly (unless the caller passes the Bundle it read), and that Bundle goes
    on to publishing and verification: a bundle that fails the read (a file missing or changed since
    VERSION.json was written) raises BundleError naming the file before anything is published. When the
    new version fails to load or verify, Triton rolls back to the version it served and the model version
    is marked failed.
    `intra_op_threads` is the python model's ONNX Runtime threads (TRITON_INTRA_OP_THREADS).
    `model_repository` (a folder or s3://bucket/prefix) is opened once, in S3 through `store` (the object
    store built from settings unless given).
    `flavour` None publishes the bundle's config.pbtxt as it is; "python" (the default, as for the
    tritonserver of the nvidia-pytriton wheel) runs it in the python backend. A bundle whose int8 flavour
    passed its gate also publishes that flavour as `<model>_int8` (reloaded and verified the same way), so
    clients with NER_PRECISION=auto on CPU find it.
    """
    bundle = bundle if isinstance(bundle, Bundle) else read_bundle(bundle)
    bundle_dir = bundle.root
    repository = open_repository(model_repository, store or default_store())
    published = publish_bundle(bundle, repository, model, flavour, keep, intra_op_threads=intra_op_threads)
    int8 = None
    if bundle.int8_gate_passed:
        int8_model = triton_model_name(model, "int8")
        int8 = publish_bundle(
            bundle,
            repository,
            int8_model,
            flavour,
            keep,
            precision="int8",
            intra_op_threads=intra_op_threads,
        )
    with transaction(conn):
        repo.set_model_version_status(
            conn,
            bundle.model_version,
            "published",
            triton_version=published.version,
            bundle_uri=str(bundle_dir.resolve()),
        )
    served_by = "onnxruntime"
    if triton_url:
        try:
            reload_and_verify(triton_url, repository, model, published.version, PROBE_TEXTS, bundle)
            if int8 is not None:
                reload_and_verify(
                    triton_url, repository, int8.model, int8.version, PROBE_TEXTS, bundle, "int8"
                )
        except Exception:
            with transaction(conn):
                repo.set_model_version_status(conn, bundle.model_version, "failed")
            raise
        served_by = f"triton {triton_url} {model}/{published.version}"
    link = BundleLayout(bundles_root).point_current(bundle_dir)
    with transaction(conn):
        repo.set_model_version_status(conn, bundle.model_version, "serving")
    log.info("%s serves via %s; %s → %s", bundle.model_version, served_by, link, bundle_dir)
    return Release(
        bundle.model_version, published.version, served_by, str(link), int8.version if int8 else None
    )
