"""freeze_word_embeddings is honoured by train(): frozen word rows come out bit-identical, others move."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTokenClassification

from include.core.labels import DEFAULT_LABELS
from include.workflows.training.sources import base_model_dir
from include.workflows.training.synthetic import synthetic_gold
from include.workflows.training.train import TrainConfig, train

STEPS = TrainConfig(
    epochs=1, batch_size=8, learning_rate=1e-3, max_length=32, num_layers=1, max_steps=2, case_features=False
)


def weights(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
    model = AutoModelForTokenClassification.from_pretrained(
        folder, num_labels=17, ignore_mismatched_sizes=True
    )
    bert = model.bert
    return bert.embeddings.word_embeddings.weight.detach(), bert.encoder.layer[0].output.dense.weight.detach()


@pytest.mark.parametrize("frozen", [True, False])
def test_word_rows_are_frozen_only_when_asked(tmp_path: Path, frozen: bool) -> None:
    torch.set_num_threads(1)
    base_words, base_layer = weights(base_model_dir())
    out = train(
        synthetic_gold(16, seed=2),
        tmp_path / "m",
        DEFAULT_LABELS,
        replace(STEPS, freeze_word_embeddings=frozen),
    )
    assert out.steps == 2
    words, layer = weights(out.model_dir)
    assert torch.equal(words, base_words) is frozen
    assert not torch.equal(layer, base_layer)
