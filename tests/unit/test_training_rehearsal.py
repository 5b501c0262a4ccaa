"""Rehearsal rebuilds what the model in service learned from, leaves out the SMEs' texts, weighs less;
the forgetting check refuses a candidate that lost a label the SMEs have not corrected."""

from __future__ import annotations

import torch

from include.workflows.training.dataset import OPEN
from include.workflows.training.evaluate import LabelScore, Metrics
from include.workflows.training.nightly import forgetting_gate
from include.workflows.training.rehearsal import RehearsalPlan, rebuild_sources, rehearsal_examples
from include.workflows.training.synthetic import synthetic_gold
from include.workflows.training.train import weighted_loss

SOURCES = {"synthetic": {"train": 60, "seed": 3, "row_share": 0.5}}


def test_sources_rebuild_the_same_texts_the_bootstrap_trained_on() -> None:
    assert rebuild_sources(SOURCES) == synthetic_gold(60, seed=3, row_share=0.5)


def test_a_changed_wnut17_file_is_left_out_not_rehearsed() -> None:
    changed = {"wnut17": {"files": {"wnut17train.conll": "0" * 64}, "limit": 10, "label_map": {}}}
    assert rebuild_sources(changed) == []


def test_rehearsal_is_seeded_weighted_and_never_repeats_a_gold_text() -> None:
    plan = RehearsalPlan(ratio=2.0, minimum=10, weight=0.5, seed=1)
    gold_texts = [t.text for t in synthetic_gold(60, seed=3)[:20]]
    sample = rehearsal_examples(SOURCES, 30, plan, gold_texts)
    assert len(sample) == 30 and sample == rehearsal_examples(SOURCES, 30, plan, gold_texts)
    assert not {t.text for t in sample} & set(gold_texts)
    assert {t.weight for t in sample} == {0.5} and all(t.source.startswith("rehearsal:") for t in sample)
    assert rehearsal_examples(None, 30, plan) == []
    assert plan.size(3) == 10 and plan.size(400) == 800


def test_weighted_loss_is_cross_entropy_when_every_text_weighs_one_and_follows_the_weights() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 4)
    labels = torch.tensor([[0, 1, -100, 2, 3], [1, -100, -100, 0, 0], [3, 3, 2, -100, 1]])
    class_weight = torch.tensor([0.5, 1.0, 1.0, 2.0])
    plain = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 4), labels.reshape(-1), weight=class_weight, ignore_index=-100
    )
    assert torch.allclose(weighted_loss(logits, labels, torch.ones(3), class_weight), plain)
    only_first = weighted_loss(logits, labels, torch.tensor([1.0, 0.0, 0.0]), class_weight)
    first = torch.nn.functional.cross_entropy(logits[0], labels[0], weight=class_weight, ignore_index=-100)
    assert torch.allclose(only_first, first)


def metrics(**f1: float) -> Metrics:
    return Metrics(0.0, 0.0, 0.0, {k: LabelScore(v, v, v, 10) for k, v in f1.items()})


def test_the_forgetting_check_blocks_a_candidate_that_lost_a_label_without_sme_gold() -> None:
    served = metrics(PERSON=0.8, DATE=0.9, MONEY=0.7)
    ok, reason = forgetting_gate(metrics(PERSON=0.5, DATE=0.89, MONEY=0.75), served, {"PERSON"})
    assert ok, reason
    ok, reason = forgetting_gate(metrics(PERSON=0.9, DATE=0.85, MONEY=0.7), served, {"PERSON"})
    assert not ok and "DATE 0.9000 -> 0.8500" in reason
    ok, reason = forgetting_gate(metrics(PERSON=0.9, MONEY=0.7), served, {"PERSON"})
    assert not ok and "DATE 0.9000 -> 0.0000" in reason, "a label the candidate never predicts is lost"


