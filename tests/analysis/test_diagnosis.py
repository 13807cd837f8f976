"""Diagnosis of training curves: the labelled real runs, each rule, the advice, the records."""

from __future__ import annotations

import collections
import dataclasses
import doctest
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hyperknob
from hyperknob import FrozenTrial, TrialState
from hyperknob.analysis import _diagnosis, _diagnosis_advice, _diagnosis_rules
from hyperknob.analysis._diagnosis import (
    INFLUENCE,
    Diagnosis,
    Pathology,
    diagnose_curves,
    diagnose_study,
    diagnose_trial,
)

RUNS_FILE = Path(__file__).parent / "data" / "labelled_runs.json"


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(RUNS_FILE.read_text(encoding="utf-8"))
    return data


def diagnose_run(run: dict[str, Any], **kwargs: Any) -> Diagnosis:
    curves = run["curves"]
    return diagnose_curves(curves["train_loss"], curves["val_loss"], curves["val_metric"],
                           stop_reason=run["stop_reason"],
                           metric_higher_is_better=run["metric"] == "accuracy", **kwargs)


def as_trial(number: int, run: dict[str, Any]) -> FrozenTrial:
    state = TrialState.PRUNED if run["stop_reason"] in ("diverged", "stopped") else (
        TrialState.COMPLETE)
    return FrozenTrial(number=number, trial_id=number, state=state, user_attrs={
        "curves": run["curves"], "config": run["config"], "stop_reason": run["stop_reason"]})


# -- (a) the labelled set of real runs ------------------------------------------------------


def test_the_labelled_set_covers_every_pathology(runs: list[dict[str, Any]]) -> None:
    labels = collections.Counter(run["label"] for run in runs)
    assert set(labels) == {p.value for p in Pathology}
    assert min(labels.values()) >= 8 and len(runs) >= 48, labels
    assert len({run["id"] for run in runs}) == len(runs)
    assert len({run["dataset"].split("[")[0] for run in runs}) >= 6
    for run in runs:
        assert set(run) >= {"id", "label", "why", "dataset", "config", "curves", "stop_reason"}
        assert set(run["curves"]) == {"train_loss", "val_loss", "val_metric"}
        assert len(run["curves"]["train_loss"]) == len(run["curves"]["val_loss"]) >= 1


def _score(runs: list[dict[str, Any]], **kwargs: Any) -> tuple[float, dict[str, float], str]:
    hits: collections.Counter[str] = collections.Counter()
    totals: collections.Counter[str] = collections.Counter()
    misses = []
    for run in runs:
        got = diagnose_run(run, **kwargs).pathology.value
        totals[run["label"]] += 1
        hits[run["label"]] += got == run["label"]
        if got != run["label"]:
            misses.append(f"{run['id']}: labelled {run['label']}, diagnosed {got}")
    recall = {label: hits[label] / totals[label] for label in totals}
    report = (f"accuracy {sum(hits.values())}/{len(runs)}; recall " + ", ".join(
        f"{label} {hits[label]}/{totals[label]}" for label in sorted(totals))
        + "; misses: " + ("; ".join(misses) or "none"))
    return sum(hits.values()) / len(runs), recall, report


def test_accuracy_on_the_labelled_runs(runs: list[dict[str, Any]]) -> None:
    accuracy, recall, report = _score(runs)
    assert accuracy >= 0.9, report
    assert min(recall.values()) >= 0.75, report
    # The held-out runs were labelled after the thresholds were frozen: the honest estimate.
    holdout = [run for run in runs if run.get("split") == "holdout"]
    assert len(holdout) >= 24
    accuracy, _, report = _score(holdout)
    assert accuracy >= 0.9, "holdout: " + report


