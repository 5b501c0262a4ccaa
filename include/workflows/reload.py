"""Load a newly published version into Triton, prove it answers like the bundle, else roll back."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

from include.adapters.ner.backends import OnnxRuntimeBackend, TritonHttpBackend
from include.adapters.ner.tokenizer import BundleTokenizer
from include.adapters.serving.repository import ModelRepository, as_repository, pin_version, version_info
from include.core.bundle.format import Bundle
from include.core.bundle.read import read_bundle

log = logging.getLogger(__name__)

TOLERANCE = 1e-4
PROBE_MAX_LENGTH = 128


class ReloadError(RuntimeError):
    """A new version failed to load or verify; the message says why and what is served now."""


@dataclass(frozen=True)
class ServedModel:
    model: str
    version: int
    model_version: str


def _base(triton_url: str) -> str:
    return triton_url if triton_url.startswith(("http://", "https://")) else f"http://{triton_url}"


REPOSITORY_KEY_HEADER = "x-nerloop-repository-key"
"""The header Triton's `--http-restricted-api=model-repository,...:<header>=<key>` checks (compose)."""


def _http(
    method: str, url: str, timeout: float = 120.0, headers: dict[str, str] | None = None
) -> requests.Response:
    # Connection: close, so a later SIGTERM is not held up waiting on idle keep-alive connections.
    return requests.request(method, url, timeout=timeout, headers={"Connection": "close", **(headers or {})})


def repository_headers() -> dict[str, str]:
    """The model-control key header when TRITON_REPOSITORY_KEY is set (restricted API), else none."""
    from include.core.settings import get_settings

    key = get_settings().serving.triton_repository_key
    return {REPOSITORY_KEY_HEADER: key.get_secret_value()} if key else {}


def served_model(triton_url: str, model: str) -> ServedModel | None:
    """The version Triton serves for `model` and the model_version its config names, or None."""
    base = _base(triton_url)
    meta = _http("GET", f"{base}/v2/models/{model}", timeout=10)
    if meta.status_code != 200 or not meta.json().get("versions"):
        return None
    version = max(int(v) for v in meta.json()["versions"])
    if _http("GET", f"{base}/v2/models/{model}/versions/{version}/ready", timeout=10).status_code != 200:
        return None
    config = _http("GET", f"{base}/v2/models/{model}/config", timeout=10).json()
    model_version = config.get("parameters", {}).get("model_version", {}).get("string_value", "")
    return ServedModel(model, version, model_version)


def probe_inputs(bundle: Bundle | Path, probe_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The probe texts tokenized with the bundle's tokenizer, padded into one batch."""
    if not probe_texts:
        raise ValueError("probe_texts is empty: verification needs at least one text")
    bundle = bundle if isinstance(bundle, Bundle) else read_bundle(bundle)
    return BundleTokenizer.from_dir(bundle.tokenizer_dir).batch(probe_texts, PROBE_MAX_LENGTH)


def _load(base: str, model: str, version: int) -> None:
    response = _http("POST", f"{base}/v2/repository/models/{model}/load", headers=repository_headers())
    if response.status_code != 200:
        raise ReloadError(f"load answered {response.status_code}: {response.text.strip()}")
    ready = _http("GET", f"{base}/v2/models/{model}/versions/{version}/ready", timeout=10)
    if ready.status_code != 200:
        raise ReloadError(f"version {version} loaded but not ready ({ready.status_code})")


def _verify(
    triton_url: str, model: str, version: int, model_path: Path, inputs: tuple[np.ndarray, np.ndarray]
) -> float:
    backend = TritonHttpBackend(triton_url, model, str(version), retries=1)
    try:
        served = backend.infer(*inputs)
    finally:
        backend.close()
    local = OnnxRuntimeBackend(model_path, intra_op_threads=1).infer(*inputs)
    if served.shape != local.shape:
        raise ReloadError(f"version {version} answered shape {served.shape}, expected {local.shape}")
    diff = float(np.abs(served - local).max())
    if not diff <= TOLERANCE:
        raise ReloadError(f"version {version} differs from ONNX Runtime by {diff:.2e} (> {TOLERANCE:.0e})")
    return diff


def _load_and_verify(
    triton_url: str,
    repository: ModelRepository,
    model: str,
    version: int,
    model_path: Path,
    inputs: tuple[np.ndarray, np.ndarray],
) -> ServedModel:
    base = _base(triton_url)
    pin_version(repository, model, version)
    _load(base, model, version)
    expected = version_info(repository, model, version)["model_version"]
    served = served_model(triton_url, model)
    if served is None or served.version != version or served.model_version != expected:
        raise ReloadError(f"Triton serves {served}, expected version {version} ({expected})")
    diff = _verify(triton_url, model, version, model_path, inputs)
    log.info("%s version %d (%s) serves; max |Δ| vs ONNX Runtime %.2e", model, version, expected, diff)
    return served


def reload_and_verify(
    triton_url: str,
    repo: ModelRepository | str | Path,
    model: str,
    new_version: int,
    probe_texts: list[str],
    bundle: Bundle | Path,
    precision: str = "fp32",
) -> ServedModel:
    """Serve `new_version` and check it answers the probe texts as the bundle does in ONNX Runtime (the
    bundle's `precision` flavour: the model published as `<model>_int8` is checked against model.int8.onnx).
    `bundle` is a Bundle already read (as release passes it) or a folder, read strictly here.

    On any failure the config is pinned back to the version served before (or the newest older one), that
    version is loaded and its answers verified against its own model.onnx, and ReloadError is raised.
    """
    repository = as_repository(repo)
    bundle = bundle if isinstance(bundle, Bundle) else read_bundle(bundle)
    inputs = probe_inputs(bundle, probe_texts)
    try:
        before = served_model(triton_url, model)
    except requests.RequestException as error:
        raise ReloadError(f"Triton at {_base(triton_url)} is unreachable: {error}") from error
    older = [v for v in repository.versions(model) if v < new_version]
    previous = before.version if before and before.version != new_version else (older[-1] if older else None)
    try:
        model_path = bundle.flavour_path(precision)
        return _load_and_verify(triton_url, repository, model, new_version, model_path, inputs)
    except Exception as error:
        failure = error
    log.error("%s version %d failed: %s", model, new_version, failure)
    if previous is None:
        raise ReloadError(
            f"{model} version {new_version} failed ({failure}); no earlier version to roll back to"
        ) from failure
    try:
        with tempfile.TemporaryDirectory(prefix="nerloop-rollback-") as tmp:
            old_model = repository.fetch(model, f"{previous}/model.onnx", Path(tmp) / "model.onnx")
            restored = _load_and_verify(triton_url, repository, model, previous, old_model, inputs)
    except Exception as rollback_error:
        raise ReloadError(
            f"{model} version {new_version} failed ({failure}); rollback to version {previous} failed too "
            f"({rollback_error})"
        ) from failure
    raise ReloadError(
        f"{model} version {new_version} failed ({failure}); rolled back to version {restored.version} "
        f"({restored.model_version}), which serves and verifies"
    ) from failure
