"""Word shape for an uncased encoder: a case-preserving tokenizer whose ids carry lower/Title/UPPER.

The base vocabulary V is lower-case. The cased tokenizer keeps case and has 3·V ids: id = shape·V + base
id, where shape 0 is the piece as in V, 1 its Title form and 2 its UPPER form. During training the input
embedding is factored (base row + one learned row per shape, so every capitalised word teaches the same
three vectors); for export it is materialised into a plain 3·V embedding, so the exported model is a
standard BERT with the same two inputs (input_ids, attention_mask) and the serving side needs no change.
"""

from __future__ import annotations

import json
from typing import cast

import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import BertTokenizerFast, PreTrainedModel, PreTrainedTokenizerFast

SHAPES = 3
CONFIG_KEY = "case_shapes"


def _variants(piece: str) -> tuple[str | None, str | None]:
    if piece.startswith("[") and piece.endswith("]"):
        return None, None
    prefix, body = ("##", piece[2:]) if piece.startswith("##") and len(piece) > 2 else ("", piece)
    title = prefix + body[:1].upper() + body[1:]
    upper = prefix + body.upper()
    ok = [v if v != piece and len(v) == len(piece) else None for v in (title, upper)]
    if ok[0] == ok[1]:
        ok[1] = None
    return ok[0], ok[1]


def cased_tokenizer(base: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """The case-preserving tokenizer over the tripled vocabulary of an uncased WordPiece tokenizer."""
    spec = json.loads(base.backend_tokenizer.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    size = len(vocab)
    if sorted(vocab.values()) != list(range(size)):
        raise ValueError("the base vocabulary ids are not 0..V-1")
    extended = dict(vocab)
    for piece, idx in sorted(vocab.items(), key=lambda kv: kv[1]):
        for shape, variant in enumerate(_variants(piece), start=1):
            if variant is not None and variant not in extended:
                extended[variant] = shape * size + idx
    taken = set(extended.values())
    # Unused ids get names WordPiece can never produce (the pre-tokenizer splits off "[" and "]").
    extended.update({f"[case{i}]": i for i in range(SHAPES * size) if i not in taken})
    spec["model"]["vocab"] = extended
    spec["normalizer"] = {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": True,
        "strip_accents": True,
        "lowercase": False,
    }
    backend = Tokenizer.from_str(json.dumps(spec))
    return BertTokenizerFast(
        tokenizer_object=backend,
        do_lower_case=False,
        strip_accents=True,
        model_max_length=base.model_max_length,
        **{k: getattr(base, k) for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")},
    )


def is_cased(model: PreTrainedModel) -> bool:
    return int(getattr(model.config, CONFIG_KEY, 1) or 1) > 1


class CaseFactoredEmbedding(nn.Module):
    """Embedding of id = shape·V + base as word[base] + shape[shape]; trains like the uncased encoder."""

    def __init__(self, word: nn.Embedding, shape: nn.Embedding) -> None:
        super().__init__()
        self.word = word
        self.shape = shape
        self.base_vocab = word.num_embeddings

    @property
    def weight(self) -> torch.Tensor:
        return self.word.weight

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.word(input_ids % self.base_vocab) + self.shape(input_ids // self.base_vocab)

    def materialise(self) -> nn.Embedding:
        with torch.no_grad():
            rows = (self.shape.weight[:, None, :] + self.word.weight[None, :, :]).reshape(
                -1, self.word.embedding_dim
            )
        out = nn.Embedding(rows.shape[0], rows.shape[1], padding_idx=self.word.padding_idx)
        out.weight.data.copy_(rows)
        return out


def factor_embeddings(model: PreTrainedModel, base_vocab: int) -> None:
    """Swap the input embedding for a CaseFactoredEmbedding (exactly, if it was materialised before)."""
    current = cast(nn.Embedding, model.get_input_embeddings())
    dim = current.embedding_dim
    word = nn.Embedding(base_vocab, dim, padding_idx=current.padding_idx)
    shape = nn.Embedding(SHAPES, dim)
    with torch.no_grad():
        word.weight.copy_(current.weight[:base_vocab])
        if current.num_embeddings == SHAPES * base_vocab:
            rows = current.weight.reshape(SHAPES, base_vocab, dim)
            shape.weight.copy_((rows - rows[:1]).mean(dim=1))
        elif current.num_embeddings == base_vocab:
            shape.weight.zero_()
        else:
            raise ValueError(
                f"embedding has {current.num_embeddings} rows; expected {base_vocab} or x{SHAPES}"
            )
    model.set_input_embeddings(CaseFactoredEmbedding(word, shape).to(current.weight.device))


def word_embedding_weight(model: PreTrainedModel) -> torch.Tensor:
    """The per-piece embedding rows (the base rows when factored), e.g. to freeze them."""
    emb = model.get_input_embeddings()
    return emb.word.weight if isinstance(emb, CaseFactoredEmbedding) else cast(torch.Tensor, emb.weight)


def materialise_embeddings(model: PreTrainedModel) -> None:
    """Turn a factored embedding back into a plain one, so the model saves and exports as standard BERT."""
    emb = model.get_input_embeddings()
    if isinstance(emb, CaseFactoredEmbedding):
        model.set_input_embeddings(emb.materialise().to(emb.word.weight.device))
        model.config.vocab_size = emb.base_vocab * SHAPES
        setattr(model.config, CONFIG_KEY, SHAPES)
