"""The bundle's fast tokenizer (tokenizer.json through `tokenizers`): ids, character offsets and word ids.

`tokenizers` is used directly rather than through transformers, whose import pulls in torch (6–10 s); the
encodings are the same Rust ones transformers' fast tokenizers return with `return_offsets_mapping`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer


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
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        probe = tokenizer.encode("a")
        content = [i for i, special in enumerate(probe.special_tokens_mask) if not special]
        prefix = tuple(probe.ids[: content[0]])
        suffix = tuple(probe.ids[content[-1] + 1 :])
        return cls(tokenizer, prefix, suffix, _pad_id(tokenizer, Path(tokenizer_dir)))

    def encode(self, texts: list[str]) -> list[Encoding]:
        """Encodings without special tokens: ids, offsets (into each text) and word ids per token."""
        return self.tokenizer.encode_batch(list(texts), add_special_tokens=False)

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


def _pad_id(tokenizer: Tokenizer, tokenizer_dir: Path) -> int:
    special = tokenizer_dir / "special_tokens_map.json"
    if special.is_file():
        pad = json.loads(special.read_text()).get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        if pad and tokenizer.token_to_id(pad) is not None:
            return tokenizer.token_to_id(pad)
    for pad in ("[PAD]", "<pad>"):
        if tokenizer.token_to_id(pad) is not None:
            return tokenizer.token_to_id(pad)
    return 0
