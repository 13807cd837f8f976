"""Study-level advice on studies built to need it (and not to)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

import hyperknob
from hyperknob.analysis import study_advice
from hyperknob.analysis._advice import trend_advice, widen_advice
from hyperknob.samplers import RandomSampler
from hyperknob.study import Study
from hyperknob.trial import Trial


def study_of(objective: Callable[[Trial], float], n: int, direction: str = "minimize",
             seed: int = 0) -> Study:
    study = hyperknob.create_study(sampler=RandomSampler(seed=seed), direction=direction)
    study.optimize(objective, n_trials=n)
    return study


def by_kind(study: Study, kind: str) -> list[hyperknob.analysis.Advice]:
    return [a for a in study_advice(study) if a.kind == kind]


def test_widen_when_the_best_trials_crowd_an_end() -> None:
    def objective(trial: Trial) -> float:  # the optimum, lr = 1e-6, lies below the range
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        units = trial.suggest_int("units", 16, 128)
        return abs(math.log10(lr) + 6) + 0.01 * dropout - 0.001 * units

    advice = by_kind(study_of(objective, 60), "widen")
    lr = [a for a in advice if a.params == ("learning_rate",)]
    assert len(lr) == 1
    assert "widen the low bound from 0.0001 to 1e-05" in lr[0].message
    assert lr[0].evidence["suggested_bound"] == pytest.approx(1e-5)
    # dropout and units barely matter: their best values are not crowded at an end.
    assert [a.params for a in advice] == [("learning_rate",)]
    units = study_of(lambda t: -float(t.suggest_int("units", 16, 128)), 40)
    assert [a.evidence["suggested_bound"] for a in widen_advice(units.trials)] == [184.0]


def test_widen_respects_a_natural_zero_and_the_direction() -> None:
    def objective(trial: Trial) -> float:
        return trial.suggest_float("dropout", 0.0, 0.5)  # best at 0: cannot go lower

    assert widen_advice(study_of(objective, 40).trials) == []
    high = study_of(lambda t: t.suggest_float("x", 1.0, 2.0), 40, direction="maximize")
    advice = widen_advice(high.trials, minimize=False)
    assert [a.evidence["suggested_bound"] for a in advice] == [2.5]


def test_fix_an_idle_parameter_and_tune_interacting_ones_together() -> None:
    def objective(trial: Trial) -> float:
        lr = trial.suggest_float("lr", 0.0, 1.0)
        batch = trial.suggest_float("batch", 0.0, 1.0)
        idle = trial.suggest_float("idle", 0.0, 1.0)
        return 16.0 * (lr - 0.5) * (batch - 0.5) + 0.3 * lr + 0.0 * idle

    study = study_of(objective, 200)
    fixes = by_kind(study, "fix")
    assert [a.params for a in fixes] == [("idle",)]
    assert fixes[0].evidence["variance_share"] < 0.02
    together = by_kind(study, "together")
    assert [a.params for a in together] == [("batch", "lr")] or [
        a.params for a in together] == [("lr", "batch")]
    assert together[0].evidence["interaction_share"] > 0.5


def test_no_fix_or_together_on_a_plain_additive_function() -> None:
    def objective(trial: Trial) -> float:
        return sum((i + 1) * trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(3))

    advice = study_advice(study_of(objective, 100))
    assert not [a for a in advice if a.kind in ("fix", "together")]


def test_trend_more_trials_or_stop() -> None:
    improving = hyperknob.create_study()
    for i in range(30):
        improving.enqueue_trial({"x": 30.0 - i})
    improving.optimize(lambda t: t.suggest_float("x", 0.0, 100.0), n_trials=30)
    more = trend_advice(improving.trials)
    assert [a.kind for a in more] == ["more_trials"] and more[0].evidence["best_at"] == 30
    stalled = hyperknob.create_study()
    for x in [1.0, *range(2, 41)]:
        stalled.enqueue_trial({"x": float(x)})
    stalled.optimize(lambda t: t.suggest_float("x", 0.0, 100.0), n_trials=40)
    stop = trend_advice(stalled.trials)
    assert [a.kind for a in stop] == ["stop"] and "nothing better in the last 39 of 40" in stop[
        0].message


def test_too_few_trials_give_no_advice_and_records_are_json() -> None:
    study = study_of(lambda t: t.suggest_float("x", 0.0, 1.0), 5)
    assert study_advice(study) == []
    rich = study_of(lambda t: t.suggest_float("x", 1.0, 2.0), 30)
    assert all(json.loads(json.dumps(a.to_dict()))["message"] for a in study_advice(rich))
