"""The one optimize loop: which trial may start, how one trial runs, what follows its end.

Every way of running trials -- here, in worker processes, on Ray actors, K at a time in one
batched training -- is an executor that drives a :class:`TrialLoop`: it takes the next trial
from the loop (:meth:`TrialLoop.next_trial` checks :meth:`Study.stop`, the ``n_trials``
budget, the deadline and a sampler with nothing left, all in one place, and returns None
when the loop is over), evaluates it with :func:`evaluate` wherever it runs, and hands each
finished trial back (:meth:`TrialLoop.finished` updates the progress bar and runs the
callbacks, on the driver). Executors use the study's public lifecycle only
(``ask``/``tell``/``prune``/``fail``), so the study stays the one writer of storage.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hyperknob.exceptions import TrialPruned
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study
    from hyperknob.trial._trial import Trial

logger = logging.getLogger("hyperknob")


class Budget:
    """How many trials may still start, and whether to stop: the part of a loop that worker
    processes share (``ProcessExecutor`` hands them one in shared memory)."""

    def __init__(self, n_trials: int | None, total: int | None = None) -> None:
        self.n_trials = n_trials
        #: Finished trials wanted in the study in all, counted in storage across every
        #: process and machine running it (None: no such limit).
        self.total = total
        self.started = 0
        #: Set by :meth:`stop`: start no more trials, in every worker sharing this budget.
        self.stop_requested = False

    def left(self) -> int | None:
        """Return how many more trials may start (None: no limit)."""
        return None if self.n_trials is None else max(0, self.n_trials - self.started)

    def take(self) -> bool:
        """Take one trial's place if one is left; return whether it was taken."""
        if self.n_trials is not None and self.started >= self.n_trials:
            return False
        self.started += 1
        return True

    def give_back(self) -> None:
        """Return a taken place (a lost trial's retry will take it)."""
        self.started -= 1

    def stop(self) -> None:
        """Start no more trials, in every worker sharing this budget."""
        self.stop_requested = True


