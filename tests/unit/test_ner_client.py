"""NerClient with a fake backend: length-sorted micro-batches, input order restored, long records windowed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from prometheus_client import REGISTRY

from include.adapters.ner.client import NerClient
from include.adapters.ner.windows import batches, split_windows
from tests.helpers.bundle import tokenizer_only_bundle

NUM_TAGS = 17


class TokenIdBackend:
    """Logits that depend on each token id only, so answers cannot depend on batching or windowing."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.calls.append(input_ids.shape)
        logits = np.zeros((*input_ids.shape, NUM_TAGS), dtype=np.float32)
        tag = (input_ids * 7 + 3) % NUM_TAGS
        np.put_along_axis(logits, tag[..., None], 5.0, axis=-1)
        return logits


def client(backend: TokenIdBackend, **kwargs) -> NerClient:
    return NerClient(tokenizer_only_bundle(), backend, warmup=False, **kwargs)


TEXTS = [
    "Ann Lee joined Acme Corp in Paris on 3 May 2021.",
    "Hi",
    "",
    "   ",
    "Call +1 555 0100 or mail ann@example.com about the 1,200 USD invoice for Washington.",
    "Zoë 🎉 Ümit",
    "short one",
]


def test_predict_restores_input_order_and_matches_one_by_one():
    backend = TokenIdBackend()
    ner = client(backend, batch_size=2)
    together = ner.predict(TEXTS)
    alone = [ner.predict([text])[0] for text in TEXTS]
    assert together == alone
    assert together[2] == [] and together[3] == []
    assert any(together[0])
    for text, spans in zip(TEXTS, together, strict=True):
        assert all(text[s.start : s.end] == s.text for s in spans)


def test_batches_are_length_sorted_and_padded_per_batch():
    backend = TokenIdBackend()
    client(backend, batch_size=2).predict(TEXTS)
    sizes = [shape[0] for shape in backend.calls]
    widths = [shape[1] for shape in backend.calls]
    assert sizes == [2, 2, 1], "5 non-empty records in batches of 2; empty records never reach the model"
    assert widths == sorted(widths), "shortest records first"
    assert widths[0] < widths[-1], "each batch is padded to its own longest record only"


def test_batch_size_is_bounded_by_the_served_max_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        client(TokenIdBackend(), batch_size=17)


def test_long_record_windows_give_the_same_spans_once_on_the_full_text():
    text = " ".join(f"Ann{i} Lee met Acme{i} Washingtonians" for i in range(40))
    backend = TokenIdBackend()
    windowed = client(backend, max_length=32, stride=8).predict([text])[0]
    assert max(width for _, width in backend.calls) <= 32
    assert len(backend.calls) > 1 or backend.calls[0][0] > 1, "the record was cut into several windows"
    whole = client(TokenIdBackend(), max_length=4096).predict([text])[0]
    assert windowed == whole
    assert all(a.end <= b.start for a, b in itertools.pairwise(windowed)), "no overlapping spans"


def test_model_version_comes_from_version_json():
    assert client(TokenIdBackend()).model_version == "fake-0"


def test_wrong_logits_shape_is_a_clear_error():
    class Wrong(TokenIdBackend):
        def infer(self, input_ids, attention_mask):
            return super().infer(input_ids, attention_mask)[..., :5]

    with pytest.raises(ValueError, match="logits of shape"):
        client(Wrong()).predict(["Ann"])


def test_metrics_count_batches_tokens_and_errors():
    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"backend": "fake"}) or 0.0

    before = value("ner_batches_total"), value("ner_tokens_total"), value("ner_batch_size_count")
    client(TokenIdBackend(), batch_size=4).predict(TEXTS)
    assert value("ner_batches_total") == before[0] + 2
    assert value("ner_batch_size_count") == before[2] + 2
    assert value("ner_tokens_total") > before[1]

    class Failing(TokenIdBackend):
        def infer(self, input_ids, attention_mask):
            raise RuntimeError("boom")

    errors = value("ner_errors_total")
    with pytest.raises(RuntimeError):
        client(Failing()).predict(["Ann"])
    assert value("ner_errors_total") == errors + 1


@pytest.mark.parametrize("n_tokens", [0, 1, 10, 31, 32, 33, 100, 257])
def test_windows_keep_every_token_exactly_once_away_from_inner_edges(n_tokens: int):
    size, stride = 32, 8
    windows = split_windows(n_tokens, size, stride)
    kept = [t for w in windows for t in range(w.keep_start, w.keep_end)]
    assert kept == list(range(n_tokens))
    for w in windows:
        assert w.end - w.start <= size
        assert w.start <= w.keep_start <= w.keep_end <= w.end
        if w.start > 0:
            assert w.keep_start - w.start >= stride // 2
        if w.end < n_tokens:
            assert w.end - w.keep_end >= stride // 2


def test_stride_over_half_a_window_is_refused():
    with pytest.raises(ValueError, match="stride"):
        split_windows(100, 32, 17)


def test_micro_batches_sort_by_length_and_keep_ties_stable():
    assert batches([5, 1, 3, 1, 9], 2) == [[1, 3], [2, 0], [4]]
