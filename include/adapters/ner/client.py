"""The NER client: records → word units → tokens → micro-batched model calls → spans, in input order.

The one decode path: serving (ONNX Runtime or Triton), the promotion gate and training's dev scoring all
turn logits into spans here, on the same word units the trainer labelled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from include.adapters.ner import metrics
from include.adapters.ner.backends import InferenceBackend, OnnxRuntimeBackend, triton_backend
from include.adapters.ner.precision import Precision, choose_precision, triton_model_name
from include.adapters.ner.shapes import plausible
from include.adapters.ner.tags import constrained_tag_ids, tags_to_spans
from include.adapters.ner.tokenizer import BundleTokenizer, Tokens, pad_rows
from include.adapters.ner.windows import batches, split_windows
from include.adapters.ner.words import Unit
from include.core.bundle.format import Bundle
from include.core.bundle.read import read_bundle
from include.core.settings import NerSettings, get_settings
from include.core.spans import Span

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 16


@dataclass(frozen=True)
class _Piece:
    """One window of one record, as sent to the model."""

    record: int
    start: int
    end: int
    keep_start: int
    keep_end: int
    input_ids: list[int]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class NerClient:
    """Predicts spans for records with a bundle's tokenizer and any `InferenceBackend`.

    Records longer than `max_length` tokens are cut into windows sharing `stride` tokens; each token keeps
    the prediction of the window where it is most central, so spans come out once, on the full text.
    """

    def __init__(
        self,
        bundle_dir: Path | Bundle,
        backend: InferenceBackend,
        batch_size: int = 16,
        max_length: int = 256,
        stride: int = 32,
        warmup: bool = True,
        precision: Precision = "fp32",
    ) -> None:
        """`precision` names the bundle flavour `backend` runs (reported; the backend already holds it)."""
        # A Bundle already read (and its files hashed) is not read again.
        bundle = bundle_dir if isinstance(bundle_dir, Bundle) else read_bundle(bundle_dir)
        self._setup(
            BundleTokenizer.from_dir(bundle.tokenizer_dir),
            bundle.tags,
            bundle.model_version,
            backend,
            batch_size,
            max_length,
            stride,
        )
        self.precision: Precision = precision
        if warmup:
            self.predict(["Warm up the model."])

    @classmethod
    def for_model(
        cls,
        tokenizer: BundleTokenizer,
        tags: Sequence[str],
        backend: InferenceBackend,
        model_version: str = "",
        batch_size: int = 16,
        max_length: int = 256,
        stride: int = 32,
    ) -> NerClient:
        """A client over a model that is not a bundle yet (training's dev scoring, a torch backend)."""
        client = cls.__new__(cls)
        client._setup(tokenizer, tuple(tags), model_version, backend, batch_size, max_length, stride)
        return client

    def _setup(
        self,
        tokenizer: BundleTokenizer,
        tags: tuple[str, ...],
        model_version: str,
        backend: InferenceBackend,
        batch_size: int,
        max_length: int,
        stride: int,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(
                f"batch_size must be 1..{MAX_BATCH_SIZE} (the served max_batch_size), got {batch_size}"
            )
        self._tags = tuple(tags)
        self.precision = "fp32"  # for_model clients; __init__ sets the bundle flavour it runs
        self.constrained = True
        self._model_version = model_version
        self.backend = backend
        self.batch_size = batch_size
        self.tokenizer = tokenizer
        self.window_size = max_length - len(self.tokenizer.prefix) - len(self.tokenizer.suffix)
        if self.window_size < 2:
            raise ValueError(f"max_length {max_length} leaves no room for tokens beside the special tokens")
        self.stride = stride
        split_windows(0, self.window_size, stride)

    @property
    def model_version(self) -> str:
        return self._model_version

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @classmethod
    def from_settings(cls, settings: NerSettings | None = None) -> NerClient:
        """A client with the backend NER_BACKEND names, on the bundle NER_BUNDLE_DIR points to, in the
        flavour NER_PRECISION and the bundle's int8 gate choose (include/adapters/ner/precision.py)."""
        ner = settings or get_settings().ner
        if ner.ner_bundle_dir is None:
            raise ValueError("NER_BUNDLE_DIR is not set: point it to a bundle folder (onnx/, tokenizer/)")
        bundle = read_bundle(ner.ner_bundle_dir)
        triton = ner.ner_backend == "triton"
        # In-process ONNX Runtime runs on the CPU execution provider (include/adapters/ner/backends.py).
        choice = choose_precision(bundle, ner.ner_precision, ner.triton_device if triton else "cpu")
        log.info("%s serves %s: %s", bundle.model_version, choice.precision, choice.reason)
        backend: InferenceBackend
        if triton:
            grpc = ner.triton_protocol == "grpc"
            backend = triton_backend(
                ner.triton_protocol,
                ner.triton_grpc_url if grpc else ner.triton_url,
                triton_model_name(ner.triton_model_name, choice.precision),
                model_version=ner.triton_model_version,
                retries=ner.triton_retries,
                backoff_s=ner.triton_backoff_s,
                timeout_s=ner.triton_timeout_s,
                concurrency=ner.triton_concurrency,
            )
        else:
            backend = OnnxRuntimeBackend(bundle.flavour_path(choice.precision), ner.ner_intra_op_threads)
        return cls(
            bundle,
            backend,
            batch_size=ner.ner_batch_size,
            max_length=ner.ner_max_length,
            stride=ner.ner_stride,
            warmup=ner.ner_warmup,
            precision=choice.precision,
        )

    def _call(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        began = time.perf_counter()
        try:
            logits = self.backend.infer(input_ids, attention_mask)
        except Exception:
            metrics.ERRORS.labels(self.backend.name).inc()
            raise
        return self._checked(logits, input_ids, attention_mask, time.perf_counter() - began)

    def _call_all(self, arrays: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        """Logits per batch, in order; pipelined when the backend keeps several batches in flight."""
        infer_many = getattr(self.backend, "infer_many", None)
        if infer_many is None or len(arrays) < 2:
            for input_ids, attention_mask in arrays:
                yield self._call(input_ids, attention_mask)
            return
        began = time.perf_counter()
        try:
            for (input_ids, attention_mask), logits in zip(arrays, infer_many(arrays), strict=True):
                now = time.perf_counter()
                yield self._checked(logits, input_ids, attention_mask, now - began)
                began = now
        except Exception:
            metrics.ERRORS.labels(self.backend.name).inc()
            raise

    def _checked(
        self, logits: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray, seconds: float
    ) -> np.ndarray:
        name = self.backend.name
        metrics.LATENCY.labels(name).observe(seconds)
        metrics.BATCHES.labels(name).inc()
        metrics.BATCH_SIZE.labels(name).observe(len(input_ids))
        metrics.TOKENS.labels(name).inc(int(attention_mask.sum()))
        expected = (*input_ids.shape, len(self.tags))
        if logits.shape != expected:
            raise ValueError(f"{name} returned logits of shape {logits.shape}, expected {expected}")
        return logits

    def _pieces(self, token_ids: list[list[int]]) -> list[_Piece]:
        pieces = []
        for record, ids in enumerate(token_ids):
            if not ids:
                continue
            for w in split_windows(len(ids), self.window_size, self.stride):
                window_ids = self.tokenizer.with_specials(ids[w.start : w.end])
                pieces.append(_Piece(record, w.start, w.end, w.keep_start, w.keep_end, window_ids))
        return pieces

    def logits(
        self, texts: list[str], units: Sequence[tuple[Unit, ...] | None] | None = None
    ) -> tuple[list[np.ndarray], list[Tokens]]:
        """Per record: logits [n_tokens, num_tags] over its tokens (specials excluded), and its tokens."""
        encodings = self.tokenizer.encode(texts, units)
        out = [np.zeros((len(e.ids), len(self.tags)), dtype=np.float32) for e in encodings]
        pieces = self._pieces([e.ids for e in encodings])
        groups = list(batches([len(p.input_ids) for p in pieces], self.batch_size))
        arrays = [pad_rows([pieces[i].input_ids for i in batch], self.tokenizer.pad_id) for batch in groups]
        for batch, logits in zip(groups, self._call_all(arrays), strict=True):
            for row, i in enumerate(batch):
                p = pieces[i]
                first = len(self.tokenizer.prefix) + p.keep_start - p.start
                kept = logits[row, first : first + p.keep_end - p.keep_start]
                out[p.record][p.keep_start : p.keep_end] = kept
        return out, encodings

    def predict(
        self, texts: list[str], units: Sequence[tuple[Unit, ...] | None] | None = None
    ) -> list[list[Span]]:
        """Spans per record, in the order of `texts`; text[start:end] == span.text for every span, and
        every span fits its label's shape rule (include/adapters/ner/shapes.py).

        `units` gives each text's word units (a corpus's own tokens); by default `word_units(text)`.
        """
        per_record, encodings = self.logits(texts, units)
        results: list[list[Span]] = []
        for text, logits, encoding in zip(texts, per_record, encodings, strict=True):
            if len(logits) == 0:
                results.append([])
                continue
            probs = softmax(logits)
            if self.constrained:
                tag_ids = constrained_tag_ids(probs, encoding.word_ids, self.tags)
            else:
                tag_ids = probs.argmax(axis=-1)
            spans = tags_to_spans(text, encoding.offsets, tag_ids, probs, self.tags, encoding.word_ids)
            results.append(plausible(spans))
        return results

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()
