"""Fine-tune a token classifier on (text, spans) gold: seeded, budgeted, early-stopped on dev F1."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    get_linear_schedule_with_warmup,
)

from include.core.labels import bio_tags
from include.workflows.training import casing
from include.workflows.training.dataset import IGNORE, OPEN, Encoded, LabeledText, encode
from include.workflows.training.evaluate import Metrics, score_client, torch_client
from include.workflows.training.sources import base_model_dir

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Hyper-parameters and budgets. max_steps / max_seconds stop training early, whatever the epochs."""

    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 1e-4
    max_length: int = 128
    max_steps: int | None = None
    max_seconds: float | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = 13
    patience: int = 2
    case_features: bool = True
    freeze_word_embeddings: bool = True
    o_weight: float = 1.0
    num_layers: int | None = None
    log_every: int = 25
    progress: bool = False
    device: str | None = None


@dataclass
class TrainResult:
    """Where the trained model was saved, and how the run went."""

    model_dir: Path
    steps: int
    epochs_run: float
    seconds: float
    first_loss: float
    last_loss: float
    best_dev_f1: float | None
    stopped_because: str
    history: list[dict] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _device(config: TrainConfig) -> torch.device:
    if config.device:
        return torch.device(config.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_for_training(
    labels: Sequence[str], config: TrainConfig, init_model_dir: Path | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """The model (classifier head for bio_tags(labels)) and tokenizer, cased per config."""
    source = Path(init_model_dir) if init_model_dir else base_model_dir()
    tags = bio_tags(tuple(labels))
    overrides = {"num_hidden_layers": config.num_layers} if config.num_layers else {}
    model_config = AutoConfig.from_pretrained(
        source,
        num_labels=len(tags),
        id2label=dict(enumerate(tags)),
        label2id={t: i for i, t in enumerate(tags)},
        **overrides,
    )
    model = AutoModelForTokenClassification.from_pretrained(
        source, config=model_config, ignore_mismatched_sizes=True
    )
    tokenizer = AutoTokenizer.from_pretrained(source)
    shapes = int(getattr(model_config, casing.CONFIG_KEY, 1) or 1)
    base_vocab = model_config.vocab_size // shapes
    if shapes > 1 or config.case_features:
        if shapes == 1:
            tokenizer = casing.cased_tokenizer(tokenizer)
        casing.factor_embeddings(model, base_vocab)
    return model, tokenizer


def _batches(items: list[Encoded], batch_size: int, rng: random.Random) -> list[list[Encoded]]:
    """Shuffled batches of similar length (less padding), in shuffled order."""
    order = list(range(len(items)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[Encoded]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(items[i].input_ids))
        batches += [[items[i] for i in part[j : j + batch_size]] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(batch: list[Encoded], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Padded inputs, labels and each text's loss weight."""
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        labels[row, :n] = torch.tensor(e.labels)
    weights = torch.tensor([e.weight for e in batch], dtype=torch.float32)
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "labels": labels.to(device),
        "weights": weights.to(device),
    }


def weighted_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    class_weight: torch.Tensor,
    open_tags: torch.Tensor | None = None,
) -> torch.Tensor:
    """Token cross-entropy, each token weighted by its class and its text's weight, normalised by the
    weights: with every text weighing 1 it equals `cross_entropy(weight=class_weight)`.

    An `OPEN` token counts only with `open_tags` (a bool per tag: O and the tags of the labels left open):
    its loss is -log of the probability of any open tag, and it weighs as an O. Without it, it is ignored.
    """
    flat = logits.reshape(-1, logits.shape[-1]).float()
    target = labels.reshape(-1)
    log_z = torch.logsumexp(flat, dim=-1)
    per_token = log_z - flat.gather(1, target.clamp(min=0)[:, None]).squeeze(1)
    valid = target >= 0
    if open_tags is not None:
        is_open = target == OPEN
        open_z = torch.logsumexp(flat.masked_fill(~open_tags[None, :], float("-inf")), dim=-1)
        per_token = torch.where(is_open, log_z - open_z, per_token)
        valid = valid | is_open
    per_token = per_token.reshape(labels.shape)
    valid = valid.reshape(labels.shape)
    token_weight = class_weight[labels.clamp(min=0)] * valid * weights[:, None]
    return (per_token * token_weight).sum() / token_weight.sum().clamp(min=1e-12)


def _dev_metrics(model, tokenizer, dev: Sequence[LabeledText], tags: list[str], max_length: int) -> Metrics:
    return score_client(torch_client(model, tokenizer, max_length), dev)


def _optimizer(model: PreTrainedModel, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW without decay on biases/norms/shape rows; word embeddings frozen by default (half the
    parameters: a much cheaper step on CPU, and rare test entities keep their pre-trained vectors)."""
    words = casing.word_embedding_weight(model)
    words.requires_grad_(not config.freeze_word_embeddings)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = ("bias", "LayerNorm.weight", "shape.weight")
    groups = [
        {
            "params": [p for n, p in named if not any(k in n for k in no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in named if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    try:
        return torch.optim.AdamW(groups, lr=config.learning_rate, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=config.learning_rate)


def train(
    train_examples: Sequence[LabeledText],
    out_dir: Path,
    labels: Sequence[str],
    config: TrainConfig | None = None,
    dev_examples: Sequence[LabeledText] | None = None,
    init_model_dir: Path | None = None,
    open_labels: Collection[str] = (),
) -> TrainResult:
    """Fine-tune from the base encoder, or continue from `init_model_dir` (a bundle's `model/` folder: the
    model in service), and save model + tokenizer to out_dir. Each text's loss counts by its weight; in a
    text's `unlabelled` ranges an O may also be one of `open_labels` (see `weighted_loss`)."""
    config = config or TrainConfig()
    if not train_examples:
        raise ValueError("no training examples")
    seed_everything(config.seed)
    device = _device(config)
    tags = bio_tags(tuple(labels))
    model, tokenizer = load_for_training(labels, config, init_model_dir)
    # transformers declares PreTrainedModel.to with @wraps(nn.Module.to), which hides the bound signature.
    model.to(device)  # type: ignore[arg-type]
    tag_index = {t: i for i, t in enumerate(tags)}
    encoded = [encode(tokenizer, e, tag_index, config.max_length) for e in train_examples]
    lost = sum(e.lost_spans for e in encoded)
    misaligned = sum(len(e.problems) for e in encoded)
    forced = sum(e.forced_splits for e in encoded)
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    log.info(
        "training on %d texts (%d spans lost to max_length %d, %d off unit edges, %d units split at "
        "span edges), %d tags, "
        "%d steps (%d/epoch), device %s, case features %s",
        len(encoded),
        lost,
        config.max_length,
        misaligned,
        forced,
        len(tags),
        total_steps,
        steps_per_epoch,
        device,
        casing.is_cased(model) or config.case_features,
    )
    optimizer = _optimizer(model, config)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), max(total_steps, 1)
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    class_weight = torch.ones(len(tags), device=device)
    class_weight[tag_index["O"]] = config.o_weight
    open_tags = (
        torch.tensor([t == "O" or t.split("-", 1)[1] in open_labels for t in tags], device=device)
        if open_labels
        else None
    )
    rng = random.Random(config.seed)
    pad_id = tokenizer.pad_token_id or 0
    history: list[dict] = []
    losses: list[float] = []
    best_f1: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs = 0
    step = 0
    stopped = "epochs done"
    started = time.monotonic()
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, unit="step", desc="training")
    window: list[float] = []
    for epoch in range(1, config.epochs + 1):
        model.train()
        for batch in _batches(encoded, config.batch_size, rng):
            inputs = _collate(batch, pad_id, device)
            labels_t = inputs.pop("labels")
            weights_t = inputs.pop("weights")
            logits = model(**inputs).logits
            loss = weighted_loss(logits, labels_t, weights_t, class_weight, open_tags)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(loss.item())
            window.append(losses[-1])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}", epoch=epoch)
            if step % config.log_every == 0:
                elapsed = time.monotonic() - started
                log.info(
                    "step %d/%d epoch %d loss %.4f (%.2f steps/s, %.1f texts/s)",
                    step,
                    total_steps,
                    epoch,
                    sum(window) / len(window),
                    step / elapsed,
                    step * config.batch_size / elapsed,
                )
                window = []
            if step >= total_steps:
                stopped = "max_steps reached" if config.max_steps and step >= config.max_steps else stopped
                break
            if config.max_seconds is not None and time.monotonic() - started > config.max_seconds:
                stopped = f"time budget {config.max_seconds:.0f}s reached"
                break
        record = {"epoch": epoch, "step": step, "seconds": round(time.monotonic() - started, 1)}
        if dev_examples:
            metrics = _dev_metrics(model, tokenizer, dev_examples, tags, config.max_length)
            record["dev_f1"] = round(metrics.f1, 4)
            log.info(
                "epoch %d: dev F1 %.4f (P %.4f R %.4f)", epoch, metrics.f1, metrics.precision, metrics.recall
            )
            if best_f1 is None or metrics.f1 > best_f1:
                best_f1, bad_epochs = metrics.f1, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
        history.append(record)
        if step >= total_steps or stopped.startswith("time budget"):
            break
        if dev_examples and bad_epochs >= config.patience:
            stopped = f"early stop: dev F1 did not improve for {bad_epochs} epoch(s)"
            break
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    seconds = time.monotonic() - started
    out_dir = Path(out_dir)
    save_model(model, tokenizer, out_dir)
    result = TrainResult(
        model_dir=out_dir,
        steps=step,
        epochs_run=round(step / steps_per_epoch, 2),
        seconds=round(seconds, 1),
        first_loss=float(np.mean(losses[: max(1, min(10, len(losses) // 4))])),
        last_loss=float(np.mean(losses[-max(1, min(10, len(losses) // 4)) :])),
        best_dev_f1=best_f1,
        stopped_because=stopped,
        history=history,
        losses=[round(x, 5) for x in losses],
    )
    (out_dir / "training.json").write_text(
        json.dumps(
            {"config": asdict(config), "labels": list(labels), "result": asdict(result)},
            indent=2,
            default=str,
        )
    )
    log.info(
        "trained %d steps in %.1fs (%.2f steps/s): %s; loss %.4f → %.4f; best dev F1 %s; saved to %s",
        step,
        seconds,
        step / max(seconds, 1e-9),
        stopped,
        result.first_loss,
        result.last_loss,
        "n/a" if best_f1 is None else f"{best_f1:.4f}",
        out_dir,
    )
    return result


def save_model(model, tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    """Save as a standard transformers folder (case embedding materialised); training can resume from it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    casing.materialise_embeddings(model)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
