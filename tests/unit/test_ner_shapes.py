"""Shape rules on the client's output: NerClient.predict drops an EMAIL that is no `local@domain.tld`."""

from __future__ import annotations

import numpy as np

from include.adapters.ner.client import NerClient
from include.adapters.ner.shapes import plausible
from include.core.spans import Span
from tests.helpers.bundle import tokenizer_only_bundle


class OneLabelBackend:
    """Every token is `I-<label>`, `B-<label>` next (or all zero without a label): the constrained decoder
    makes each record one span of the label."""

    name = "fake"

    def __init__(self, tags: tuple[str, ...] = (), label: str | None = None) -> None:
        self.width = len(tags) or 17
        self.inside = tags.index(f"I-{label}") if label else None
        self.begin = tags.index(f"B-{label}") if label else None

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        logits = np.zeros((*input_ids.shape, self.width), dtype=np.float32)
        if self.inside is not None:
            logits[..., self.inside] = 5.0
            logits[..., self.begin] = 4.0
        return logits


def predict(label: str, texts: list[str]) -> list[list[Span]]:
    bundle = tokenizer_only_bundle()
    tags = NerClient(bundle, OneLabelBackend(), warmup=False).tags
    return NerClient(bundle, OneLabelBackend(tags, label), warmup=False).predict(texts)


def test_an_email_span_that_is_no_address_is_dropped_and_an_address_kept():
    spans = predict("EMAIL", ["Sheehy, Cheryl", "cheryl.sheehy@example.ie", "Tussock", "@jsmith", "ann@host"])
    assert spans[0] == [] and spans[2:] == [[], [], []]
    assert [(s.label, s.text) for s in spans[1]] == [("EMAIL", "cheryl.sheehy@example.ie")]


def test_labels_without_a_rule_pass_unchanged():
    spans = predict("PERSON", ["Sheehy, Cheryl"])
    assert [(s.label, s.text) for s in spans[0]] == [("PERSON", "Sheehy, Cheryl")]


def test_plausible_keeps_order_and_drops_only_what_breaks_a_rule():
    text = "Tussock or ann@x.io"
    spans = [
        Span(start=0, end=7, label="EMAIL", text="Tussock"),
        Span(start=0, end=7, label="PRODUCT", text="Tussock"),
        Span(start=11, end=19, label="EMAIL", text=text[11:19]),
    ]
    assert plausible(spans) == spans[1:]


def test_a_money_span_with_words_that_are_no_currency_is_dropped_and_amounts_kept():
    amounts = [
        "NZ$36,729",
        "1.234,56 EUR",
        "12k dollars",
        "CHF 1 234,56",
        "Rs. 500",
        "2643,97",
        "ten euros",
        "500 usd",
    ]
    spans = predict("MONEY", ["Tussock Kiln 300", "300 units", *amounts])
    assert spans[:2] == [[], []]
    assert [[s.text for s in found] for found in spans[2:]] == [[a] for a in amounts]


def test_every_amount_the_generators_write_passes_the_money_rule():
    from include.workflows.training.synthetic import synthetic_gold
    from include.workflows.training.unseen import unseen_gold

    texts = [*synthetic_gold(400, seed=3), *unseen_gold(400)]
    money = [s for e in texts for s in e.spans if s.label == "MONEY"]
    assert len(money) > 100
    assert plausible(money) == money
