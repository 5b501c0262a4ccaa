"""A corpus in another CoNLL dialect (4 columns, -DOCSTART-, BIOES, other tag names) reads back as the same
texts and spans as the WNUT-17 file it was written from."""

from __future__ import annotations

from pathlib import Path

from bench.reformat_conll import RENAME, reformat, to_bioes
from include.workflows.training.dataset import conll_to_labeled_text, read_conll, read_conll_documents
from include.workflows.training.sources import wnut17_dir


def test_bioes_marks_single_and_last_tokens() -> None:
    assert to_bioes(["B-person", "I-person", "O", "B-group", "B-group", "I-product"]) == [
        "B-PER",
        "E-PER",
        "O",
        "S-ORG",
        "S-ORG",
        "S-PROD",  # an I- after another type starts a span of its own
    ]


def test_wnut17_dev_in_another_dialect_reads_back_to_the_same_spans(tmp_path: Path) -> None:
    source = wnut17_dir() / "emerging.dev.conll"
    assert reformat(source, tmp_path / "train.txt", per_document=10) == 1009
    documents = read_conll_documents(tmp_path / "train.txt")
    assert len(documents) == 101 and [len(d) for d in documents[:2]] == [10, 10]
    back = [conll_to_labeled_text(s) for d in documents for s in d]
    original = [conll_to_labeled_text(s, dict(RENAME)) for s in read_conll(source)]
    assert [b.text for b in back] == [o.text for o in original]
    assert [[(s.start, s.end, s.label) for s in b.spans] for b in back] == [
        [(s.start, s.end, s.label) for s in o.spans] for o in original
    ]
    assert sum(len(b.spans) for b in back) > 500
