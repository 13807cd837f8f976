"""The optimize loop: one process here, worker processes in ``execution._processes``."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from hyperknob.exceptions import TrialPruned
from hyperknob.study._heartbeat import Beater, reap_stale_trials
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.execution._base import Executor
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study
    from hyperknob.trial._trial import Trial

logger = logging.getLogger("hyperknob")


def check_budget(n_trials: int | None, timeout: float | None) -> None:
    """Raise a clear error unless ``n_trials`` is an int >= 0 or None and ``timeout`` a number
    of seconds > 0 or None."""
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                 or n_trials < 0):
        raise ValueError(f"n_trials must be an int >= 0 or None, got n_trials={n_trials!r}")
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")


def check_catch(
    catch: Iterable[type[Exception]] | type[Exception],
) -> tuple[type[Exception], ...]:
    """Return ``catch`` as a tuple of exception classes, or raise a clear ``TypeError``."""
    items = (catch,) if isinstance(catch, type) else tuple(catch)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"catch must hold exception classes, got {item!r}")
    return items


class InterruptGuard:
    """Hold Ctrl-C while a storage write is in progress, so no trial is left half-told.

    One SIGINT handler serves a whole optimize loop (installing a handler per write costs
    more than the write itself in memory). Outside a write it raises ``KeyboardInterrupt`` at
    once, as Python's default does; inside one it notes the signal and the write raises it
    when done. Works only in the main thread, and only replaces Python's default handler.
    """

    def __init__(self) -> None:
        self._writing = False
        self._pending = False
        self._previous: Any = None

    def __enter__(self) -> InterruptGuard:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: object) -> None:
        if self._writing:
            self._pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Run a storage write; a Ctrl-C arriving meanwhile is raised after it."""
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
            if self._pending:
                self._pending = False
                raise KeyboardInterrupt


def run_trial(
    study: Study,
    func: ObjectiveFunc,
    catch: tuple[type[Exception], ...],
    guard: InterruptGuard | None = None,
) -> FrozenTrial:
    """Ask, evaluate, tell. Re-raises the objective's exception unless it is in ``catch``.

    Whatever stops the objective — an exception, Ctrl-C, ``sys.exit`` — the trial is finished
    (FAIL, with the reason) before the exception travels on.
    """
    guard = guard or InterruptGuard()
    trial = None
    try:
        with guard.writing():  # a Ctrl-C held here is raised once the trial exists
            trial = ask_trial(study)
    except BaseException as error:
        if trial is None:
            raise
        with guard.writing():
            study._fail(trial, error)
        raise
    return evaluate_trial(study, trial, func, catch, guard)


def ask_trial(study: Study) -> Trial:
    """Reap dead workers' trials (under a heartbeat policy), then start a trial."""
    if study.heartbeat is not None:
        reap_stale_trials(study, study.heartbeat)
    return study.ask()


def evaluate_trial(
    study: Study,
    trial: Trial,
    func: ObjectiveFunc,
    catch: tuple[type[Exception], ...],
    guard: InterruptGuard | None = None,
) -> FrozenTrial:
    """Run the objective on a started trial and finish it: COMPLETE, PRUNED or FAIL.

    Re-raises the objective's exception, after the trial is finished, unless it is in
    ``catch``. A worker that got its trial from elsewhere (a Ray driver) calls this directly.
    """
    guard = guard or InterruptGuard()
    policy = study.heartbeat
    try:
        beater = None if policy is None else Beater(study, trial._trial_id, policy.interval)
        try:
            value = func(trial)
        finally:
            if beater is not None:
                beater.stop()
    except TrialPruned as pruned:
        with guard.writing():
            frozen = study._prune(trial, pruned)
    except BaseException as error:
        with guard.writing():
            frozen = study._fail(trial, error)
        if not isinstance(error, catch):
            raise
        logger.warning("trial %d failed: %s: %s", trial.number, type(error).__name__, error)
    else:
        with guard.writing():
            frozen = study.tell(trial, value, skip_if_finished=True)
    _log(study, frozen)
    return frozen


def _log(study: Study, frozen: FrozenTrial) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    if frozen.state is TrialState.COMPLETE:
        logger.info("trial %d finished with value %r and parameters %r", frozen.number,
                    frozen.value, dict(frozen.params))
    else:
        logger.info("trial %d %s: %s", frozen.number, frozen.state.name,
                    frozen.system_attrs.get("fail_reason", ""))


class Progress:
    """A tqdm progress bar showing the best value so far; does nothing when disabled."""

    def __init__(self, study: Study, enabled: bool, n_trials: int | None,
                 timeout: float | None) -> None:
        self._bar: Any = None
        self._best: float | None = None
        self._direction = study.direction
        if enabled:
            from tqdm.auto import tqdm

            total = n_trials if n_trials is not None else None
            self._bar = tqdm(total=total, desc=study.study_name, unit="trial")

    def update(self, state: TrialState, value: float | None) -> None:
        if self._bar is None:
            return
        if state is TrialState.COMPLETE and value is not None and (
            self._best is None or self._direction.better(value, self._best)
        ):
            self._best = value
        if self._best is not None:
            self._bar.set_postfix_str(f"best={self._best:.6g}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def optimize(
    study: Study,
    func: ObjectiveFunc,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    callbacks: list[CallbackFunc],
    catch: Iterable[type[Exception]] | type[Exception],
    show_progress_bar: bool,
    executor: Executor | None = None,
) -> None:
    """Validate the arguments and run the loop here, in worker processes or an executor."""
    if not callable(func):
        raise TypeError(f"the objective must be callable, got {func!r}")
    check_budget(n_trials, timeout)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be an int >= 1, or -1 for one per CPU, got {n_jobs!r}")
    caught = check_catch(catch)
    if executor is not None:
        if not callable(getattr(executor, "run", None)):
            raise TypeError(f"executor must have a run() method (e.g. hyperknob.RayExecutor), "
                            f"got {executor!r}")
        if n_jobs != 1:
            raise ValueError(f"n_jobs and executor do not mix: the executor decides how many "
                             f"trials run at once, got n_jobs={n_jobs!r}")
    jobs = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    study._stopped = False
    progress = Progress(study, show_progress_bar, n_trials, timeout)
    try:
        if executor is not None:
            executor.run(study, func, n_trials=n_trials, deadline=deadline,
                         callbacks=callbacks, catch=caught, on_trial=progress.update)
        elif jobs == 1:
            with InterruptGuard() as guard:
                _loop(study, func, n_trials, deadline, callbacks, caught, progress.update,
                      guard)
        else:
            from hyperknob.execution._processes import optimize_in_processes

            optimize_in_processes(study, func, n_trials=n_trials, deadline=deadline,
                                  n_jobs=jobs, callbacks=callbacks, catch=caught,
                                  on_trial=progress.update)
    finally:
        progress.close()


def _loop(
    study: Study,
    func: ObjectiveFunc,
    n_trials: int | None,
    deadline: float | None,
    callbacks: list[CallbackFunc],
    catch: tuple[type[Exception], ...],
    on_trial: Callable[[TrialState, float | None], None],
    guard: InterruptGuard,
) -> None:
    done = 0
    while not study._stopped:
        if n_trials is not None and done >= n_trials:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if study.sampler.is_exhausted(study._view):
            break
        frozen = run_trial(study, func, catch, guard)
        done += 1
        on_trial(frozen.state, frozen.value)
        for callback in callbacks:
            callback(study, frozen)
