"""The one optimize loop: which trial may start, how one trial runs, what follows its end.

Every way of running trials -- here, in worker processes, on Ray actors, K at a time in one
batched training -- is an executor that drives a :class:`TrialLoop`: it asks the loop
whether another trial may start (:meth:`TrialLoop.may_start` checks :meth:`Study.stop`,
``n_trials``, the deadline and a sampler with nothing left, all in one place), asks the
trial through it, evaluates it with :func:`evaluate` wherever it runs, and hands each
finished trial back (:meth:`TrialLoop.finished` updates the progress bar and runs the
callbacks, on the driver). Executors use the study's public lifecycle only
(``ask``/``tell``/``prune``/``fail``), so the study stays the one writer of storage.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from hyperknob.exceptions import TrialPruned
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study
    from hyperknob.trial._trial import Trial

logger = logging.getLogger("hyperknob")


class TrialLoop:
    """The budget and the bookkeeping of one ``Study.optimize`` call, whatever runs it.

    Args:
        study: The study the trials belong to.
        n_trials: How many trials to start (None: no limit); a lost trial that is retried
            gives its place back (:meth:`give_back`).
        deadline: ``time.monotonic()`` after which no trial starts (None: none).
        callbacks: ``callback(study, frozen_trial)`` for each finished trial, on the driver.
        on_trial: ``on_trial(state, value)`` for each finished trial (the progress bar).
    """

    def __init__(
        self,
        study: Study,
        *,
        n_trials: int | None = None,
        deadline: float | None = None,
        callbacks: Iterable[CallbackFunc] = (),
        on_trial: Callable[[TrialState, float | None], None] | None = None,
    ) -> None:
        self.study = study
        self._sampler_view = study.view  # read once: the view of a study does not change
        self.n_trials = n_trials
        self.deadline = deadline
        self.callbacks = list(callbacks)
        self._on_trial = on_trial
        self.started = 0
        self.finished_count = 0

    def left(self) -> int | None:
        """Return how many more trials the budget allows (None: no limit)."""
        return None if self.n_trials is None else max(0, self.n_trials - self.started)

    def may_start(self) -> bool:
        """Return whether another trial may start now."""
        study = self.study
        if study.should_stop():
            return False
        if self.n_trials is not None and self.started >= self.n_trials:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        return not study.sampler.is_exhausted(self._sampler_view)

    def ask(self) -> Trial:
        """Start a trial (counted against ``n_trials``)."""
        trial = self.study.ask()
        self.started += 1
        return trial

    def ask_for_worker(self) -> int:
        """Start a trial (counted) that a worker elsewhere runs; return its number."""
        return self.study.hand_off(self.ask())

    def give_back(self) -> None:
        """Return a started trial's place in the budget (its retry will take it)."""
        self.started -= 1

    def finished(self, frozen: FrozenTrial) -> None:
        """Record a finished trial: log it, update the progress bar, run the callbacks."""
        self.finished_count += 1
        if logger.isEnabledFor(logging.INFO):
            _log(frozen)
        if self._on_trial is not None:
            self._on_trial(frozen.state, frozen.value)
        for callback in self.callbacks:
            callback(self.study, frozen)


def evaluate(
    study: Study,
    trial: Trial,
    func: ObjectiveFunc,
    catch: tuple[type[Exception], ...] = (),
    guard: InterruptGuard | None = None,
) -> FrozenTrial:
    """Run the objective on a started trial and finish it: COMPLETE, PRUNED or FAIL.

    Whatever stops the objective -- an exception, Ctrl-C, ``sys.exit`` -- the trial is
    finished (FAIL, with the reason and traceback) before the exception travels on; an
    exception whose type is in ``catch`` is logged and not re-raised.
    """
    guard = guard or _NO_GUARD
    try:
        if study.heartbeat is None:
            value = func(trial)
        else:
            with study.keep_alive([trial]):
                value = func(trial)
    except TrialPruned as pruned:
        with guard.writing():
            return study.prune(trial, str(pruned) or None, skip_if_finished=True)
    except BaseException as raised:
        error = _as_interrupt(raised) if guard.interrupted else raised
        with guard.writing():
            frozen = study.fail(trial, error, skip_if_finished=True)
        if error is not raised:
            raise error from raised
        if not isinstance(error, catch):
            raise
        logger.warning("trial %d failed: %s: %s", trial.number, type(error).__name__, error)
        return frozen
    with guard.writing():
        return study.tell(trial, value, skip_if_finished=True)


def ask_and_evaluate(
    loop: TrialLoop,
    func: ObjectiveFunc,
    catch: tuple[type[Exception], ...],
    guard: InterruptGuard,
) -> FrozenTrial:
    """Ask one trial through ``loop`` and evaluate it here. A Ctrl-C while the trial is
    being created is held until it exists, then fails it."""
    trial = None
    try:
        with guard.writing():
            trial = loop.ask()
    except BaseException as error:
        if trial is None:
            raise
        with guard.writing():
            loop.study.fail(trial, error, skip_if_finished=True)
        raise
    return evaluate(loop.study, trial, func, catch, guard)


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


def _as_interrupt(error: BaseException) -> BaseException:
    """Return ``error`` if it is a KeyboardInterrupt, else one that names it."""
    if isinstance(error, KeyboardInterrupt):
        return error
    return KeyboardInterrupt(f"Ctrl-C, which surfaced as {type(error).__name__}: {error}")


_NO_GUARD = InterruptGuard()  # never entered: writes run unguarded, Ctrl-C as usual


def _log(frozen: FrozenTrial) -> None:
    if frozen.state is TrialState.COMPLETE:
        logger.info("trial %d finished with value %r and parameters %r", frozen.number,
                    frozen.value, dict(frozen.params))
    else:
        logger.info("trial %d %s: %s", frozen.number, frozen.state.name,
                    frozen.system_attrs.get("fail_reason", ""))