def test_knowing_the_chance_level_keeps_the_accuracy(runs: list[dict[str, Any]]) -> None:
    def chance(run: dict[str, Any]) -> float:
        return math.log(run["n_classes"]) if run["n_classes"] else 1.0  # standardized MSE

    hits = sum(diagnose_run(run, chance_loss=chance(run)).pathology.value == run["label"]
               for run in runs)
    assert hits / len(runs) >= 0.9


def test_a_study_of_the_labelled_runs_agrees_with_the_curves(
        runs: list[dict[str, Any]]) -> None:
    trials = [as_trial(i, run) for i, run in enumerate(runs)]
    diagnoses = diagnose_study(trials)
    assert sorted(diagnoses) == list(range(len(runs)))
    for i, run in enumerate(runs):
        assert diagnoses[i].pathology == diagnose_run(run).pathology, run["id"]
        assert diagnoses[i].knobs == INFLUENCE[diagnoses[i].pathology]
        assert diagnoses[i].advice
        json.dumps(diagnoses[i].to_dict(), allow_nan=False)


# -- (b) each rule, on synthetic curves -----------------------------------------------------


CONVERGED_TRAIN = [1.1 * 0.7**i for i in range(20)]
CONVERGED_VAL = [1.0 * 0.7**i + 0.05 for i in range(20)]


def test_healthy_curves() -> None:
    d = diagnose_curves(CONVERGED_TRAIN, CONVERGED_VAL, [0.5 + 0.02 * i for i in range(20)])
    assert d.pathology is Pathology.HEALTHY
    assert d.knobs == ()
    assert d.evidence["val_metric_best"] == pytest.approx(0.88)
    assert "Nothing to fix" in d.advice


@pytest.mark.parametrize("train, val, stop_reason, epoch", [
    ([2.3], [None], "diverged", 0),  # the trainer stopped it in the first epoch
    ([2.3, 1.5, math.nan], [2.0, 1.4, math.nan], None, 2),  # a NaN loss
    ([2.3, 1.5, None], [2.0, 1.4, None], None, 2),  # the trainer stores None for NaN/inf
    ([2.3, 1.5, math.inf], [2.0, 1.4, 1.3], None, 2),
    ([2.3, 1.5, 40.0], [2.0, 1.4, 30.0], None, 2),  # 17x the first epoch: exploded
    ([2.3, 1.5, 1.2], [2.0, 1.4, None], None, 2),  # the validation loss blew up
])
def test_diverged(train: list[float | None], val: list[float | None], stop_reason: str | None,
                  epoch: int) -> None:
    d = diagnose_curves(train, val, stop_reason=stop_reason)
    assert d.pathology is Pathology.DIVERGED
    assert d.evidence["epoch"] == epoch
    assert d.knobs[0] == "learning_rate" and "init" in d.knobs
    assert "learning rate" in d.advice
    assert all(math.isfinite(v) for v in d.evidence.values())


def test_an_explosion_is_measured_against_the_chance_level_when_known() -> None:
    train, val = [5.0, 30.0, 20.0, 10.0], [4.0, 25.0, 15.0, 8.0]
    d = diagnose_curves(train, val, chance_loss=1.1)
    assert d.pathology is Pathology.DIVERGED
    assert d.evidence["start_loss"] == 1.1 and d.evidence["epoch"] == 1
    assert d.evidence["factor"] == pytest.approx(30 / 1.1)
    # Without it, 30 is 6x the first epoch's 5: bad, but not past the trainer's 10x.
    assert diagnose_curves(train, val).pathology is not Pathology.DIVERGED


def test_unstable_oscillation() -> None:
    train = [1.0, 0.5, 0.8, 0.4, 0.7, 0.35, 0.6, 0.3, 0.55, 0.3]
    val = [0.9, 0.6, 0.9, 0.5, 0.8, 0.45, 0.8, 0.4, 0.7, 0.4]
    d = diagnose_curves(train, val)
    assert d.pathology is Pathology.UNSTABLE
    assert d.evidence["train_swings"] == 4 and d.evidence["val_swings"] == 4
    assert d.evidence["largest_swing"] == pytest.approx(0.35)
    assert d.knobs[:2] == ("learning_rate", "batch_size")


