"""Each pruner's rule on hand-made curves: who is stopped, when, and the reason it gives."""

from __future__ import annotations

import collections
import math

import pytest

import hyperknob
from hyperknob import TrialPruned
from hyperknob.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    PatientPruner,
    PercentilePruner,
    SuccessiveHalvingPruner,
    ThresholdPruner,
)
from hyperknob.study import Study
from hyperknob.trial import Trial, TrialState


def finished(study: Study, curve: list[float], state: TrialState = TrialState.COMPLETE) -> None:
    """Add a trial that reported ``curve`` (step i: curve[i]) and finished in ``state``."""
    trial = study.ask()
    for step, value in enumerate(curve):
        trial.report(value, step)
    study.tell(trial, curve[-1] if state is TrialState.COMPLETE else None, state=state)


def running(study: Study, curve: list[float], steps: list[int] | None = None) -> Trial:
    trial = study.ask()
    for step, value in zip(steps or range(len(curve)), curve, strict=True):
        trial.report(value, step)
    return trial


def verdict(study: Study, trial: Trial) -> str | None:
    return study.pruner.check(study.view, trial.snapshot())


def make(pruner: BasePruner, direction: str = "minimize") -> Study:
    return hyperknob.create_study(pruner=pruner, direction=direction)


# -- MedianPruner / PercentilePruner ---------------------------------------------------------
def test_median_prunes_below_the_median_only_after_startup_and_warmup() -> None:
    study = make(MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    for base in (1.0, 2.0):
        finished(study, [base + 1, base + 0.5, base])
    assert verdict(study, running(study, [9.0, 9.0, 9.0])) is None  # 2 < n_startup_trials
    finished(study, [4.0, 3.5, 3.0])
    # COMPLETE values at step 2: 1, 2, 3 -> median 2.
    assert verdict(study, running(study, [9.0])) is None  # step 0 < warm-up
    reason = verdict(study, running(study, [9.0, 9.0, 2.5]))
    assert reason is not None and "median" in reason.lower() and "2.5" in reason
    assert "3 COMPLETE trials at step 2" in reason
    # The best value so far counts: 1.5 at step 1 beats the step-2 median of 2.
    assert verdict(study, running(study, [9.0, 1.5, 2.5])) is None
    assert verdict(study, running(study, [9.0, 9.0, 1.9])) is None


def test_median_follows_the_direction_and_the_interval() -> None:
    study = make(MedianPruner(n_startup_trials=1, interval_steps=2), direction="maximize")
    for top in (0.5, 0.7, 0.9):
        finished(study, [top - 0.2, top - 0.1, top])
    assert verdict(study, running(study, [0.1, 0.1, 0.8])) is None  # 0.8 > median 0.7
    assert verdict(study, running(study, [0.1, 0.1, 0.6])) is not None
    assert verdict(study, running(study, [0.1, 0.1])) is None  # step 1: not a check step
    assert verdict(study, running(study, [0.1])) is not None  # step 0: 0.1 < median 0.5


def test_percentile_prunes_more_at_a_lower_percentile() -> None:
    curves = [[float(v)] * 3 for v in range(1, 11)]  # COMPLETE values 1..10 at every step
    pruned = {}
    for percentile in (25.0, 50.0, 75.0):
        study = make(PercentilePruner(percentile, n_startup_trials=1))
        for curve in curves:
            finished(study, curve)
        pruned[percentile] = [v for v in (2.0, 4.0, 6.0, 8.0)
                              if verdict(study, running(study, [v, v, v])) is not None]
    assert pruned == {25.0: [4.0, 6.0, 8.0], 50.0: [6.0, 8.0], 75.0: [8.0]}


def test_percentile_n_min_trials_and_nan() -> None:
    study = make(PercentilePruner(50.0, n_startup_trials=0, n_min_trials=2))
    finished(study, [1.0, 1.0, 1.0, 1.0, 1.0])
    # Only one COMPLETE trial reported step 4: no comparison yet.
    assert verdict(study, running(study, [9.0] * 5)) is None
    reason = verdict(study, running(study, [1.0, math.nan]))
    assert reason is not None and "NaN" in reason
    with pytest.raises(ValueError, match="percentile"):
        PercentilePruner(101.0)
    with pytest.raises(ValueError, match="n_startup_trials"):
        MedianPruner(n_startup_trials=-1)
    with pytest.raises(TypeError, match="interval_steps"):
        MedianPruner(interval_steps=1.5)  # type: ignore[arg-type]


def test_only_complete_trials_set_the_median() -> None:
    study = make(MedianPruner(n_startup_trials=1))
    finished(study, [5.0, 5.0])
    finished(study, [0.1, 0.1], state=TrialState.PRUNED)
    running(study, [0.1, 0.1])  # RUNNING, not counted
    assert verdict(study, running(study, [4.0, 4.0])) is None


# -- ThresholdPruner, PatientPruner ---------------------------------------------------------
def test_threshold_bounds_nan_and_warmup() -> None:
    study = make(ThresholdPruner(lower=0.0, upper=1.0, n_warmup_steps=2))
    assert verdict(study, running(study, [5.0, 5.0])) is None  # warm-up
    assert "above the upper" in str(verdict(study, running(study, [5.0, 5.0, 1.5])))
    assert "below the lower" in str(verdict(study, running(study, [0.5, 0.5, -0.1])))
    assert "NaN" in str(verdict(study, running(study, [0.5, 0.5, math.nan])))
    assert verdict(study, running(study, [0.5, 0.5, 0.5])) is None
    with pytest.raises(TypeError, match="lower, upper"):
        ThresholdPruner()
    with pytest.raises(ValueError, match="lower must be <= upper"):
        ThresholdPruner(lower=2.0, upper=1.0)


def test_patient_waits_for_a_stall_then_asks_the_wrapped_pruner() -> None:
    study = make(PatientPruner(None, patience=2, min_delta=0.05))
    assert verdict(study, running(study, [3.0, 2.0, 1.0, 0.5])) is None  # improving
    reason = verdict(study, running(study, [3.0, 1.0, 0.99, 0.97]))  # 0.03 < min_delta
    assert reason is not None and "no improvement" in reason
    assert verdict(study, running(study, [3.0, 1.0])) is None  # fewer than patience + 1
    wrapped = make(PatientPruner(MedianPruner(n_startup_trials=1), patience=1))
    finished(wrapped, [1.0, 1.0, 1.0])
    # Stalled and above the median: pruned, both reasons given.
    reason = verdict(wrapped, running(wrapped, [2.0, 2.0, 2.0]))
    assert reason is not None and "MedianPruner" in reason and "PatientPruner" in reason
    assert verdict(wrapped, running(wrapped, [3.0, 2.5, 2.0])) is None  # improving: spared
    assert verdict(wrapped, running(wrapped, [0.5, 0.5, 0.5])) is None  # stalled, but good
    with pytest.raises(TypeError, match="wrapped"):
        PatientPruner("median", patience=1)  # type: ignore[arg-type]


# -- SuccessiveHalvingPruner ---------------------------------------------------------------
def test_asha_keeps_the_top_third_at_each_rung() -> None:
    """Rungs at steps 1, 3, 9 (eta 3); a trial is judged once, at the report reaching a rung,
    against every trial that reached it (any state), itself included."""
    study = make(SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    assert verdict(study, running(study, [5.0, 5.0])) is None  # first at rung 0: goes on
    assert verdict(study, running(study, [5.0, 4.0])) is None  # 2 there: keep 1 -> best
    assert verdict(study, running(study, [5.0, 6.0])) is not None  # 3rd: only the best 1
    reason = verdict(study, running(study, [5.0, 4.5]))
    assert reason is not None and "beaten by 1" in reason and "best 1 of 4" in reason
    # Step 2 is no rung: no new decision, whatever the value.
    assert verdict(study, running(study, [5.0, 3.0, 99.0])) is None
    # Reaching rung 1 (step 3): the trial that reported 3.0 at step 1 is the only one there.
    assert verdict(study, running(study, [5.0, 3.0, 3.0, 2.0])) is None


def test_asha_rung_values_come_from_the_first_step_reaching_the_rung() -> None:
    study = make(SuccessiveHalvingPruner(min_resource=2, reduction_factor=2))
    running(study, [1.0, 1.0], steps=[0, 2])  # rung 0 (step 2) value 1.0
    running(study, [1.0, 2.0], steps=[0, 5])  # sparse: reaches rungs 2 and 4 at step 5 (2.0)
    # A new trial at step 4 (rungs 2 and 4) with 1.5: rung 2 -> 3 trials, keep 1 -> beaten.
    reason = verdict(study, running(study, [0.0, 1.5], steps=[0, 4]))
    assert reason is not None and "rung 0 (step 2)" in reason


def test_asha_bootstrap_auto_min_resource_nan_and_maximize() -> None:
    study = make(SuccessiveHalvingPruner(min_resource=1, reduction_factor=2, bootstrap_count=2))
    running(study, [0.0, 1.0])
    assert verdict(study, running(study, [0.0, 9.0])) is None  # 1 other < bootstrap_count
    assert verdict(study, running(study, [0.0, 9.0])) is not None
    assert "NaN" in str(verdict(study, running(study, [0.0, math.nan])))
    auto = make(SuccessiveHalvingPruner(reduction_factor=2))
    running(auto, [1.0] * 3)
    assert verdict(auto, running(auto, [9.0] * 3)) is None  # no COMPLETE trial: no rungs
    finished(auto, [1.0] * 250)  # last step 249 -> min_resource ceil(2.49) = 3
    assert verdict(auto, running(auto, [9.0] * 3)) is None  # step 2 < first rung 3
    assert verdict(auto, running(auto, [9.0] * 4)) is not None
    high = make(SuccessiveHalvingPruner(min_resource=1, reduction_factor=2), "maximize")
    running(high, [0.0, 0.9])
    assert verdict(high, running(high, [0.0, 0.5])) is not None
    assert verdict(high, running(high, [0.0, 0.95])) is None


# -- HyperbandPruner -----------------------------------------------------------------------
def test_hyperband_brackets_are_fixed_by_number_and_weighted_like_hyperband() -> None:
    pruner = HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
    assert pruner.n_brackets(81) == 5 and pruner.n_brackets(80) == 4
    counts = collections.Counter(pruner.bracket_of(n, 81) for n in range(20000))
    weights = [81, 34, 15, 8, 5]  # ceil(5 / (s + 1) * 3^s), s = 4..0
    for bracket, weight in enumerate(weights):
        assert counts[bracket] / 20000 == pytest.approx(weight / sum(weights), abs=0.012)
    again = HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
    assert [again.bracket_of(n, 81) for n in range(50)] == [
        pruner.bracket_of(n, 81) for n in range(50)]


def test_hyperband_competes_within_a_bracket_and_never_at_the_full_budget() -> None:
    pruner = HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = make(pruner)
    by_bracket: dict[int, list[Trial]] = collections.defaultdict(list)
    for _ in range(60):
        trial = running(study, [1.0, 1.0])
        by_bracket[pruner.bracket_of(trial.number, 9)].append(trial)
    assert set(by_bracket) == {0, 1, 2}
    # Bracket 0 stops trials at step 1 (rung 0) once enough of its own trials are there.
    bad0 = running(study, [1.0, 5.0])
    while pruner.bracket_of(bad0.number, 9) != 0:
        bad0 = running(study, [1.0, 5.0])
    assert "bracket 0" in str(verdict(study, bad0))
    # Bracket 2's first rung would be step 9 = max_resource: its trials are never stopped.
    bad2 = running(study, [1.0] * 9 + [50.0])
    while pruner.bracket_of(bad2.number, 9) != 2:
        bad2 = running(study, [1.0] * 9 + [50.0])
    assert verdict(study, bad2) is None


def test_hyperband_auto_max_resource_and_arguments() -> None:
    study = make(HyperbandPruner(min_resource=1, reduction_factor=2))
    assert verdict(study, running(study, [9.0] * 5)) is None  # no COMPLETE trial yet
    with pytest.raises(ValueError, match="max_resource"):
        HyperbandPruner(min_resource=4, max_resource=2)
    with pytest.raises(ValueError, match="reduction_factor"):
        HyperbandPruner(reduction_factor=1)


# -- what the study records ----------------------------------------------------------------
def test_a_pruned_trial_keeps_its_curve_the_reason_and_the_step() -> None:
    study = make(ThresholdPruner(upper=1.0))

    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", 0.0, 2.0)
        for step in range(5):
            trial.report(x * step / 2, step)
            if trial.should_prune():
                raise TrialPruned()
        return x

    study.enqueue_trial({"x": 1.0})
    study.enqueue_trial({"x": 0.2})
    study.optimize(objective, n_trials=2)
    pruned, kept = study.trials
    assert pruned.state is TrialState.PRUNED and kept.state is TrialState.COMPLETE
    assert pruned.intermediate_values == {0: 0.0, 1: 0.5, 2: 1.0, 3: 1.5}
    assert pruned.system_attrs["pruned_at_step"] == 3
    assert "1.5 at step 3 is above the upper bound 1" in pruned.system_attrs["prune_reason"]
    assert "prune_reason" not in kept.system_attrs


def test_a_message_wins_and_tell_records_a_reason_too() -> None:
    study = make(NopPruner())
    study.optimize(lambda t: (_ for _ in ()).throw(TrialPruned("loss diverged")), n_trials=1)
    assert study.trials[0].system_attrs["prune_reason"] == "loss diverged"
    trial = study.ask()
    trial.report(3.0, 7)
    frozen = study.tell(trial, state=TrialState.PRUNED)
    assert frozen.system_attrs == {"prune_reason": "the objective raised TrialPruned",
                                   "pruned_at_step": 7}


def test_the_stored_reason_is_the_last_answer_of_should_prune() -> None:
    study = make(ThresholdPruner(upper=1.0))
    trial = study.ask()
    trial.report(5.0, 0)
    assert trial.should_prune()  # ignored by the objective
    trial.report(0.5, 1)
    assert not trial.should_prune()
    frozen = study.tell(trial, state=TrialState.PRUNED)
    assert frozen.system_attrs["prune_reason"] == "the objective raised TrialPruned"
