"""Document splits are deterministic and disjoint; manifests hash the same however they were built."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from include.workflows.training.gold import (
    DEV_MIN_SPANS,
    GoldExample,
    GoldSet,
    document_splits,
    manifest_sha256,
    split_for,
    split_point,
)

SHAS = [hashlib.sha256(f"doc-{i}".encode()).hexdigest() for i in range(2000)]


def test_split_is_a_pure_function_of_the_document() -> None:
    assert [split_for(s) for s in SHAS] == [split_for(s) for s in SHAS]


def test_split_follows_the_ratios_roughly() -> None:
    counts = Counter(split_for(s) for s in SHAS)
    assert 0.75 < counts["train"] / len(SHAS) < 0.85
    assert 0.07 < counts["dev"] / len(SHAS) < 0.13
    assert 0.07 < counts["test"] / len(SHAS) < 0.13


def test_zero_ratio_gets_no_documents() -> None:
    assert {split_for(s, (1, 0, 1)) for s in SHAS} == {"train", "test"}
    assert {split_for(s, (1, 0, 0)) for s in SHAS} == {"train"}


@pytest.mark.parametrize("bad", [(0.8, 0.2), (1, -1, 1), (0, 0, 0)])
def test_bad_ratios_are_rejected(bad) -> None:
    with pytest.raises(ValueError, match="ratios"):
        split_for(SHAS[0], bad)


def test_small_gold_has_no_dev_split_and_still_a_held_out_document() -> None:
    small = {sha: 3 for sha in SHAS[:40]}
    splits = document_splits(small)
    assert "dev" not in splits.values() and "test" in splits.values()
    assert all(splits[sha] == ("test" if split_for(sha) == "test" else "train") for sha in small)
    large = {sha: DEV_MIN_SPANS for sha in SHAS[:40]}
    assert document_splits(large) == {sha: split_for(sha) for sha in large}


def test_a_dev_split_needs_its_own_documents_to_hold_enough_spans() -> None:
    devs = [sha for sha in SHAS if split_for(sha) == "dev"][:4]
    others = [sha for sha in SHAS if split_for(sha) != "dev"][:36]
    many_elsewhere = {**{sha: 1_000 for sha in others}, **{sha: 10 for sha in devs}}
    assert "dev" not in document_splits(many_elsewhere).values(), "spans outside dev make no dev split"
    just_enough = {**{sha: 0 for sha in others}, **{sha: DEV_MIN_SPANS // 4 for sha in devs}}
    assert set(document_splits(just_enough).values()) >= {"dev", "test"}
    one_short = {**just_enough, devs[0]: DEV_MIN_SPANS // 4 - 1}
    assert "dev" not in document_splits(one_short).values()


def test_with_no_document_hashing_into_test_the_nearest_one_is_held_out_and_stays_so() -> None:
    trains = [sha for sha in SHAS if split_for(sha) == "train"][:5]
    splits = document_splits({sha: 10 for sha in trains})
    (held,) = [sha for sha, split in splits.items() if split == "test"]
    assert held == max(trains, key=split_point)
    assert document_splits({sha: 12 for sha in reversed(trains)}) == splits, (
        "the same documents, the same splits"
    )
    assert document_splits({trains[0]: 50}) == {trains[0]: "train"}, "one document: nothing to hold out"


def gold_set(order: list[int]) -> GoldSet:
    examples = [
        GoldExample(
            record_version_id=i,
            record_id=i,
            document_sha256=SHAS[i % 7],
            record_key=f"para={i}",
            text="x",
            spans=(),
            split=split_for(SHAS[i % 7]),
        )
        for i in order
    ]
    return GoldSet(examples, {"skipped": 0, "flagged": 0, "invalid_spans": 0})


def test_records_of_one_document_share_a_split() -> None:
    gold = gold_set(list(range(60)))
    by_document: dict[str, set[str]] = {}
    for e in gold.examples:
        by_document.setdefault(e.document_sha256, set()).add(e.split)
    assert all(len(splits) == 1 for splits in by_document.values())
    in_splits = [set(ids) for ids in gold.manifest.values()]
    assert sum(len(s) for s in in_splits) == 60 and len(set.union(*in_splits)) == 60


def test_manifest_is_sorted_and_its_hash_ignores_input_order() -> None:
    forward = gold_set(list(range(40)))
    backward = gold_set(list(reversed(range(40))))
    assert forward.manifest == backward.manifest
    assert all(ids == sorted(ids) for ids in forward.manifest.values())
    assert forward.manifest_sha256 == backward.manifest_sha256 == manifest_sha256(forward.manifest)
    assert gold_set(list(range(39))).manifest_sha256 != forward.manifest_sha256


def test_counts_report_splits_documents_and_exclusions() -> None:
    counts = gold_set(list(range(14))).counts
    assert counts["gold"] == 14 and counts["documents"] == 7
    assert counts["train"] + counts["dev"] + counts["test"] == 14
    assert counts["excluded"] == {"skipped": 0, "flagged": 0, "invalid_spans": 0}
