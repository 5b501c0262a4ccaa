"""Shape rules: a predicted span whose text cannot be its label is dropped before anyone sees it.

An email address is `local@domain.tld`. An address begins with a name (`sheehy.cheryl@…`) and the
encoder's vocabulary is lower-case, so an unfamiliar word on its own (`Sheehy, Cheryl`, a product called
`Tussock`, a column header) sometimes comes out as EMAIL, and so does a social-media handle (`@jsmith`);
no SME should have to delete those, and the nightly gate should not count them as the model forgetting
EMAIL. Labels without a rule pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from include.core.spans import Span

_ADDRESS = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")

RULES: dict[str, Callable[[str], bool]] = {
    "EMAIL": lambda text: _ADDRESS.search(text) is not None,
}


def plausible(spans: Sequence[Span]) -> list[Span]:
    """The spans whose text fits their label's shape rule."""
    return [s for s in spans if (rule := RULES.get(s.label)) is None or rule(s.text)]
