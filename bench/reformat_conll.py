"""Write WNUT-17's dev and test files as a corpus in another CoNLL dialect, to run bench/sme_loop.py on a
format it was not developed on: four columns (token, POS, chunk, tag) as CoNLL-2003 has them,
`-DOCSTART-` every N sentences, BIOES tags and other tag names (PER, LOC, ORG, PROD, CW).

    PYTHONPATH=. python bench/reformat_conll.py OUT [--per-document 10]
    PYTHONPATH=. python bench/sme_loop.py --corpus OUT \\
        --label-map PER=PERSON,LOC=LOCATION,ORG=ORG,PROD=PRODUCT

OUT/train.txt is WNUT-17's dev file (1,009 sentences), OUT/test.txt its test file; the no-WNUT bootstrap
has seen neither.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from include.workflows.training.dataset import read_conll  # noqa: E402
from include.workflows.training.sources import wnut17_dir  # noqa: E402

RENAME = {
    "person": "PER",
    "location": "LOC",
    "corporation": "ORG",
    "group": "ORG",
    "product": "PROD",
    "creative-work": "CW",
}
FILES = {"train.txt": "emerging.dev.conll", "test.txt": "emerging.test.annotated"}


def to_bioes(tags: Sequence[str]) -> list[str]:
    """IOB2 tags with WNUT-17's names → BIOES with RENAME's names."""
    out = []
    for i, tag in enumerate(tags):
        if tag == "O":
            out.append("O")
            continue
        prefix, _, name = tag.partition("-")
        label = RENAME[name]
        previous = tags[i - 1] if i else "O"
        following = tags[i + 1] if i + 1 < len(tags) else "O"
        starts = prefix == "B" or previous == "O" or RENAME[previous[2:]] != label
        goes_on = following.startswith("I-") and RENAME[following[2:]] == label
        out.append(("B-" if goes_on else "S-") + label if starts else ("I-" if goes_on else "E-") + label)
    return out


def reformat(source: Path, target: Path, per_document: int) -> int:
    lines: list[str] = []
    sentences = read_conll(source)
    for k, sentence in enumerate(sentences):
        if k % per_document == 0:
            lines += ["-DOCSTART- -X- -X- O", ""]
        tags = to_bioes([tag for _, tag in sentence])
        lines += [f"{token} NN B-NP {tag}" for (token, _), tag in zip(sentence, tags, strict=True)]
        lines.append("")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(sentences)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-document", type=int, default=10, help="sentences between -DOCSTART- lines")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, source in FILES.items():
        n = reformat(wnut17_dir() / source, args.out / name, args.per_document)
        print(f"{args.out / name}: {n} sentences from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
