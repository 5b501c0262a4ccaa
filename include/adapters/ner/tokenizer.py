"""The bundle's fast tokenizer (tokenizer.json through `tokenizers`): ids, character offsets and word ids.

Texts are cut into word units (include/adapters/ner/words.py) first and encoded as pre-tokenized input, so
every token belongs to exactly one unit and a unit's first token carries its label, in training and serving
alike. `tokenizers` is used directly rather than through transformers, whose import pulls in torch (6–10 s).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from include.adapters.ner.words import Unit, word_units


@dataclass(frozen=True)
class Tokens:
    """One text's tokens (no special tokens): ids, character offsets into the text, unit index per token."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int | None]
    units: tuple[Unit, ...]


@dataclass(frozen=True)
class BundleTokenizer:
    tokenizer: Tokenizer
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    pad_id: int

    @classmethod
    def from_dir(cls, tokenizer_dir: Path) -> BundleTokenizer:
        path = Path(tokenizer_dir) / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing (a fast tokenizer is required for character offsets)")
        return cls.from_tokenizer(Tokenizer.from_file(str(path)), Path(tokenizer_dir))

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer, tokenizer_dir: Path | None = None) -> BundleTokenizer:
        """Wrap a `tokenizers.Tokenizer` (e.g. a transformers fast tokenizer's `backend_tokenizer`)."""
        tokenizer = Tokenizer.from_str(tokenizer.to_str())
        tokenizer.no_truncation()
        tokenizer.no_padding()
        probe = tokenizer.encode("a")
        content = [i for i, special in enumerate(probe.special_tokens_mask) if not special]
        prefix = tuple(probe.ids[: content[0]])
        suffix = tuple(probe.ids[content[-1] + 1 :])
        return cls(tokenizer, prefix, suffix, _pad_id(tokenizer, tokenizer_dir))

    def encode(
        self, texts: list[str], units: Sequence[tuple[Unit, ...] | None] | None = None
    ) -> list[Tokens]:
        """Tokens of each text over its word units (given, e.g. a corpus's own tokens, or word_units)."""
        unit_lists = [
            tuple(u) if u is not None else word_units(t).ranges
            for t, u in zip(texts, units or [None] * len(texts), strict=True)
        ]
        words = [[t[a:b] for a, b in u] or [""] for t, u in zip(texts, unit_lists, strict=True)]
        encodings = self.tokenizer.encode_batch(words, is_pretokenized=True, add_special_tokens=False)
        out = []
        for encoding, u in zip(encodings, unit_lists, strict=True):
            offsets = [
                (u[w][0] + a, u[w][0] + b) if w is not None else (0, 0)
                for (a, b), w in zip(encoding.offsets, encoding.word_ids, strict=True)
            ]
            out.append(Tokens(list(encoding.ids), offsets, list(encoding.word_ids), u))
        return out

    def with_specials(self, ids: list[int]) -> list[int]:
        return [*self.prefix, *ids, *self.suffix]

    def batch(self, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
        """Texts as one padded batch with special tokens, each cut to `max_length` tokens."""
        room = max_length - len(self.prefix) - len(self.suffix)
        return pad_rows([self.with_specials(e.ids[:room]) for e in self.encode(texts)], self.pad_id)


def pad_rows(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token id rows → int64 input_ids and attention_mask, right-padded to the longest row."""
    width = max(len(r) for r in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        attention_mask[i, : len(row)] = 1
    return input_ids, attention_mask


def _pad_id(tokenizer: Tokenizer, tokenizer_dir: Path | None) -> int:
    special = tokenizer_dir / "special_tokens_map.json" if tokenizer_dir else None
    if special is not None and special.is_file():
        pad = json.loads(special.read_text()).get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        if pad and tokenizer.token_to_id(pad) is not None:
            return tokenizer.token_to_id(pad)
    for pad in ("[PAD]", "<pad>"):
        if tokenizer.token_to_id(pad) is not None:
            return tokenizer.token_to_id(pad)
    return 0
