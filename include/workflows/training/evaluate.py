"""Entity-level scores per label through the serving decode path (NerClient), and the promotion gate.

A model is scored the way it serves: texts → word units (or a corpus's own tokens) → tokens → logits →
spans (include/adapters/ner/client.py), then exact span match against gold per label and micro-averaged. On a
corpus's own tokens this is conlleval's entity-level exact match (tests/unit/test_training_evaluate.py
checks it against seqeval). A bundle is scored through its exported ONNX with the serving session builder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from include.adapters.ner.client import NerClient
from include.adapters.ner.tokenizer import BundleTokenizer
from include.core.bundle.format import Bundle
from include.core.settings import NerSettings
from include.core.spans import Span
from include.workflows.training.dataset import LabeledText

SERVING_MAX_LENGTH: int = NerSettings.model_fields["ner_max_length"].default


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


class TorchBackend:
    """An in-memory transformers token classifier as an inference backend (eval mode, no grad)."""

    name = "torch"

    def __init__(self, model, device: str | None = None) -> None:
        self.model = model
        self.device = device or next(model.parameters()).device

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self.model(
                input_ids=torch.as_tensor(input_ids, device=self.device),
                attention_mask=torch.as_tensor(attention_mask, device=self.device),
            )
        self.model.train(was_training)
        return out.logits.float().cpu().numpy()


def _stride(max_length: int) -> int:
    """The serving stride (32 tokens), or less when short windows leave no room for it."""
    return min(32, max(0, (max_length - 2) // 2))


def torch_client(model, tokenizer, max_length: int = 128) -> NerClient:
    """A NerClient over an in-memory model and its transformers fast tokenizer."""
    tags = [model.config.id2label[i] for i in range(model.config.num_labels)]
    bundle_tokenizer = BundleTokenizer.from_tokenizer(tokenizer.backend_tokenizer)
    if tokenizer.pad_token_id is not None:
        bundle_tokenizer = replace(bundle_tokenizer, pad_id=tokenizer.pad_token_id)
    backend = TorchBackend(model)
    return NerClient.for_model(
        bundle_tokenizer, tags, backend, max_length=max_length, stride=_stride(max_length)
    )


def onnx_client(
    onnx_path: Path, tokenizer_dir: Path, tags: Sequence[str], max_length: int = SERVING_MAX_LENGTH
) -> NerClient:
    """A NerClient over an exported model.onnx not yet in a bundle (the gate's candidate), as served."""
    from include.adapters.ner.backends import OnnxRuntimeBackend

    return NerClient.for_model(
        BundleTokenizer.from_dir(tokenizer_dir),
        tags,
        OnnxRuntimeBackend(onnx_path),
        max_length=max_length,
        stride=_stride(max_length),
    )


def load_client(path: Path | Bundle, max_length: int = SERVING_MAX_LENGTH) -> NerClient:
    """The client for a bundle (its ONNX in ONNX Runtime, as served: a Bundle already read, or a bundle
    folder) or a trained model folder."""
    if isinstance(path, Bundle) or (Path(path) / "onnx" / "model.onnx").is_file():
        from include.adapters.ner.backends import OnnxRuntimeBackend
        from include.core.bundle.read import read_bundle

        bundle = path if isinstance(path, Bundle) else read_bundle(path)
        backend = OnnxRuntimeBackend(bundle.model_path)
        return NerClient(bundle, backend, max_length=max_length, stride=_stride(max_length), warmup=False)
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(path)
    return torch_client(model, AutoTokenizer.from_pretrained(path), max_length)


def predict_spans(client: NerClient, examples: Sequence[LabeledText]) -> list[list[Span]]:
    """Predicted spans per example, on the example's own units when it has them."""
    units = [e.units for e in examples]
    return client.predict([e.text for e in examples], units if any(u is not None for u in units) else None)


def score_spans(gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> Metrics:
    """Exact-match entity scores: a prediction counts when start, end and label all equal a gold span."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold texts but {len(predicted)} predicted")
    true_pos: Counter[str] = Counter()
    support: Counter[str] = Counter()
    guessed: Counter[str] = Counter()
    for gold_spans, pred_spans in zip(gold, predicted, strict=True):
        g = {(s.start, s.end, s.label) for s in gold_spans}
        p = {(s.start, s.end, s.label) for s in pred_spans}
        support.update(label for _, _, label in g)
        guessed.update(label for _, _, label in p)
        true_pos.update(label for _, _, label in g & p)
    per_label = {
        label: _label_score(true_pos[label], guessed[label], support[label])
        for label in sorted(set(support) | set(guessed))
    }
    micro = _label_score(sum(true_pos.values()), sum(guessed.values()), sum(support.values()))
    return Metrics(
        micro.precision, micro.recall, micro.f1, per_label, examples=len(gold), entities=micro.support
    )


def _label_score(true_pos: int, guessed: int, support: int) -> LabelScore:
    precision = true_pos / guessed if guessed else 0.0
    recall = true_pos / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return LabelScore(precision, recall, f1, support)


def score_client(client: NerClient, examples: Sequence[LabeledText]) -> Metrics:
    return score_spans([e.spans for e in examples], predict_spans(client, examples))


def evaluate(
    model_or_bundle: Path, examples: Sequence[LabeledText], max_length: int = SERVING_MAX_LENGTH
) -> Metrics:
    """Scores of a bundle (through its ONNX) or a model folder on examples, e.g. one split of the gold."""
    return score_client(load_client(Path(model_or_bundle), max_length), examples)


def paired_f1_resamples(
    gold: Sequence[Sequence[Span]],
    first: Sequence[Sequence[Span]],
    second: Sequence[Sequence[Span]],
    samples: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Micro F1 of two models' predictions on `samples` bootstrap resamples of the texts, paired: both are
    scored on the same resample, so the spread of their difference is the texts' noise, not the models'."""
    n = len(gold)
    if n == 0:
        return np.zeros(samples), np.zeros(samples)

    def counts(predicted: Sequence[Sequence[Span]]) -> np.ndarray:
        rows = []
        for g_spans, p_spans in zip(gold, predicted, strict=True):
            g = {(s.start, s.end, s.label) for s in g_spans}
            p = {(s.start, s.end, s.label) for s in p_spans}
            rows.append((len(g & p), len(p), len(g)))
        return np.asarray(rows, dtype=np.float64)

    picks = np.random.default_rng(seed).integers(0, n, size=(samples, n))

    def f1(table: np.ndarray) -> np.ndarray:
        tp, guessed, support = (table[:, k][picks].sum(axis=1) for k in range(3))
        denominator = guessed + support
        return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)

    return f1(counts(first)), f1(counts(second))


def regression_probability(
    gold: Sequence[Sequence[Span]],
    candidate: Sequence[Sequence[Span]],
    served: Sequence[Sequence[Span]],
    tolerance: float = 0.0,
    samples: int = 2000,
    seed: int = 0,
) -> float:
    """How sure the held-out texts are that the candidate is worse: the share of bootstrap resamples of the
    texts (paired: both models on the same resample) in which its F1 is below the served model's minus
    `tolerance`. On a handful of texts a lower F1 is often noise; on hundreds it is not."""
    if not gold:
        return 0.0
    new, old = paired_f1_resamples(gold, candidate, served, samples, seed)
    return float(np.mean(new < old - tolerance))


REGRESSION_CONFIDENCE = 0.9
"""A candidate below the served model's F1 − tolerance is refused only when the held-out texts are at least
this sure of it (`regression_probability`); below that, the difference is within their noise."""


def promotion_gate(
    new_f1: float,
    current_f1: float | None,
    tolerance: float = 0.0,
    regression_p: float | None = None,
    confidence: float = REGRESSION_CONFIDENCE,
) -> tuple[bool, str]:
    """Promote when there is no model in service, or the new F1 is no worse than current − tolerance, or
    (given `regression_p`) the held-out texts are less than `confidence` sure that it is worse."""
    if current_f1 is None:
        return True, f"no model in service; first model passes (F1 {new_f1:.4f})"
    floor = current_f1 - tolerance
    if new_f1 >= floor:
        return True, f"F1 {new_f1:.4f} >= {current_f1:.4f} - {tolerance:.4f}"
    if regression_p is not None and regression_p < confidence:
        return True, (
            f"F1 {new_f1:.4f} < {current_f1:.4f} - {tolerance:.4f}, within the held-out set's noise "
            f"(worse in {regression_p:.0%} of paired resamples < {confidence:.0%})"
        )
    said = f", worse in {regression_p:.0%} of paired resamples" if regression_p is not None else ""
    return False, f"F1 {new_f1:.4f} < {current_f1:.4f} - {tolerance:.4f} (in service){said}"
