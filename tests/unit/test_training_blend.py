"""Blending toward the model in service: the arithmetic, the refusal of mismatched weights, and the choice
of the largest alpha that loses no label (weights written back only for a blend that is kept)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from include.workflows.training.blend import (
    WEIGHTS_FILE,
    choose_blend,
    guarded_labels,
    interpolate,
    largest_drop,
)
from include.workflows.training.evaluate import LabelScore, Metrics


def metrics(**f1: float) -> Metrics:
    return Metrics(0.0, 0.0, 0.0, {k: LabelScore(v, v, v, 10) for k, v in f1.items()})


def folder(path: Path, value: float) -> Path:
    path.mkdir()
    save_file({"w": torch.full((2, 2), value), "steps": torch.tensor([7])}, path / WEIGHTS_FILE)
    (path / "config.json").write_text("{}")
    return path


def test_interpolate_moves_floats_from_served_toward_trained_and_keeps_integers() -> None:
    served = {"w": torch.zeros(3), "ids": torch.tensor([1, 2])}
    trained = {"w": torch.full((3,), 4.0), "ids": torch.tensor([5, 6])}
    blended = interpolate(served, trained, 0.25)
    assert torch.equal(blended["w"], torch.full((3,), 1.0))
    assert torch.equal(blended["ids"], trained["ids"])
    assert torch.equal(interpolate(served, trained, 1.0)["w"], trained["w"])


def test_interpolate_refuses_weights_of_another_shape_or_name() -> None:
    with pytest.raises(ValueError, match="shape"):
        interpolate({"w": torch.zeros(2)}, {"w": torch.zeros(3)}, 0.5)
    with pytest.raises(ValueError, match="names"):
        interpolate({"w": torch.zeros(2)}, {"v": torch.zeros(2)}, 0.5)


def test_largest_drop_counts_only_labels_that_fell_and_a_missing_label_as_zero() -> None:
    served = metrics(PERSON=0.80, DATE=0.90)
    assert largest_drop(metrics(PERSON=0.85, DATE=0.89), served) == pytest.approx(0.01)
    assert largest_drop(metrics(PERSON=0.85), served) == pytest.approx(0.90)
    assert largest_drop(metrics(PERSON=0.9, DATE=0.95), served) == 0.0


def test_the_largest_alpha_that_loses_no_label_is_kept_and_written(tmp_path: Path) -> None:
    trained, served = folder(tmp_path / "trained", 1.0), folder(tmp_path / "served", 0.0)
    in_service = metrics(PERSON=0.80)

    def score(path: Path) -> Metrics:  # the further from the served weights, the more PERSON is lost
        w = float(load_file(path / WEIGHTS_FILE)["w"][0, 0])
        return metrics(PERSON=0.80 - 0.05 * w)

    coarse = choose_blend(
        trained, served, score, in_service, tolerance=0.03, alphas=(1.0, 0.75, 0.5, 0.25), refine=0
    )
    assert coarse.alpha == 0.5
    assert list(coarse.drops) == [1.0, 0.75, 0.5]
    assert torch.equal(load_file(trained / WEIGHTS_FILE)["w"], torch.full((2, 2), 0.5))
    assert not (tmp_path / "trained.blend").exists()


def test_between_a_failed_and_a_kept_alpha_the_interval_is_halved(tmp_path: Path) -> None:
    trained, served = folder(tmp_path / "trained", 1.0), folder(tmp_path / "served", 0.0)

    def score(path: Path) -> Metrics:  # PERSON stays within 0.03 up to alpha 0.6
        return metrics(PERSON=0.80 - 0.05 * float(load_file(path / WEIGHTS_FILE)["w"][0, 0]))

    choice = choose_blend(
        trained, served, score, metrics(PERSON=0.80), tolerance=0.03, alphas=(1.0, 0.75, 0.5)
    )
    # 0.625 loses 0.031, 0.5625 keeps PERSON: the largest alpha found within the tolerance.
    assert list(choice.drops) == [1.0, 0.75, 0.5, 0.625, 0.5625]
    assert choice.alpha == 0.5625
    assert torch.allclose(load_file(trained / WEIGHTS_FILE)["w"], torch.full((2, 2), 0.5625))
    assert {p.name for p in tmp_path.iterdir()} == {"served", "trained"}


def test_trained_weights_stay_when_they_lose_nothing_or_when_no_blend_helps(tmp_path: Path) -> None:
    trained, served = folder(tmp_path / "trained", 1.0), folder(tmp_path / "served", 0.0)
    assert (
        choose_blend(trained, served, lambda _: metrics(PERSON=0.9), metrics(PERSON=0.8), 0.02).alpha == 1.0
    )
    hopeless = choose_blend(trained, served, lambda _: metrics(PERSON=0.1), metrics(PERSON=0.8), 0.02)
    assert hopeless.alpha == 1.0 and list(hopeless.drops) == [1.0, 0.75, 0.5, 0.25, 0.125, 0.0625]
    assert torch.equal(load_file(trained / WEIGHTS_FILE)["w"], torch.ones(2, 2))


def test_when_no_alpha_of_the_list_passes_the_interval_down_to_the_served_weights_is_halved(
    tmp_path: Path,
) -> None:
    trained, served = folder(tmp_path / "trained", 1.0), folder(tmp_path / "served", 0.0)

    def score(path: Path) -> Metrics:  # EMAIL stays within 0.02 up to alpha 0.16
        return metrics(EMAIL=0.96 - 0.125 * float(load_file(path / WEIGHTS_FILE)["w"][0, 0]))

    choice = choose_blend(trained, served, score, metrics(EMAIL=0.96), tolerance=0.02)
    # 0.25 loses 0.031; 0.125 keeps EMAIL (0.016), 0.1875 loses 0.023: 0.125 is kept and written.
    assert list(choice.drops) == [1.0, 0.75, 0.5, 0.25, 0.125, 0.1875]
    assert choice.alpha == 0.125
    assert torch.allclose(load_file(trained / WEIGHTS_FILE)["w"], torch.full((2, 2), 0.125))
    assert {p.name for p in tmp_path.iterdir()} == {"served", "trained"}


def test_only_labels_the_smes_retaught_may_move_on_the_bootstrap_set() -> None:
    labels = ["PERSON", "ORG", "DATE", "PHONE"]
    sme = {"PERSON", "ORG", "PHONE"}
    # The served model on the SME gold: it reads PERSON differently from the SMEs (re-taught), ORG and
    # PHONE as they do (the SMEs confirmed it); DATE has no SME gold.
    served_on_gold = metrics(PERSON=0.30, ORG=0.95, PHONE=0.97)
    assert guarded_labels(labels, sme, served_on_gold) == {"ORG", "DATE", "PHONE"}
    assert guarded_labels(labels, sme, None) == set(labels)


def test_a_blend_ignores_drops_of_labels_that_are_not_guarded(tmp_path: Path) -> None:
    trained, served = folder(tmp_path / "trained", 1.0), folder(tmp_path / "served", 0.0)
    in_service = metrics(PERSON=0.80, DATE=0.90)
    choice = choose_blend(
        trained, served, lambda _: metrics(PERSON=0.50, DATE=0.90), in_service, 0.02, guarded={"DATE"}
    )
    assert choice.alpha == 1.0 and choice.drops == {1.0: 0.0}
    assert choice.to_dict()["guarded"] == ["DATE"]
    assert largest_drop(metrics(PERSON=0.5, DATE=0.85), in_service, {"DATE"}) == pytest.approx(0.05)


def test_without_a_blend_for_every_guarded_label_the_labels_the_gate_guards_are_kept(tmp_path: Path) -> None:
    trained, served = folder(tmp_path / "trained", 1.0), folder(tmp_path / "served", 0.0)
    in_service = metrics(PERSON=0.80, MONEY=1.00)

    def score(path: Path) -> Metrics:  # PERSON is lost at any alpha, MONEY only far from the served weights
        w = float(load_file(path / WEIGHTS_FILE)["w"][0, 0])
        return metrics(PERSON=0.50, MONEY=1.00 - 0.05 * w)

    choice = choose_blend(
        trained, served, score, in_service, 0.02, guarded={"PERSON", "MONEY"}, required={"MONEY"}
    )
    assert choice.alpha == 0.25
    assert choice.required_drops[0.25] == pytest.approx(0.0125)
    assert torch.equal(load_file(trained / WEIGHTS_FILE)["w"], torch.full((2, 2), 0.25))
    assert not (tmp_path / "trained.required").exists()