class TrialLoop:
    """The budget and the bookkeeping of one ``Study.optimize`` call, whatever runs it.

    Args:
        study: The study the trials belong to.
        n_trials: How many trials to start (None: no limit); a lost trial that is retried
            gives its place back (:meth:`give_back`).
        deadline: ``time.monotonic()`` after which no trial starts (None: none).
        callbacks: ``callback(study, frozen_trial)`` for each finished trial.
        on_trial: ``on_trial(state, values)`` for each finished trial (the progress bar).
        budget: The budget to draw from instead of a fresh one for ``n_trials`` (worker
            processes share one).
        log: Whether to log each finished trial (a worker leaves that to its driver).
        total_trials: Start trials only while the study holds fewer than this many COMPLETE,
            PRUNED or RUNNING trials, whoever runs them (see :meth:`next_trial`).
    """

    def __init__(
        self,
        study: Study,
        *,
        n_trials: int | None = None,
        deadline: float | None = None,
        callbacks: Iterable[CallbackFunc] = (),
        on_trial: Callable[[TrialState, tuple[float, ...] | None], None] | None = None,
        budget: Budget | None = None,
        log: bool = True,
        total_trials: int | None = None,
    ) -> None:
        self.study = study
        self._log = log
        self._sampler_view = study.view  # read once: the view of a study does not change
        self.budget = budget if budget is not None else Budget(n_trials, total_trials)
        self.deadline = deadline
        self.callbacks = list(callbacks)
        self._on_trial = on_trial

    def left(self) -> int | None:
        """Return how many more trials the budget allows (None: no limit)."""
        return self.budget.left()

    def _open(self) -> bool:
        """Return whether the loop is still open: not stopped, before the deadline, and the
        sampler has something left (a finished grid stops every worker)."""
        study = self.study
        if study.should_stop() or self.budget.stop_requested:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        if study.sampler.is_exhausted(self._sampler_view):
            self.budget.stop()
            return False
        return True

    def may_start(self) -> bool:
        """Return whether another trial may start now (takes nothing from the budget)."""
        left = self.budget.left()
        return (left is None or left > 0) and self._open()

    def next_trial(self) -> Trial | None:
        """Start the next trial, counted against the budget, or return None: stopped, out of
        budget or time, or nothing left to sample."""
        if not self.budget.take():
            return None
        if not self._open() or not self._below_total():  # checked after taking: the ask
            self.budget.give_back()  # follows at once (a grid point another worker claims
            return None  # meanwhile is counted)
        trial = self.study.ask()
        if self.budget.total is not None and self._surplus(trial):
            self.budget.give_back()
            self.budget.stop()
            return None
        return trial

    _COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)

    def _below_total(self) -> bool:
        """Return whether the study holds fewer than ``total`` counted trials (a dead
        process's trials are reaped first, under a heartbeat policy)."""
        total = self.budget.total
        if total is None:
            return True
        study = self.study
        if self._sampler_view.count_trials(self._COUNTED) < total:
            return True
        if study.heartbeat is None or not study.reap_stale_trials():
            return False
        return self._sampler_view.count_trials(self._COUNTED) < total

    def _surplus(self, trial: Trial) -> bool:
        """Return whether ``trial`` is one too many: another process started the study's
        last trial between :meth:`_below_total` and the ask. The later-numbered trial
        yields: it is failed at once ("surplus") and its fixed parameters queued again."""
        study = self.study
        total = self.budget.total
        assert total is not None
        if self._sampler_view.count_trials(self._COUNTED) <= total:
            return False
        before = sum(t.number < trial.number for t in study.get_trials(states=self._COUNTED))
        if before < total:
            return False
        frozen = study.fail(trial, f"surplus: the study already has its {total} trials "
                                   "(another process started the last one first)",
                            skip_if_finished=True)
        fixed = trial.snapshot().system_attrs.get("fixed_params")
        if frozen.state is TrialState.FAIL and isinstance(fixed, dict):
            study.enqueue_trial(fixed, user_attrs=dict(frozen.user_attrs))
        return True

    def next_for_worker(self) -> FrozenTrial | None:
        """Like :meth:`next_trial`, for a trial a worker elsewhere runs: return its record,
        which the worker opens with ``Study.running_trial``."""
        trial = self.next_trial()
        return None if trial is None else self.study.hand_off(trial)

    def give_back(self) -> None:
        """Return a started trial's place in the budget (its retry will take it)."""
        self.budget.give_back()

    def wants_records(self) -> bool:
        """Return whether :meth:`finished` needs whole records (callbacks or an INFO log to
        feed); else :meth:`tally` of a trial's state and values is enough."""
        return bool(self.callbacks) or (self._log and logger.isEnabledFor(logging.INFO))

    def tally(self, state: TrialState, values: tuple[float, ...] | None) -> None:
        """Update the progress bar for a finished trial."""
        if self._on_trial is not None:
            self._on_trial(state, values)

    def finished(self, frozen: FrozenTrial) -> None:
        """Record a finished trial: log it, update the progress bar, run the callbacks."""
        self.tally(frozen.state, frozen.values)
        if self._log and logger.isEnabledFor(logging.INFO):
            _log(frozen)
        for callback in self.callbacks:
            callback(self.study, frozen)


def evaluate(
    study: Study,
    trial: Trial,
    func: ObjectiveFunc,
    catch: tuple[type[Exception], ...] = (),
    guard: InterruptGuard | None = None,
    on_error: Callable[[], object] | None = None,
) -> FrozenTrial:
    """Run the objective on a started trial and finish it: COMPLETE, PRUNED or FAIL.

    Whatever stops the objective -- an exception, Ctrl-C, ``sys.exit`` -- the trial is
    finished (FAIL, with the reason and traceback) before the exception travels on; an
    exception whose type is in ``catch`` is logged and not re-raised. ``on_error`` is called
    for an exception that travels on, before the FAIL is stored (a worker's stop reaches the
    others at once, not after a write that may wait on a busy database).
    """
    guard = guard or _NO_GUARD
    try:
        with study.keep_alive((trial,)):
            value = func(trial)
    except TrialPruned as pruned:
        with guard.writing():
            return study.prune(trial, str(pruned) or None, skip_if_finished=True)
    except BaseException as raised:
        error = _as_interrupt(raised) if guard.interrupted else raised
        if on_error is not None and (error is not raised or not isinstance(error, catch)):
            on_error()
        with guard.writing():
            frozen = study.fail(trial, error, skip_if_finished=True)
        if error is not raised:
            raise error from raised
        if not isinstance(error, catch):
            raise
        logger.warning("trial %d failed: %s: %s", trial.number, type(error).__name__, error)
        return frozen
    try:
        with guard.writing():
            return study.tell(trial, value, skip_if_finished=True)
    except BaseException as error:  # a Ctrl-C after the objective returned, before the write
        with guard.writing():
            study.fail(trial, error, skip_if_finished=True)
        raise


