"""Inference backends behind one protocol: in-process ONNX Runtime, or Triton over HTTP with retries."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


class InferenceBackend(Protocol):
    """Runs the token classifier: int64 [batch, seq] ids and mask → float32 [batch, seq, num_tags] logits."""

    name: str

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class BackendUnavailableError(RuntimeError):
    """The model server did not answer after all retries; the message names the URL and model."""


def onnx_session(model_path: Path, intra_op_threads: int = 0, inter_op_threads: int = 1):
    """An ONNX Runtime CPU session with explicit thread counts (0 = ONNX Runtime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


class OnnxRuntimeBackend:
    """The model in this process through ONNX Runtime (the default on one machine)."""

    name = "onnxruntime"

    def __init__(self, model_path: Path, intra_op_threads: int = 0) -> None:
        self.model_path = Path(model_path)
        self.session = onnx_session(self.model_path, intra_op_threads)

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return self.session.run(["logits"], feeds)[0]


def _retryable(error: Exception) -> bool:
    from tritonclient.utils import InferenceServerException

    if isinstance(error, OSError | TimeoutError):
        return True
    if isinstance(error, InferenceServerException):
        status = error.status()
        message = (error.message() or "").lower()
        # Unknown/not-ready models are retried too: a model being reloaded is briefly absent.
        return (
            status in (None, "503", "504", "404", "429")
            or "unknown model" in message
            or "not ready" in message
        )
    return type(error).__module__.startswith("gevent") and "Timeout" in type(error).__name__


class TritonHttpBackend:
    """The model on a Triton server over HTTP (tritonclient.http), retried with exponential backoff.

    tritonclient.http runs on gevent: use one backend per thread, and close it in that thread.
    """

    name = "triton"

    def __init__(
        self,
        url: str,
        model_name: str,
        model_version: str = "",
        retries: int = 3,
        backoff_s: float = 0.25,
        timeout_s: float = 30.0,
    ) -> None:
        import tritonclient.http as httpclient

        self.url = url.removeprefix("http://").rstrip("/")
        self.model_name = model_name
        self.model_version = model_version
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._http = httpclient
        self.client = self._connect()

    def _connect(self):
        return self._http.InferenceServerClient(
            self.url, connection_timeout=self.timeout_s, network_timeout=self.timeout_s
        )

    def _infer_once(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        inputs = []
        for name, array in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            tensor = self._http.InferInput(name, list(array.shape), "INT64")
            tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=np.int64), binary_data=True)
            inputs.append(tensor)
        outputs = [self._http.InferRequestedOutput("logits", binary_data=True)]
        result = self.client.infer(self.model_name, inputs, model_version=self.model_version, outputs=outputs)
        return result.as_numpy("logits")

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return self._infer_once(input_ids, attention_mask)
            except Exception as error:
                if not _retryable(error):
                    raise
                # A fresh client per retry: the failed connection is not reused, and none is left open.
                self.client.close()
                self.client = self._connect()
                if attempt == self.retries:
                    raise BackendUnavailableError(
                        f"Triton at http://{self.url} did not serve model {self.model_name!r}"
                        f"{' version ' + self.model_version if self.model_version else ''} after "
                        f"{self.retries + 1} attempts: {error}"
                    ) from error
                log.warning(
                    "triton %s: attempt %d failed (%s); retrying in %.2fs",
                    self.url,
                    attempt + 1,
                    error,
                    delay,
                )
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.client.close()