def test_stretches_of_labels_no_sme_gold_has_are_left_open_not_taught_as_o() -> None:
    from transformers import AutoTokenizer

    from include.core.spans import Span
    from include.workflows.training.dataset import LabeledText, encode
    from include.workflows.training.rehearsal import shield_untouched
    from tests.helpers.bundle import base_encoder_dir

    text = "Alice Smith flies out on Friday 3 May"
    gold = LabeledText(text, (Span(start=0, end=11, label="PERSON", text="Alice Smith"),))
    plausible = [(0, 5), (25, 31), (32, 33), (34, 37)]  # "Alice" overlaps the SME's span: taught as labelled
    (shielded,) = shield_untouched([gold], [plausible])
    assert shielded.unlabelled == ((25, 31), (32, 33), (34, 37)) and shielded.spans == gold.spans
    assert shield_untouched([gold], [[]]) == [gold]

    from include.core.labels import bio_tags

    tags = {t: i for i, t in enumerate(bio_tags())}
    tokenizer = AutoTokenizer.from_pretrained(base_encoder_dir())
    plain, masked = encode(tokenizer, gold, tags, 64), encode(tokenizer, shielded, tags, 64)
    changed = [i for i, (a, b) in enumerate(zip(plain.labels, masked.labels, strict=True)) if a != b]
    assert changed and all(plain.labels[i] == tags["O"] and masked.labels[i] == OPEN for i in changed)
    assert len(changed) == 3, "Friday, 3, May: the first token of each unit"
    assert masked.labels[1] == tags["B-PERSON"], "the SME's own spans are still taught"


def test_the_served_model_marks_units_where_an_untouched_label_is_plausible() -> None:
    from include.adapters.ner.backends import OnnxRuntimeBackend
    from include.adapters.ner.client import NerClient
    from include.workflows.training.dataset import LabeledText
    from include.workflows.training.rehearsal import untouched_ranges
    from tests.helpers.bundle import tiny_bundle

    bundle = tiny_bundle()
    from include.core.bundle.read import read_bundle

    client = NerClient(
        bundle, OnnxRuntimeBackend(read_bundle(bundle).model_path, 1), max_length=64, stride=16
    )
    gold = [LabeledText("Alice met Bob on Friday in Paris", ()), LabeledText("", ())]
    everything = untouched_ranges(client, gold, {"DATE"}, threshold=0.0)
    assert everything[0] == [(0, 5), (6, 9), (10, 13), (14, 16), (17, 23), (24, 26), (27, 32)]
    assert everything[1] == []
    assert untouched_ranges(client, gold, {"DATE"}, threshold=1.01) == [[], []]
    assert untouched_ranges(client, gold, set()) == [[], []]


def test_an_open_token_asks_only_that_it_is_none_of_the_other_labels() -> None:
    # tags O, B-PERSON, B-DATE; DATE is left open: an OPEN token may be O or DATE, not PERSON
    logits = torch.tensor([[[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]]])
    labels = torch.tensor([[OPEN, 1]])
    class_weight = torch.ones(3)
    open_tags = torch.tensor([True, False, True])
    loss = weighted_loss(logits, labels, torch.ones(1), class_weight, open_tags)
    open_part = torch.logsumexp(logits[0, 0], 0) - torch.logsumexp(logits[0, 0, [0, 2]], 0)
    gold_part = torch.nn.functional.cross_entropy(logits[0, 1:], labels[0, 1:])
    assert torch.allclose(loss, (open_part + gold_part) / 2)
    # without open tags the token is ignored, as an IGNORE token is
    assert torch.allclose(weighted_loss(logits, labels, torch.ones(1), class_weight), gold_part)
    # moving probability from O to DATE costs nothing; moving it to PERSON does
    to_date = weighted_loss(
        torch.tensor([[[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]]), labels, torch.ones(1), class_weight, open_tags
    )
    to_person = weighted_loss(
        torch.tensor([[[1.0, 2.0, 0.0], [0.0, 3.0, 0.0]]]), labels, torch.ones(1), class_weight, open_tags
    )
    assert torch.allclose(to_date, loss) and to_person > loss