def test_jitter_of_a_converged_loss_is_not_unstable() -> None:
    val = [0.5, 0.2, 0.1, 0.05, 0.08, 0.05, 0.08, 0.05, 0.08, 0.05, 0.08]  # +-3% of 1.0
    train = [1.0, 0.3, 0.12] + [0.06 - 0.001 * i for i in range(8)]
    assert diagnose_curves(train, val).pathology is Pathology.HEALTHY


def test_overfitting() -> None:
    train = [1.0, 0.5, 0.25, 0.12, 0.06, 0.03, 0.015, 0.008, 0.004, 0.002]
    val = [0.9, 0.6, 0.4, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    d = diagnose_curves(train, val, stop_reason="completed")
    assert d.pathology is Pathology.OVERFITTING
    assert d.evidence["epoch_of_min"] == 3 and d.evidence["val_loss_min"] == 0.35
    assert d.evidence["val_loss_end"] == 0.8  # median of the last three epochs
    assert d.evidence["rise"] == pytest.approx(0.8 / 0.4 - 1)  # above the smoothed low
    assert d.evidence["gap_end"] > d.evidence["gap_at_min"]
    assert "epoch 3" in d.summary and "0.35" in d.summary
    assert "dropout" in d.advice and "near epoch 3" in d.advice
    assert d.knobs[0] == "hidden_layers" and "patience" in d.knobs


def test_a_rise_of_both_losses_is_not_overfitting() -> None:
    # Regularization pulling both losses up after an early dip: flat and high, underfitting.
    train = [0.65, 0.56, 0.56, 0.57, 0.58, 0.6, 0.61, 0.62, 0.63, 0.63]
    val = [0.54, 0.53, 0.54, 0.55, 0.57, 0.59, 0.6, 0.61, 0.62, 0.62]
    assert diagnose_curves(train, val).pathology is Pathology.UNDERFITTING


def test_a_creeping_loss_near_zero_is_not_overfitting() -> None:
    train = [1.0, 0.3, 0.1, 0.03, 0.01, 0.005, 0.003, 0.002, 0.0015, 0.001]
    val = [0.7, 0.2, 0.05, 0.02, 0.016, 0.017, 0.018, 0.019, 0.02, 0.021]  # +30%, of 1.0
    assert diagnose_curves(train, val).pathology is Pathology.HEALTHY


def test_too_slow() -> None:
    train = [1.10 - 0.01 * i for i in range(30)]
    val = [1.08 - 0.01 * i for i in range(30)]
    d = diagnose_curves(train, val, stop_reason="completed")
    assert d.pathology is Pathology.TOO_SLOW
    assert d.evidence["late_share"] == pytest.approx(7 / 29)  # a straight line
    assert d.evidence["late_drop"] == pytest.approx(0.07)
    assert "when its epochs ran out" in d.summary
    assert d.knobs[0] == "learning_rate" and "epochs" in d.knobs
    # Stopped by a pruner while still improving: too slow, said so.
    stopped = diagnose_curves(train[:8], val[:8], stop_reason="stopped")
    assert stopped.pathology is Pathology.TOO_SLOW
    assert "when it was stopped" in stopped.summary
    # Early stopping means the validation loss stopped improving: not too slow.
    flat = [0.8] * 10
    assert diagnose_curves(flat, flat, stop_reason="early_stopping").pathology is not (
        Pathology.TOO_SLOW)


def test_underfitting() -> None:
    train = [1.2, 1.0, 0.9, 0.85] + [0.83] * 16
    val = [1.1, 0.95, 0.88, 0.86] + [0.85] * 16
    d = diagnose_curves(train, val)
    assert d.pathology is Pathology.UNDERFITTING
    assert d.evidence["level"] == pytest.approx(0.85 / 1.2)
    assert d.evidence["train_to_val"] == pytest.approx(0.83 / 0.85)
    assert d.knobs[:2] == ("hidden_layers", "activation")
    # Measured against chance when known: log(3) = 1.10 for three classes.
    chance = diagnose_curves(train, val, chance_loss=math.log(3))
    assert chance.evidence["level"] == pytest.approx(0.85 / math.log(3))


def test_a_generalization_gap_is_no_underfitting() -> None:
    # High-ish and flat, but the training loss is well below the validation loss: the model
    # fits its rows (a hard, noisy target such as diabetes), so no more capacity is called for.
    train = [0.9, 0.6, 0.5, 0.45, 0.42] + [0.40] * 15
    val = [0.7, 0.55, 0.5, 0.49, 0.48] + [0.48] * 15
    assert diagnose_curves(train, val).pathology is Pathology.HEALTHY


def test_a_regression_metric_lower_is_better() -> None:
    rmse = [80.0, 70.0, 64.0, 60.0, 58.0, 57.0, 56.5, 56.2, 56.0, 56.0]
    d = diagnose_curves(CONVERGED_TRAIN[:10], CONVERGED_VAL[:10], rmse,
                        metric_higher_is_better=False)
    assert d.evidence["val_metric_best"] == 56.0 and d.evidence["val_metric_last"] == 56.0
    up = diagnose_curves(CONVERGED_TRAIN[:10], CONVERGED_VAL[:10], rmse)
    assert up.evidence["val_metric_best"] == 80.0


def test_edge_cases_empty_short_and_missing() -> None:
    with pytest.raises(ValueError, match="without epochs"):
        diagnose_curves([], [])
    one = diagnose_curves([1.0], [0.9], [0.5])
    assert one.pathology is Pathology.HEALTHY and one.evidence["epochs"] == 1
    two = diagnose_curves([1.0, 0.6], [0.9, 0.5])
    assert two.pathology is Pathology.TOO_SLOW  # two epochs, still falling fast
    assert diagnose_curves([1.0, 0.99], [0.9, 0.9]).pathology is Pathology.HEALTHY
    # No validation curve at all: the rules fall back to the training loss.
    assert diagnose_curves([1.1 - 0.01 * i for i in range(20)], []).pathology is (
        Pathology.TOO_SLOW)
    # A metric with gaps, as the trainer stores it.
    gaps = diagnose_curves(CONVERGED_TRAIN, CONVERGED_VAL, [None, 0.5, float("nan")] + [0.9] * 17)
    assert gaps.evidence["val_metric_best"] == 0.9


def test_the_rules_are_pure_and_deterministic() -> None:
    train, val = list(CONVERGED_TRAIN), list(CONVERGED_VAL)
    first, second = diagnose_curves(train, val), diagnose_curves(train, val)
    assert first == second
    assert train == CONVERGED_TRAIN and val == CONVERGED_VAL


def test_pathologies_and_the_influence_table() -> None:
    from hyperknob.nn import MLPConfig

    assert [p.value for p in Pathology] == ["diverged", "unstable", "too_slow", "underfitting",
                                            "overfitting", "healthy"]
    assert set(INFLUENCE) == set(Pathology) and INFLUENCE[Pathology.HEALTHY] == ()
    fields = {f.name for f in dataclasses.fields(MLPConfig)}
    for knobs in INFLUENCE.values():
        assert set(knobs) <= fields
    source = Path(_diagnosis_rules.__file__).read_text(encoding="utf-8")
    assert "too large a\n  learning rate oscillates and never converges" in source  # the article


def test_no_torch_at_import() -> None:
    code = ("import sys, hyperknob.analysis._diagnosis; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # no torch module loaded


def test_doctests() -> None:
    for module in (_diagnosis, _diagnosis_rules, _diagnosis_advice):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__


# -- (c) advice drawn from a real study -----------------------------------------------------


@pytest.fixture(scope="module")
def iris_study() -> hyperknob.Study:
    import torch

    from hyperknob import nn
    from hyperknob.distributions import FloatDistribution

    torch.set_num_threads(1)
    data = nn.load_dataset("iris", seed=0)
    space = nn.default_space(data.n_features, data.n_train, max_epochs=20).replace(
        n_layers=1, units=16, epochs=15, patience=None, optimizer="sgd", momentum=0.9,
        activation="relu", dropout=0.0, l2=0.0, batch_size=32,
        learning_rate=FloatDistribution(1e-4, 100.0, log=True))
    job = nn.NeuralNetworkObjective(data, space, seed=0, log=lambda line: None)
    study = hyperknob.create_study(direction=job.direction, seed=0)
    for learning_rate in (0.003, 0.01, 0.03, 0.1, 20.0):
        study.enqueue_trial({"learning_rate": learning_rate})
    study.optimize(job, n_trials=5)
    return study


def test_a_diverged_trial_gets_a_learning_rate_cap_from_the_study(
        iris_study: hyperknob.Study) -> None:
    trials = iris_study.trials
    diverged = trials[-1]
    assert diverged.params["learning_rate"] == 20.0 and diverged.state is TrialState.PRUNED
    diagnoses = diagnose_study(trials)
    assert sorted(diagnoses) == [t.number for t in trials]
    assert diagnoses[diverged.number].pathology is Pathology.DIVERGED
    smooth = [t.params["learning_rate"] for t in trials
              if diagnoses[t.number].pathology not in (Pathology.DIVERGED, Pathology.UNSTABLE)]
    assert len(smooth) == 4  # every learning rate up to 0.1 trained without trouble
    cap = max(smooth)
    diagnosis = diagnose_trial(diverged, trials)
    assert diagnosis is not None and diagnosis == diagnoses[diverged.number]
    assert diagnosis.advice.startswith("learning_rate 20 diverged")
    assert (f"every trial with optimizer sgd and learning_rate <= {cap:g} trained smoothly "
            f"({len(smooth)} of {len(smooth)})") in diagnosis.advice
    assert diagnosis.advice.endswith(f"cap learning_rate at {cap:g} or below.")
    # Alone, the same trial gets the article's generic advice.
    alone = diagnose_trial(diverged)
    assert alone is not None and alone.advice.startswith("Lower the learning rate")
    assert "training loss" in alone.summary and alone.evidence["epoch"] == 0


def test_a_trial_without_curves_has_no_diagnosis(iris_study: hyperknob.Study) -> None:
    bare = FrozenTrial(number=9, trial_id=9, state=TrialState.COMPLETE, value=1.0)
    assert diagnose_trial(bare, iris_study.trials) is None
    empty = bare.replace(user_attrs={"curves": {"train_loss": [], "val_loss": []}})
    assert diagnose_trial(empty) is None
    assert 9 not in diagnose_study([*iris_study.trials, bare])


# -- advice drawn from hand-made studies ----------------------------------------------------


def make_trial(number: int, train: list[float], val: list[float], **config: Any) -> FrozenTrial:
    full = {"hidden_layers": [64], "optimizer": "adam", "learning_rate": 0.01, "l2": 0.0,
            "dropout": 0.0, "epochs": len(train), "patience": None, "activation": "relu",
            **config}
    return FrozenTrial(number=number, trial_id=number, state=TrialState.COMPLETE, user_attrs={
        "curves": {"train_loss": train, "val_loss": val, "val_metric": [0.5] * len(train)},
        "config": full, "stop_reason": "completed"})


OVERFIT = ([1.0, 0.5, 0.25, 0.12, 0.06, 0.03, 0.015, 0.008, 0.004, 0.002],
           [0.9, 0.6, 0.4, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
HEALTHY = (CONVERGED_TRAIN[:10], CONVERGED_VAL[:10])
SLOW = ([1.10 - 0.01 * i for i in range(10)], [1.08 - 0.01 * i for i in range(10)])
FLAT = ([1.2, 1.0, 0.9] + [0.85] * 7, [1.1, 0.95, 0.88] + [0.87] * 7)


def test_overfitting_advice_cites_the_trials_that_did_not_overfit() -> None:
    trials = [make_trial(0, *OVERFIT, hidden_layers=[256, 256]),
              *(make_trial(i, *HEALTHY, dropout=0.3, l2=1e-3) for i in range(1, 4))]
    d = diagnose_trial(trials[0], trials)
    assert d is not None and d.pathology is Pathology.OVERFITTING
    assert d.advice.startswith("the 3 trials that did not overfit used (median) dropout 0.3 "
                               "(this one 0), l2 0.001 (this one 0), n_layers 1 (this one 2), "
                               "units 64 (this one 256)")
    assert "early stopping (patience), which would keep epoch 3's weights" in d.advice


def test_underfitting_advice_cites_the_trials_that_fit_better() -> None:
    trials = [make_trial(0, *FLAT, hidden_layers=[2], l2=0.5),
              *(make_trial(i, *HEALTHY, hidden_layers=[64, 64]) for i in range(1, 4))]
    d = diagnose_trial(trials[0], trials)
    assert d is not None and d.pathology is Pathology.UNDERFITTING
    assert "units 64 (this one 2)" in d.advice and "l2 0 (this one 0.5)" in d.advice
    assert "n_layers 2 (this one 1)" in d.advice


def test_too_slow_advice_cites_the_learning_rate_of_the_better_trials() -> None:
    trials = [make_trial(0, *SLOW, learning_rate=1e-4),
              make_trial(1, *HEALTHY, learning_rate=0.01),
              make_trial(2, *HEALTHY, learning_rate=0.003)]
    d = diagnose_trial(trials[0], trials)
    assert d is not None and d.pathology is Pathology.TOO_SLOW
    assert "used learning_rate 0.003-0.01" in d.advice
    assert "raise learning_rate toward 0.0065 (their median)" in d.advice
    # The study's best trial, still improving: train it longer.
    best = make_trial(3, [v / 20 for v in SLOW[0]], [v / 20 for v in SLOW[1]])
    d = diagnose_trial(best, [*trials, best])
    assert d is not None and d.advice.startswith("it is the study's best trial")
    assert "train it for more epochs (about 20)" in d.advice


def test_an_oscillating_trial_gets_a_batch_floor_when_the_learning_rate_is_not_to_blame(
        ) -> None:
    zigzag = ([1.0, 0.5, 0.8, 0.4, 0.7, 0.35, 0.6, 0.3, 0.55, 0.3],
              [0.9, 0.6, 0.9, 0.5, 0.8, 0.45, 0.8, 0.4, 0.7, 0.4])
    trials = [make_trial(0, *zigzag, batch_size=4),
              *(make_trial(i, *HEALTHY, batch_size=size)
                for i, size in enumerate((32, 64, 128), start=1))]
    d = diagnose_trial(trials[0], trials)
    assert d is not None and d.pathology is Pathology.UNSTABLE
    assert d.advice == ("batch_size 4 oscillated; every trial with optimizer adam and batch_size "
                        ">= 32 trained smoothly (3 of 3), beyond it 1 of 1 diverged or "
                        "oscillated: keep batch_size at 32 or above.")


def test_a_cap_reads_apart_from_the_run_that_diverged_just_above_it() -> None:
    zigzag = ([1.0, 0.5, 0.8, 0.4, 0.7, 0.35, 0.6, 0.3, 0.55, 0.3],
              [0.9, 0.6, 0.9, 0.5, 0.8, 0.45, 0.8, 0.4, 0.7, 0.4])
    trials = [make_trial(0, *zigzag, learning_rate=1.32129),
              *(make_trial(i, *HEALTHY, learning_rate=lr)
                for i, lr in enumerate((0.01, 0.1, 1.32126), start=1))]
    d = diagnose_trial(trials[0], trials)
    assert d is not None and d.advice.startswith("learning_rate 1.32129 oscillated; every "
                                                 "trial with optimizer adam and "
                                                 "learning_rate <= 1.32126 trained smoothly")


def test_a_users_knob_names_are_the_ones_the_advice_speaks_of() -> None:
    """A record that names its knobs (hyperknob.integration writes one) gets advice by those
    names, the generic step with the value."""
    diverged = FrozenTrial(number=0, trial_id=0, state=TrialState.PRUNED,
                           params={"step_size": 0.5, "bs": 16},
                           user_attrs={"curves": {"train_loss": [1.0, 1e9]},
                                       "stop_reason": "diverged",
                                       "knob_names": {"learning_rate": "step_size",
                                                      "batch_size": "bs"}})
    d = diagnose_trial(diverged)
    assert d is not None and d.pathology is Pathology.DIVERGED
    assert d.advice.startswith("Lower the learning rate (by 10x to start: step_size from 0.5 "
                               "to 0.05)")
    # their records' config says learning_rate 0.01; the named knob, step_size, wins
    healthy = [make_trial(i, *HEALTHY).replace(params={"step_size": lr}) for i, lr in
               enumerate((0.01, 0.02, 0.05), start=1)]
    healthy = [t.replace(user_attrs={**t.user_attrs, "knob_names": {"learning_rate": "step_size"}})
               for t in healthy]
    d = diagnose_trial(diverged, [diverged, *healthy])
    assert d is not None and d.advice.startswith(
        "step_size 0.5 diverged; every trial with step_size <= 0.05 trained smoothly (3 of 3)")


def test_too_few_comparable_trials_fall_back_to_generic_advice() -> None:
    lone = make_trial(0, *OVERFIT)
    d = diagnose_trial(lone, [lone, make_trial(1, *HEALTHY)])
    assert d is not None and d.advice.startswith("Regularize")
    diverged = FrozenTrial(number=5, trial_id=5, state=TrialState.PRUNED,
                           params={"learning_rate": 0.5},
                           system_attrs={"prune_reason": "diverged: loss 1e9"},
                           user_attrs={"curves": {"train_loss": [1e9], "val_loss": [None],
                                                  "val_metric": [None]}})
    d = diagnose_trial(diverged, [diverged, make_trial(1, *HEALTHY)])
    assert d is not None and d.pathology is Pathology.DIVERGED  # from the prune reason
    assert d.advice.startswith("Lower the learning rate")


def test_the_metric_direction_is_read_from_the_curves() -> None:
    val = [0.9 * 0.8**i for i in range(10)]
    rmse = [math.sqrt(v) * 77.0 for v in val]  # the trainer's RMSE in target units
    trial = make_trial(0, [v * 1.1 for v in val], val)
    regression = trial.replace(user_attrs={**trial.user_attrs, "curves": {
        "train_loss": [v * 1.1 for v in val], "val_loss": val, "val_metric": rmse}})
    d = diagnose_trial(regression)
    assert d is not None and d.evidence["val_metric_best"] == pytest.approx(min(rmse))


# -- (d) records ----------------------------------------------------------------------------


def test_to_dict_round_trips_through_json(runs: list[dict[str, Any]]) -> None:
    for run in runs:
        d = diagnose_run(run)
        text = json.dumps(d.to_dict(), allow_nan=False)
        again = Diagnosis.from_dict(json.loads(text))
        assert again == d and hash(again) == hash(d)
        assert json.loads(text)["pathology"] == d.pathology.value
    record = diagnose_curves(*OVERFIT).to_dict()
    assert set(record) == {"pathology", "evidence", "summary", "knobs", "advice"}
    assert record["knobs"] == list(INFLUENCE[Pathology.OVERFITTING])
    assert all(isinstance(v, float) for v in record["evidence"].values())
