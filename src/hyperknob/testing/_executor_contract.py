"""The executor contract: tests that every way of running an optimize loop must pass.

Subclass :class:`ExecutorContract` in a test module and implement :meth:`make_executor`;
say with ``max_in_flight`` how many trials it may run at once (a worker pool's size, a
batch), and override :meth:`wrap` when the executor takes another kind of objective than a
plain ``func(trial) -> float`` (``BatchedExecutor`` takes a batch objective:
``OneByOne(func)``). Every test runs ``Study.optimize(..., executor=make_executor())`` on
the storage :meth:`storage` gives (in memory by default) and checks what a user relies on:
the trial budget, the timeout, ``Study.stop`` from a callback, the callbacks themselves,
grid exhaustion, an objective that fails, one that is interrupted.

Example:
    >>> from hyperknob import SerialExecutor
    >>> class TestSerial(ExecutorContract):
    ...     def make_executor(self):
    ...         return SerialExecutor()
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import pytest

from hyperknob.samplers import GridSampler, RandomSampler
from hyperknob.study._functions import create_study
from hyperknob.study._study import Study
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial

__all__ = ["ExecutorContract", "breaking_objective", "sleepy_objective", "square_objective"]


def square_objective(trial: Trial) -> float:
    """x in [-3, 3] (and the trial's number, as a user attribute): return x squared."""
    x = trial.suggest_float("x", -3.0, 3.0)
    trial.set_user_attr("pid", os.getpid())
    return x * x


def sleepy_objective(trial: Trial) -> float:
    """Like :func:`square_objective`, after 0.05 s."""
    time.sleep(0.05)
    return square_objective(trial)


class breaking_objective:  # noqa: N801 - used like a function
    """Raise ``error`` at trial ``at`` (and every later one when ``after``), else square."""

    def __init__(self, error: BaseException, at: int, *, after: bool = False) -> None:
        self.error, self.at, self.after = error, at, after

    def __call__(self, trial: Trial) -> float:
        value = square_objective(trial)
        if trial.number == self.at or (self.after and trial.number > self.at):
            raise self.error
        return value


class ExecutorContract:
    """The checks; subclass, implement :meth:`make_executor`, name it ``Test...``."""

    #: How many trials the executor may run at once (workers, actors, a batch's size).
    max_in_flight = 1
    #: Seconds the executor may need before its first trial starts (actors on a cluster):
    #: the timeout test gives it this much more.
    startup_seconds = 0.0

    def make_executor(self) -> Any:
        """Return a fresh executor to test."""
        raise NotImplementedError

    def wrap(self, func: Any) -> Any:
        """Return the objective the executor runs for a plain ``func(trial) -> float``."""
        return func

    def storage(self, tmp_path: Any) -> Any:
        """Return the storage (URL or object) of each test's study; None: in memory."""
        return None

    # -- helpers -----------------------------------------------------------------------------
    def study(self, tmp_path: Any, **kwargs: Any) -> Study:
        kwargs.setdefault("sampler", RandomSampler(seed=0))
        return create_study(storage=self.storage(tmp_path), **kwargs)

    def optimize(self, study: Study, func: Any, **kwargs: Any) -> None:
        study.optimize(self.wrap(func), executor=self.make_executor(), **kwargs)

    @staticmethod
    def assert_all_finished(study: Study) -> list[FrozenTrial]:
        trials = study.trials
        running = [t.number for t in trials if not t.state.is_finished()]
        assert not running, f"trials {running} were left unfinished"
        assert [t.number for t in trials] == list(range(len(trials)))
        return trials

    # -- the budget --------------------------------------------------------------------------
    def test_runs_exactly_n_trials(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        self.optimize(study, square_objective, n_trials=7)
        trials = self.assert_all_finished(study)
        assert len(trials) == 7
        assert all(t.state is TrialState.COMPLETE for t in trials)
        assert all(t.value == pytest.approx(t.params["x"] ** 2) for t in trials)
        self.optimize(study, square_objective, n_trials=3)  # a second call adds three more
        assert len(self.assert_all_finished(study)) == 10

    def test_n_trials_zero_runs_nothing(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        self.optimize(study, square_objective, n_trials=0)
        assert study.trials == []

    def test_timeout_stops_starting_trials(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        began = time.monotonic()
        self.optimize(study, sleepy_objective, timeout=1.0 + self.startup_seconds)
        took = time.monotonic() - began
        trials = self.assert_all_finished(study)
        assert trials, "no trial ran within the timeout"
        assert all(t.state is TrialState.COMPLETE for t in trials)
        # Trials take 0.05 s; a start-up (processes, actors) may add seconds, not minutes.
        assert took < 60.0

    # -- stopping and callbacks ---------------------------------------------------------------
    def test_stop_from_a_callback_starts_no_new_trial(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        seen: list[int] = []

        def stop_at_three(s: Study, trial: FrozenTrial) -> None:
            seen.append(trial.number)
            if len(seen) == 3:
                s.stop()

        self.optimize(study, square_objective, n_trials=200, callbacks=[stop_at_three])
        trials = self.assert_all_finished(study)
        assert 3 <= len(trials) <= 3 + 2 * self.max_in_flight
        assert sorted(seen) == [t.number for t in trials]  # each finished trial seen once
        self.optimize(study, square_objective, n_trials=2)  # a new optimize starts afresh
        assert len(self.assert_all_finished(study)) == len(trials) + 2

    def test_callbacks_run_on_the_driver_once_per_trial(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        calls: list[tuple[int, FrozenTrial]] = []
        second: list[int] = []

        def record(s: Study, trial: FrozenTrial) -> None:
            assert s is study
            calls.append((os.getpid(), trial))

        self.optimize(study, square_objective, n_trials=6,
                      callbacks=[record, lambda s, t: second.append(t.number)])
        stored = {t.number: t for t in self.assert_all_finished(study)}
        assert sorted(t.number for _, t in calls) == sorted(stored) == sorted(second)
        assert {pid for pid, _ in calls} == {os.getpid()}
        for _, trial in calls:  # what the callback got is what was stored
            assert trial.state is stored[trial.number].state is TrialState.COMPLETE
            assert trial.value == stored[trial.number].value
            assert dict(trial.params) == dict(stored[trial.number].params)

    # -- the sampler -------------------------------------------------------------------------
    def test_a_finished_grid_ends_the_loop(self, tmp_path: Any) -> None:
        grid = GridSampler({"x": [-2.0, -1.0, 0.0, 1.0, 2.0]})
        study = self.study(tmp_path, sampler=grid)
        self.optimize(study, square_objective, n_trials=50)
        trials = self.assert_all_finished(study)
        assert {t.params["x"] for t in trials} == {-2.0, -1.0, 0.0, 1.0, 2.0}
        assert all(t.state is TrialState.COMPLETE for t in trials)
        # Workers checking at the same moment may both take the last point (as in Optuna):
        # never more than one extra trial per other worker.
        assert len(trials) <= 5 + self.max_in_flight - 1
        if self.max_in_flight == 1:
            assert len(trials) == 5

    # -- failures ----------------------------------------------------------------------------
    def test_a_failing_objective_is_stored_then_raised(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        with pytest.raises(ValueError, match="broken on purpose"):
            self.optimize(study, breaking_objective(ValueError("broken on purpose"), 2),
                          n_trials=50)
        trials = self.assert_all_finished(study)
        assert len(trials) < 50
        broken = trials[2]
        assert broken.state is TrialState.FAIL
        assert "ValueError: broken on purpose" in broken.system_attrs["fail_reason"]
        assert "Traceback" in broken.system_attrs["traceback"]
        assert all(t.state is TrialState.COMPLETE for t in trials if t.number != 2)

    def test_caught_failures_are_stored_and_the_loop_goes_on(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        self.optimize(study, breaking_objective(ValueError("expected"), 2, after=True),
                      n_trials=6, catch=(ValueError,))
        trials = self.assert_all_finished(study)
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.FAIL] * 4

    def test_an_interrupted_objective_fails_its_trial_and_interrupts(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)
        with pytest.raises(KeyboardInterrupt):
            self.optimize(study, breaking_objective(KeyboardInterrupt(), 1), n_trials=50)
        trials = self.assert_all_finished(study)
        assert len(trials) < 50
        assert trials[1].state is TrialState.FAIL
        assert "KeyboardInterrupt" in trials[1].system_attrs["fail_reason"]
        self.optimize(study, square_objective, n_trials=2)  # the study is usable afterwards
        assert len(self.assert_all_finished(study)) == len(trials) + 2

    def test_an_invalid_value_fails_the_trial_and_the_loop_goes_on(self, tmp_path: Any) -> None:
        study = self.study(tmp_path)

        def nan_at_one(trial: Trial) -> float:
            value = square_objective(trial)
            return float("nan") if trial.number == 1 else value

        with warnings.catch_warnings():  # warned where the trial ran: maybe another process
            warnings.simplefilter("ignore")
            self.optimize(study, nan_at_one, n_trials=4)
        trials = self.assert_all_finished(study)
        assert [t.state for t in trials].count(TrialState.FAIL) == 1
        assert "nan" in trials[1].system_attrs["fail_reason"]

    # -- several objectives and constraints ----------------------------------------------------
    def test_several_objectives_come_back_whole(self, tmp_path: Any) -> None:
        study = self.study(tmp_path, directions=["minimize", "maximize"])
        seen: list[tuple[float, ...] | None] = []

        def both(trial: Trial) -> tuple[float, float]:
            x = square_objective(trial)
            return x, -x

        self.optimize(study, both, n_trials=4,
                      callbacks=[lambda _study, frozen: seen.append(frozen.values)])
        trials = self.assert_all_finished(study)
        assert len(trials) == 4
        assert all(t.values == (t.params["x"] ** 2, -t.params["x"] ** 2) for t in trials)
        assert sorted(seen) == sorted(t.values for t in trials)  # type: ignore[type-var]
        assert {t.number for t in study.best_trials} <= {t.number for t in trials}

    def test_constraint_values_are_stored_wherever_trials_run(self, tmp_path: Any) -> None:
        from hyperknob.samplers import NSGAIISampler

        def constraints(trial: FrozenTrial) -> tuple[float]:
            return (trial.params["x"],)

        study = self.study(tmp_path, sampler=NSGAIISampler(seed=0, population_size=2,
                                                           constraints_func=constraints))
        self.optimize(study, square_objective, n_trials=4)
        for trial in self.assert_all_finished(study):
            assert trial.system_attrs["constraints"] == [trial.params["x"]]
