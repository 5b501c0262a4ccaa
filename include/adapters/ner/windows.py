"""Long records in overlapping token windows, and which window's prediction each token keeps."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Tokens [start, end) of a record; the window's answer is kept for tokens [keep_start, keep_end)."""

    start: int
    end: int
    keep_start: int
    keep_end: int


def split_windows(n_tokens: int, size: int, stride: int) -> list[Window]:
    """Windows of at most `size` tokens, neighbours sharing `stride` tokens.

    Each shared stretch is cut in the middle, so every token is kept from exactly one window, the one where
    it sits furthest from an edge: no duplicate spans, and each token sees context on both sides.
    """
    if size < 1:
        raise ValueError(f"window size must be >= 1, got {size}")
    if not 0 <= stride <= size // 2:
        raise ValueError(f"stride must be between 0 and size // 2 ({size // 2}), got {stride}")
    bounds: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, n_tokens)
        bounds.append((start, end))
        if end >= n_tokens:
            break
        start += size - stride
    cuts = [0] + [(nxt[0] + cur[1]) // 2 for cur, nxt in itertools.pairwise(bounds)] + [n_tokens]
    return [Window(s, e, cuts[i], cuts[i + 1]) for i, (s, e) in enumerate(bounds)]


def batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indexes of the items in micro-batches of similar length (shortest first), so padding stays small."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
