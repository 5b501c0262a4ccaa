"""The bootstrap's held-out writers share nothing with the training generators, and their spans are exact."""

from __future__ import annotations

import re
from pathlib import Path

from include.core.labels import DEFAULT_LABELS
from include.core.settings import PROJECT_ROOT
from include.workflows.training import unseen
from include.workflows.training.unseen import DATE_FORMATS, HEADERS, LOCALES, TEMPLATES, unseen_gold

TRAINING_GENERATORS = [
    PROJECT_ROOT / "include" / "workflows" / "training" / name
    for name in ("synthetic.py", "synthetic_rows.py", "synthetic_values.py")
]


def training_source() -> str:
    return "\n".join(path.read_text() for path in TRAINING_GENERATORS).lower()


def test_no_held_out_header_occurs_in_the_training_generators() -> None:
    source = training_source()
    headers = [h for names in HEADERS.values() for h in names]
    assert len(headers) >= 20
    assert [h for h in headers if h.lower() in source] == []


def test_no_held_out_template_occurs_in_the_training_generators() -> None:
    source = training_source()
    for template in TEMPLATES:
        assert template.lower() not in source, template
        # Nor the template's words between slots, where they are longer than a few words' glue.
        for fragment in re.split(r"\{[A-Z]+\}", template):
            fragment = fragment.strip(" .,;:()-").lower()
            if len(fragment) >= 12:
                assert fragment not in source, (template, fragment)


def test_no_held_out_date_format_is_a_training_date_format() -> None:
    """The held-out writers' date formats stay out of training, so DATE on the held-out set measures
    dates written in shapes the bootstrap never saw."""
    source = training_source()
    assert [f for f in DATE_FORMATS if f'"{f.lower()}"' in source] == []


def test_the_writers_use_other_locales_and_import_no_training_generator() -> None:
    assert not {"en_US", "en_GB"} & set(LOCALES)
    imports = [
        line
        for line in Path(unseen.__file__).read_text().splitlines()
        if line.startswith(("from ", "import "))
    ]
    assert not [line for line in imports if "synthetic" in line or "samples" in line]


def test_held_out_texts_are_seeded_and_their_spans_exact() -> None:
    texts = unseen_gold(120)
    assert texts == unseen_gold(120)
    assert texts != unseen_gold(120, seed=1)
    labels = set()
    for t in texts:
        for s in t.spans:
            assert t.text[s.start : s.end] == s.text
            labels.add(s.label)
    assert labels == set(DEFAULT_LABELS)
    assert any(" | " in t.text for t in texts) and any(" | " not in t.text for t in texts)
