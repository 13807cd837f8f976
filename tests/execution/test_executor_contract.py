"""Every way of running the optimize loop passes the same executor contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hyperknob import BatchedExecutor, ProcessExecutor, SerialExecutor
from hyperknob.execution import OneByOne
from hyperknob.testing import ExecutorContract


class TestSerial(ExecutorContract):
    def make_executor(self) -> Any:
        return SerialExecutor()


class TestProcessesInMemory(ExecutorContract):
    max_in_flight = 2

    def make_executor(self) -> Any:
        return ProcessExecutor(2)


class TestProcessesOnSQLite(ExecutorContract):
    max_in_flight = 2

    def make_executor(self) -> Any:
        return ProcessExecutor(2)

    def storage(self, tmp_path: Path) -> Any:
        return f"sqlite:///{tmp_path}/contract.db"


class TestBatched(ExecutorContract):
    max_in_flight = 4

    def make_executor(self) -> Any:
        return BatchedExecutor(4)

    def wrap(self, func: Any) -> Any:
        return OneByOne(func)


def test_batched_executor_refuses_a_plain_objective() -> None:
    import hyperknob

    study = hyperknob.create_study()
    with pytest.raises(TypeError, match="evaluate_batch"):
        study.optimize(lambda t: 0.0, n_trials=2, executor=BatchedExecutor(2))
    assert study.trials == []


def test_an_error_raised_after_ctrl_c_is_stored_and_raised_as_the_interrupt() -> None:
    import hyperknob
    from hyperknob.execution import evaluate
    from hyperknob.execution._loop import InterruptGuard

    study = hyperknob.create_study()
    trial = study.ask()
    guard = InterruptGuard()
    guard.interrupted = True  # the SIGINT handler saw Ctrl-C; then an import failed under it

    def objective(t: hyperknob.Trial) -> float:
        raise ImportError("initialization failed")

    with pytest.raises(KeyboardInterrupt, match="surfaced as ImportError") as raised:
        evaluate(study, trial, objective, (ImportError,), guard)
    assert isinstance(raised.value.__cause__, ImportError)
    reason = study.trials[0].system_attrs["fail_reason"]
    assert "KeyboardInterrupt" in reason and "ImportError: initialization failed" in reason


def test_on_error_runs_before_the_fail_is_stored_and_only_for_errors_that_travel_on() -> None:
    import hyperknob
    from hyperknob.execution import evaluate
    from hyperknob.trial import TrialState

    study = hyperknob.create_study()
    seen: list[TrialState] = []

    def stop() -> None:  # the other workers stop asking while the FAIL is being written
        seen.append(study.trials[-1].state)

    def objective(t: hyperknob.Trial) -> float:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        evaluate(study, study.ask(), objective, on_error=stop)
    assert seen == [TrialState.RUNNING]
    assert study.trials[-1].state is TrialState.FAIL
    # Caught (logged, the loop goes on), pruned or fine: no stop.
    evaluate(study, study.ask(), objective, (ValueError,), on_error=stop)
    evaluate(study, study.ask(), lambda t: 1.0, on_error=stop)
    assert seen == [TrialState.RUNNING]
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL,
                                              TrialState.COMPLETE]


def test_a_ctrl_c_after_the_objective_returned_still_finishes_the_trial() -> None:
    """The interrupt lands between the objective's return and the write of its value (as
    the write's guard is entered): the trial is stored as FAIL and the interrupt goes on."""
    import contextlib
    from collections.abc import Iterator

    import hyperknob
    from hyperknob.execution import evaluate
    from hyperknob.execution._loop import InterruptGuard
    from hyperknob.trial import TrialState

    class LateCtrlC(InterruptGuard):
        first = True

        @contextlib.contextmanager
        def writing(self) -> Iterator[None]:
            if self.first:  # the first write of a trial that returned is its value's
                self.first = False
                raise KeyboardInterrupt
            yield

    study = hyperknob.create_study()
    with pytest.raises(KeyboardInterrupt):
        evaluate(study, study.ask(), lambda t: 1.0, guard=LateCtrlC())
    frozen = study.trials[0]
    assert frozen.state is TrialState.FAIL
    assert "KeyboardInterrupt" in frozen.system_attrs["fail_reason"]
