"""The factored case embedding trains like the uncased one and materialises into a plain BERT exactly."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification, BertConfig, BertForTokenClassification

from include.workflows.training import casing

VOCAB = 50


def tiny_model() -> BertForTokenClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
    )
    return BertForTokenClassification(config).eval()


def logits(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


def test_a_fresh_factored_model_ignores_shape_until_trained() -> None:
    model = tiny_model()
    lower = torch.tensor([[1, 7, 9, 2]])
    before = logits(model, lower)
    casing.factor_embeddings(model, VOCAB)
    shaped = lower + torch.tensor([[0, VOCAB, 2 * VOCAB, 0]])
    assert torch.allclose(logits(model, lower), before, atol=1e-6)
    assert torch.allclose(logits(model, shaped), before, atol=1e-6)


def test_materialised_model_saves_as_plain_bert_with_the_same_outputs(tmp_path: Path) -> None:
    model = tiny_model()
    casing.factor_embeddings(model, VOCAB)
    with torch.no_grad():
        model.get_input_embeddings().shape.weight.normal_()
    ids = torch.tensor([[1, 7 + VOCAB, 9 + 2 * VOCAB, 2]])
    factored = logits(model, ids)
    casing.materialise_embeddings(model)
    assert model.config.vocab_size == casing.SHAPES * VOCAB
    model.save_pretrained(tmp_path)
    loaded = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert isinstance(loaded.get_input_embeddings(), torch.nn.Embedding)
    assert casing.is_cased(loaded)
    assert torch.allclose(logits(loaded, ids), factored, atol=1e-5)
    casing.factor_embeddings(loaded, VOCAB)
    assert torch.allclose(logits(loaded, ids), factored, atol=1e-5)