def ask_and_evaluate(
    loop: TrialLoop,
    func: ObjectiveFunc,
    catch: tuple[type[Exception], ...],
    guard: InterruptGuard,
) -> FrozenTrial | None:
    """Start the loop's next trial and evaluate it here; None when the loop may start no
    more. A Ctrl-C while the trial is being created is held until it exists, then fails it."""
    trial = None
    try:
        with guard.writing():
            trial = loop.next_trial()
    except BaseException as error:
        if trial is None:
            raise
        with guard.writing():
            loop.study.fail(trial, error, skip_if_finished=True)
        raise
    if trial is None:
        return None
    return evaluate(loop.study, trial, func, catch, guard)


class InterruptGuard:
    """Hold Ctrl-C while a storage write is in progress, so no trial is left half-told.

    One SIGINT handler serves a whole optimize loop (installing a handler per write costs
    more than the write itself in memory). Outside a write it raises ``KeyboardInterrupt`` at
    once, as Python's default does; inside one it notes the signal and the write raises it
    when done. Works only in the main thread, and only replaces Python's default handler.
    """

    def __init__(self) -> None:
        #: Whether a storage write is under way, and whether a Ctrl-C came during it (the
        #: write's context, :class:`_Writing`, raises it when the write is done).
        self.in_write = False
        self.held_interrupt = False
        self._previous: Any = None
        self._writer = _Writing(self)
        #: Whether a Ctrl-C arrived: whatever the objective raises after it is an interrupt
        #: (a SIGINT landing in an import surfaces as an ImportError, for one).
        self.interrupted = False

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
        self.interrupted = True
        if self.in_write:
            self.held_interrupt = True
        else:
            raise KeyboardInterrupt

    def writing(self) -> _Writing:
        """Return a context for a storage write: a Ctrl-C arriving in it is raised after it."""
        return self._writer


class _Writing:
    """The context :meth:`InterruptGuard.writing` returns (a class, not a generator-based
    context manager: it is entered twice per trial)."""

    __slots__ = ("_guard",)

    def __init__(self, guard: InterruptGuard) -> None:
        self._guard = guard

    def __enter__(self) -> None:
        self._guard.in_write = True

    def __exit__(self, *exc_info: object) -> None:
        guard = self._guard
        guard.in_write = False
        if guard.held_interrupt:
            guard.held_interrupt = False
            raise KeyboardInterrupt


def _as_interrupt(error: BaseException) -> BaseException:
    """Return ``error`` if it is a KeyboardInterrupt, else one that names it."""
    if isinstance(error, KeyboardInterrupt):
        return error
    return KeyboardInterrupt(f"Ctrl-C, which surfaced as {type(error).__name__}: {error}")


_NO_GUARD = InterruptGuard()  # never entered: writes run unguarded, Ctrl-C as usual


def _log(frozen: FrozenTrial) -> None:
    if frozen.state is TrialState.COMPLETE:
        values = frozen.values or ()
        logger.info("trial %d finished with %s %r and parameters %r", frozen.number,
                    "value" if len(values) == 1 else "values",
                    values[0] if len(values) == 1 else list(values), dict(frozen.params))
    else:
        logger.info("trial %d %s: %s", frozen.number, frozen.state.name,
                    frozen.system_attrs.get("fail_reason", ""))
