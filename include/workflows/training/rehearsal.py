"""Rehearsal: a seeded sample of what the model in service learned from, mixed into a nightly run.

A nightly run continues from the served model's weights. Trained on SME gold alone it would forget
what the SMEs have not corrected yet (labels, text kinds), so it rehearses: the bundle's manifest
names its `sources` (WNUT-17 files by sha256, the generated gold by seed and count), every nightly
bundle passes its parent's sources on, and this module rebuilds them and draws a sample. SME gold
outweighs rehearsal: a rehearsal text equal to a gold text is dropped, and the rest carry a smaller
loss weight.

A label no SME gold holds yet is one the SMEs have not corrected: where the model in service finds such a
label plausible in a gold text (the SMEs labelled other things there), that stretch is left open rather
than taught as O (`untouched_ranges`, `shield_untouched`): its units' loss asks only that they are O or one
of those labels, so the gold still teaches that they are none of the labels it does hold
(include/workflows/training/train.py `weighted_loss`). Measured on WNUT-17 gold, which has no DATE: taught
as plain O, 46 tweets taught that weekday names are not dates, and DATE fell from 0.995 to 0.938 on the
bootstrap's held-out set ("Monday 06 April 2026" → "06 April 2026"). At 100 texts, sparing only the served
model's predicted spans still lost 0.049; units with at least 5 % probability of an untouched label,
0.024; at 1 %, 0.005. A partial-label loss everywhere (every O of the SMEs may stand for an untouched
label) lost 0.030 at the same WNUT-17 F1 (0.272 vs 0.275), so the 1 % threshold stays. Those first
versions ignored the spared units altogether; on the first 100 WNUT-17 texts that was a third of all units
('love', 'and', 'a', 'flashback' ...), and the model kept reading common words of the new domain as
PRODUCT or LOCATION (precision ~0.21 on the corpus's labels); leaving them open instead raised precision
to 0.31–0.34 and F1 from 0.272 to 0.321 (mean of three seeds; docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from include.adapters.ner.client import NerClient
from include.workflows.training.dataset import WNUT17_FILES, LabeledText, load_wnut17
from include.workflows.training.sources import wnut17_dir
from include.workflows.training.synthetic import ROW_SHARE, synthetic_gold

log = logging.getLogger(__name__)

REHEARSAL_WEIGHT = 0.5
"""Loss weight of a rehearsal text (SME gold weighs 1)."""


@dataclass(frozen=True)
class RehearsalPlan:
    """How much to rehearse: `ratio` rehearsal texts per gold text in train, at least `minimum`.

    Half a rehearsal text per gold text, not two. Without rehearsal a run forgets the labels the gold lacks
    (EMAIL −0.248 on the bootstrap's held-out set at 400 WNUT-17 texts), but beyond a few hundred texts more
    of it does not protect them further (that set comes from other writers than the texts rehearsed) and only
    dilutes the gold. On 400 WNUT-17 texts from the no-WNUT bootstrap (three seeds), 256 rehearsal texts
    instead of 800 learned as much (F1 0.363 vs 0.358 at alpha 1.0) and forgot less (largest drop 0.033 vs
    0.044) in 123 steps instead of 225; in the bench's sequence the model in service reached 0.366 instead of
    0.345 at 400 gold (docs/benchmarks.md)."""

    ratio: float = 0.5
    minimum: int = 256
    weight: float = REHEARSAL_WEIGHT
    seed: int = 0

    def size(self, gold_in_train: int) -> int:
        return max(self.minimum, round(self.ratio * gold_in_train))


def rebuild_sources(sources: Mapping[str, Any]) -> list[LabeledText]:
    """Every training text the sources name, rebuilt; a WNUT-17 file whose sha256 changed is left out
    (logged): rehearsing other data than the model saw would be a silent change of recipe."""
    texts: list[LabeledText] = []
    wnut = sources.get("wnut17")
    if wnut:
        path = wnut17_dir() / WNUT17_FILES["train"]
        expected = dict(wnut.get("files", {})).get(WNUT17_FILES["train"])
        actual = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        if expected and actual == expected:
            label_map = wnut.get("label_map")
            texts += load_wnut17("train", label_map=label_map, limit=wnut.get("limit"))
        else:
            log.warning(
                "rehearsal without WNUT-17: %s has sha256 %s, the manifest says %s", path, actual, expected
            )
    synthetic = sources.get("synthetic")
    if synthetic:
        texts += synthetic_gold(
            int(synthetic["train"]),
            seed=int(synthetic.get("seed", 0)),
            row_share=float(synthetic.get("row_share", ROW_SHARE)),
        )
    return texts


def rehearsal_examples(
    sources: Mapping[str, Any] | None, count: int, plan: RehearsalPlan, gold_texts: Iterable[str] = ()
) -> list[LabeledText]:
    """`count` texts drawn (seeded) from the sources, none equal to a gold text, weighted `plan.weight`."""
    if not sources or count <= 0:
        return []
    taken = set(gold_texts)
    pool = [t for t in rebuild_sources(sources) if t.text not in taken]
    sample = random.Random(plan.seed).sample(pool, min(count, len(pool)))
    return [replace(t, weight=plan.weight, source=f"rehearsal:{t.source}") for t in sample]


UNTOUCHED_THRESHOLD = 0.01
"""A unit the served model gives at least this probability of an untouched label is not taught as O."""


def untouched_ranges(
    client: NerClient,
    gold: Sequence[LabeledText],
    untouched: set[str],
    threshold: float = UNTOUCHED_THRESHOLD,
) -> list[list[tuple[int, int]]]:
    """Per gold text, the character ranges of units where the served model finds an untouched label
    plausible: the probability of its B-/I- tags on the unit's first token is at least `threshold`."""
    if not untouched or not gold:
        return [[] for _ in gold]
    columns = [i for i, tag in enumerate(client.tags) if tag != "O" and tag.split("-", 1)[1] in untouched]
    units = [e.units for e in gold]
    per_text, encodings = client.logits(
        [e.text for e in gold], units if any(u is not None for u in units) else None
    )
    out: list[list[tuple[int, int]]] = []
    for logits, tokens in zip(per_text, encodings, strict=True):
        if len(logits) == 0:
            out.append([])
            continue
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        mass = shifted[:, columns].sum(axis=1) / shifted.sum(axis=1)
        seen: set[int] = set()
        ranges = []
        for token, word in enumerate(tokens.word_ids):
            if word is None or word in seen:
                continue
            seen.add(word)
            if mass[token] >= threshold:
                ranges.append(tuple(tokens.units[word]))
        out.append(ranges)  # type: ignore[arg-type]
    return out


def shield_untouched(
    gold: Sequence[LabeledText], plausible: Sequence[Sequence[tuple[int, int]]]
) -> list[LabeledText]:
    """Gold texts with the `plausible` ranges of untouched labels (from `untouched_ranges`) marked
    unlabelled where they overlap no gold span; the rest of each text is taught as the SMEs labelled it."""
    out = []
    for example, ranges in zip(gold, plausible, strict=True):
        kept = tuple((a, b) for a, b in ranges if not any(g.start < b and a < g.end for g in example.spans))
        out.append(replace(example, unlabelled=example.unlabelled + kept) if kept else example)
    return out
