"""Entity-level precision/recall/F1 per label (seqeval) for a model folder or an ONNX bundle; the gate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from seqeval.metrics import classification_report
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from include.training.dataset import Encoded, LabeledText, encode

Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(input_ids, attention_mask) int64 [batch, seq] → logits float [batch, seq, tags]."""


@dataclass
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Metrics:
    """Micro-averaged entity scores, per-label scores, and how many texts and entities were scored."""

    precision: float
    recall: float
    f1: float
    per_label: dict[str, LabelScore] = field(default_factory=dict)
    examples: int = 0
    entities: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def torch_predictor(model, device: str | None = None) -> Predictor:
    """A predictor over an in-memory transformers token classifier (eval mode, no grad)."""
    import torch

    dev = device or next(model.parameters()).device

    def predict(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            out = model(
                input_ids=torch.as_tensor(input_ids, device=dev),
                attention_mask=torch.as_tensor(attention_mask, device=dev),
            )
        return out.logits.float().cpu().numpy()

    return predict


def onnx_predictor(path: Path, threads: int | None = None) -> Predictor:
    """A predictor over an ONNX token classifier with inputs input_ids, attention_mask → logits."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def predict(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]

    return predict


def load_predictor(path: Path) -> tuple[Predictor, PreTrainedTokenizerFast, list[str]]:
    """Predictor, tokenizer and tags of a bundle folder (ONNX) or a trained model folder (torch)."""
    path = Path(path)
    if (path / "onnx" / "model.onnx").is_file():
        from include.training.bundle import load_bundle

        info = load_bundle(path)
        return onnx_predictor(info.onnx_path), AutoTokenizer.from_pretrained(info.tokenizer_dir), info.tags
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(path)
    tags = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return torch_predictor(model), AutoTokenizer.from_pretrained(path), tags


def _batch(items: Sequence[Encoded], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(e.input_ids) for e in items)
    ids = np.full((len(items), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(items), width), dtype=np.int64)
    for row, e in enumerate(items):
        ids[row, : len(e.input_ids)] = e.input_ids
        mask[row, : len(e.input_ids)] = 1
    return ids, mask


def predict_word_tags(
    predictor: Predictor,
    tokenizer: PreTrainedTokenizerFast,
    examples: Sequence[LabeledText],
    tags: Sequence[str],
    max_length: int = 128,
    batch_size: int = 32,
) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) BIO tags per word; a word's prediction is its first sub-token's argmax."""
    tag_index = {t: i for i, t in enumerate(tags)}
    encoded = [encode(tokenizer, e, tag_index, max_length) for e in examples]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    predicted: list[list[str]] = [[] for _ in encoded]
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, mask = _batch([encoded[i] for i in rows], tokenizer.pad_token_id or 0)
        best = predictor(ids, mask).argmax(-1)
        for r, i in enumerate(rows):
            first = encoded[i].words.first_token[: encoded[i].visible_words]
            predicted[i] = [tags[int(best[r, t])] for t in first]
    gold = [e.word_tags for e in encoded]
    # Words cut off by truncation are still gold; unseen, they count as predicted O.
    for e, p in zip(encoded, predicted, strict=True):
        p.extend(["O"] * (len(e.word_tags) - len(p)))
    return gold, predicted


def score(gold: list[list[str]], predicted: list[list[str]]) -> Metrics:
    """seqeval entity-level scores (default conlleval-style matching), micro average and per label."""
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    per_label = {
        name: LabelScore(row["precision"], row["recall"], row["f1-score"], int(row["support"]))
        for name, row in report.items()
        if not name.endswith(" avg")
    }
    return Metrics(
        precision=float(micro["precision"]),
        recall=float(micro["recall"]),
        f1=float(micro["f1-score"]),
        per_label=per_label,
        examples=len(gold),
        entities=int(micro["support"]),
    )


def evaluate(
    model_or_bundle: Path,
    examples: Sequence[LabeledText],
    max_length: int = 128,
    batch_size: int = 32,
) -> Metrics:
    """Scores of a model folder or bundle folder on examples (e.g. one split of the gold set)."""
    predictor, tokenizer, tags = load_predictor(Path(model_or_bundle))
    return score(*predict_word_tags(predictor, tokenizer, examples, tags, max_length, batch_size))


def promotion_gate(new_f1: float, current_f1: float | None, tolerance: float = 0.0) -> tuple[bool, str]:
    """Promote when there is no model in service, or the new F1 is no worse than current − tolerance."""
    if current_f1 is None:
        return True, f"no model in service; first model passes (F1 {new_f1:.4f})"
    floor = current_f1 - tolerance
    if new_f1 >= floor:
        return True, f"F1 {new_f1:.4f} >= {current_f1:.4f} - {tolerance:.4f}"
    return False, f"F1 {new_f1:.4f} < {current_f1:.4f} - {tolerance:.4f} (in service)"
