"""Run the pruner contract against every pruner; the BasePruner check()/prune() defaults."""

from __future__ import annotations

import pytest

import hyperknob
from hyperknob import TrialPruned, TrialState
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
from hyperknob.study._view import StudyView
from hyperknob.testing import PrunerContract
from hyperknob.trial._frozen import FrozenTrial

#: Good scripted curves stay below 1.5, bad ones above 3.0 (see hyperknob.testing).
BAD_BOUND = 2.0
#: The scripted curves report steps 0..9.
LAST_STEP = 9


class TestMedianPrunerContract(PrunerContract):
    def make_pruner(self) -> BasePruner:
        return MedianPruner(n_startup_trials=3)


class TestPercentilePrunerContract(PrunerContract):
    def make_pruner(self) -> BasePruner:
        return PercentilePruner(25.0, n_startup_trials=3)


class TestThresholdPrunerContract(PrunerContract):
    """A rule on the trial's own curve: no other trial counts, a decision never changes."""

    compares_trials = False
    decisions_only_stricter = True

    def make_pruner(self) -> BasePruner:
        return ThresholdPruner(upper=BAD_BOUND)


class TestPatientPrunerContract(PrunerContract):
    """Bad curves stall from step 3 on: pruned at step 5 by the median rule. The NaN curve
    keeps improving around its NaN, so it is never pruned."""

    prunes_nan = False

    def make_pruner(self) -> BasePruner:
        return PatientPruner(MedianPruner(n_startup_trials=3), patience=2)


class TestSuccessiveHalvingPrunerContract(PrunerContract):
    """Rungs at steps 1, 3 and 9; the NaN at step 3 lands on a rung."""

    def make_pruner(self) -> BasePruner:
        return SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


class TestHyperbandPrunerContract(PrunerContract):
    """Three brackets. Trial 6 (the first bad trial after the restart) is in bracket 0, with
    rungs at steps 1 and 3; the NaN trial, 7, is in bracket 1, with a rung at step 3."""

    def make_pruner(self) -> BasePruner:
        return HyperbandPruner(min_resource=1, max_resource=LAST_STEP, reduction_factor=3)

    def test_scripted_brackets(self) -> None:
        pruner = HyperbandPruner(min_resource=1, max_resource=LAST_STEP, reduction_factor=3)
        assert pruner.n_brackets(LAST_STEP) == 3
        assert pruner.bracket_of(6, LAST_STEP) == 0
        assert pruner.bracket_of(7, LAST_STEP) == 1


class TestNopPrunerContract(PrunerContract):
    prunes_bad_trials = False
    compares_trials = False
    prunes_nan = False

    def make_pruner(self) -> BasePruner:
        return NopPruner()


# -- the defaults of check() and prune() ---------------------------------------------------
class PruneFromStepTwo(BasePruner):
    """A pruner in Optuna's style: only prune()."""

    def prune(self, study: StudyView, trial: FrozenTrial) -> bool:
        step = trial.last_step
        return step is not None and step >= 2


def test_pruner_with_only_prune_gets_a_default_reason() -> None:
    study = hyperknob.create_study(pruner=PruneFromStepTwo())

    def objective(trial: hyperknob.Trial) -> float:
        for step in range(5):
            trial.report(float(step), step)
            if trial.should_prune():
                raise TrialPruned()
        return 0.0

    study.optimize(objective, n_trials=2)
    for trial in study.trials:
        assert trial.state is TrialState.PRUNED
        assert trial.system_attrs["pruned_at_step"] == 2
        assert trial.system_attrs["prune_reason"] == "PruneFromStepTwo pruned the trial at step 2"
        assert dict(trial.intermediate_values) == {0: 0.0, 1: 1.0, 2: 2.0}
    cut = study.trials[0].replace(intermediate_values={0: 0.0, 1: 1.0})
    assert PruneFromStepTwo().check(study.view, cut) is None


def test_pruner_without_check_or_prune_is_refused() -> None:
    with pytest.raises(TypeError, match="must define check\\(\\) or prune\\(\\)"):

        class Nothing(BasePruner):
            pass


def test_base_pruner_is_an_abstract_base_class() -> None:
    import abc

    assert isinstance(BasePruner, abc.ABCMeta) and "check" in BasePruner.__abstractmethods__
    with pytest.raises(TypeError, match="abstract"):
        BasePruner()  # type: ignore[abstract]
    assert isinstance(PruneFromStepTwo(), BasePruner) and not getattr(
        PruneFromStepTwo, "__abstractmethods__", frozenset())
