"""Inference backends behind one protocol: in-process ONNX Runtime, or Triton over HTTP or gRPC, retried."""

from __future__ import annotations

import http.client
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

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


_RETRYABLE_STATUS = {
    None,
    "503",
    "504",
    "404",
    "429",
    "StatusCode.UNAVAILABLE",
    "StatusCode.DEADLINE_EXCEEDED",
    "StatusCode.RESOURCE_EXHAUSTED",
}


def _retryable(error: Exception) -> bool:
    from tritonclient.utils import InferenceServerException

    # A server that died or restarted closes the kept-alive connection: geventhttpclient's
    # HTTPConnectionClosed is an http.client.HTTPException.
    if isinstance(error, OSError | TimeoutError | http.client.HTTPException):
        return True
    if isinstance(error, InferenceServerException):
        message = (error.message() or "").lower()
        # Unknown/not-ready models are retried too: a model being reloaded is briefly absent.
        return error.status() in _RETRYABLE_STATUS or "unknown model" in message or "not ready" in message
    return type(error).__module__.startswith("gevent") and "Timeout" in type(error).__name__


class _TritonBackend:
    """What the HTTP and gRPC backends share: retries with exponential backoff, and pipelined batches.

    `infer_many` keeps up to `concurrency` micro-batches in flight (Triton's dynamic batcher and model
    instances work on them at once) and yields logits in input order; a batch whose pipelined call fails
    with a retryable error is retried on its own with backoff.
    """

    name = "triton"
    scheme = ""

    def __init__(
        self,
        url: str,
        model_name: str,
        model_version: str = "",
        retries: int = 3,
        backoff_s: float = 0.25,
        timeout_s: float = 30.0,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.url = url.removeprefix(f"{self.scheme}://").rstrip("/")
        self.model_name = model_name
        self.model_version = model_version
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.client = self._connect()

    def _connect(self) -> Any:
        raise NotImplementedError

    def _infer_once(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _start(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Any:
        """Send one batch without waiting; `_finish` waits for its logits."""
        raise NotImplementedError

    def _finish(self, handle: Any) -> np.ndarray:
        raise NotImplementedError

    def _inputs(self, module: Any, input_ids: np.ndarray, attention_mask: np.ndarray) -> list:
        inputs = []
        for name, array in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            tensor = module.InferInput(name, list(array.shape), "INT64")
            tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=np.int64))
            inputs.append(tensor)
        return inputs

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
                        f"Triton at {self.scheme}://{self.url} did not serve model {self.model_name!r}"
                        f"{' version ' + self.model_version if self.model_version else ''} after "
                        f"{self.retries + 1} attempts: {error}"
                    ) from error
                log.warning(
                    "triton %s://%s: attempt %d failed (%s); retrying in %.2fs",
                    self.scheme,
                    self.url,
                    attempt + 1,
                    error,
                    delay,
                )
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def infer_many(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        """Logits of each (input_ids, attention_mask) batch, in order, `concurrency` calls in flight."""
        if self.concurrency == 1:
            for input_ids, attention_mask in batches:
                yield self.infer(input_ids, attention_mask)
            return
        in_flight: deque[tuple[np.ndarray, np.ndarray, Any]] = deque()
        for input_ids, attention_mask in batches:
            in_flight.append((input_ids, attention_mask, self._try_start(input_ids, attention_mask)))
            if len(in_flight) >= self.concurrency:
                yield self._collect(*in_flight.popleft())
        while in_flight:
            yield self._collect(*in_flight.popleft())

    def _try_start(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Any:
        try:
            return self._start(input_ids, attention_mask)
        except Exception as error:
            if not _retryable(error):
                raise
            return error

    def _collect(self, input_ids: np.ndarray, attention_mask: np.ndarray, handle: Any) -> np.ndarray:
        try:
            if isinstance(handle, Exception):
                raise handle
            return self._finish(handle)
        except Exception as error:
            if not _retryable(error):
                raise
            log.warning("triton %s://%s: pipelined batch failed (%s); retrying", self.scheme, self.url, error)
            return self.infer(input_ids, attention_mask)

    def close(self) -> None:
        self.client.close()


class TritonHttpBackend(_TritonBackend):
    """The model on a Triton server over HTTP (tritonclient.http, binary tensors).

    tritonclient.http runs on gevent: use one backend per thread, and close it in that thread. Pipelined
    batches use the client's own connection pool of `concurrency` connections.
    """

    scheme = "http"

    def _connect(self) -> Any:
        import tritonclient.http as httpclient

        return httpclient.InferenceServerClient(
            self.url,
            concurrency=self.concurrency,
            connection_timeout=self.timeout_s,
            network_timeout=self.timeout_s,
        )

    def _request(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, Any]:
        import tritonclient.http as httpclient

        return {
            "model_name": self.model_name,
            "inputs": self._inputs(httpclient, input_ids, attention_mask),
            "model_version": self.model_version,
            "outputs": [httpclient.InferRequestedOutput("logits", binary_data=True)],
        }

    def _infer_once(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.client.infer(**self._request(input_ids, attention_mask)).as_numpy("logits")

    def _start(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Any:
        return self.client.async_infer(**self._request(input_ids, attention_mask))

    def _finish(self, handle: Any) -> np.ndarray:
        return handle.get_result().as_numpy("logits")


class TritonGrpcBackend(_TritonBackend):
    """The model on a Triton server over gRPC (tritonclient.grpc): less per-batch overhead for bulk work.

    The gRPC channel is thread-safe; pipelined batches go out with `async_infer` and come back through
    callbacks on gRPC's threads.
    """

    scheme = "grpc"

    def _connect(self) -> Any:
        import tritonclient.grpc as grpcclient

        return grpcclient.InferenceServerClient(self.url)

    def _request(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, Any]:
        import tritonclient.grpc as grpcclient

        return {
            "model_name": self.model_name,
            "inputs": self._inputs(grpcclient, input_ids, attention_mask),
            "model_version": self.model_version,
            "outputs": [grpcclient.InferRequestedOutput("logits")],
            "client_timeout": self.timeout_s,
        }

    def _infer_once(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.client.infer(**self._request(input_ids, attention_mask)).as_numpy("logits")

    def _start(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Future:
        future: Future = Future()

        def done(result: Any, error: Exception | None) -> None:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result.as_numpy("logits"))

        self.client.async_infer(callback=done, **self._request(input_ids, attention_mask))
        return future

    def _finish(self, handle: Future) -> np.ndarray:
        return handle.result(timeout=self.timeout_s + 5)


def triton_backend(protocol: str, url: str, model_name: str, **options: Any) -> _TritonBackend:
    """The Triton backend for `protocol` ("http" or "grpc")."""
    backends = {"http": TritonHttpBackend, "grpc": TritonGrpcBackend}
    if protocol not in backends:
        raise ValueError(f"unknown Triton protocol {protocol!r}: use one of {sorted(backends)}")
    return backends[protocol](url, model_name, **options)
