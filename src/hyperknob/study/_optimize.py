"""``Study.optimize``: check the arguments, build the one loop, hand it to an executor."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int, check_number
from hyperknob.execution._loop import TrialLoop
from hyperknob.execution._processes import ProcessExecutor
from hyperknob.execution._serial import SerialExecutor
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.execution._base import Executor
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study


def check_budget(n_trials: int | None, timeout: float | None) -> None:
    """Raise a clear error unless ``n_trials`` is an int >= 0 or None and ``timeout`` a number
    of seconds > 0 or None."""
    check_int("n_trials", n_trials, least=0, none_ok=True)
    check_number("timeout", timeout, above=0.0, none_ok=True, unit="seconds")


def check_catch(
    catch: Iterable[type[Exception]] | type[Exception],
) -> tuple[type[Exception], ...]:
    """Return ``catch`` as a tuple of exception classes, or raise a clear ``TypeError``."""
    items = (catch,) if isinstance(catch, type) else tuple(catch)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"catch must hold exception classes, got {item!r}")
    return items


class Progress:
    """A tqdm progress bar showing the best value so far; does nothing when disabled."""

    def __init__(self, study: Study, enabled: bool, n_trials: int | None,
                 timeout: float | None) -> None:
        self._bar: Any = None
        self._best: float | None = None
        # Several objectives have no single best value: the bar then counts trials only.
        directions = study.directions
        self._direction = directions[0] if len(directions) == 1 else None
        if enabled:
            from tqdm.auto import tqdm

            total = n_trials if n_trials is not None else None
            self._bar = tqdm(total=total, desc=study.study_name, unit="trial")

    def update(self, state: TrialState, values: tuple[float, ...] | None) -> None:
        if self._bar is None:
            return
        direction = self._direction
        if state is TrialState.COMPLETE and values is not None and direction is not None and (
            self._best is None or direction.better(values[0], self._best)
        ):
            self._best = values[0]
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
    total_trials: int | None = None,
) -> None:
    """Validate the arguments, build the one :class:`TrialLoop` and let the executor run it:
    :class:`SerialExecutor` for ``n_jobs=1``, :class:`ProcessExecutor` for more."""
    if not callable(func) and executor is None:
        raise TypeError(f"the objective must be callable, got {func!r}")
    check_budget(n_trials, timeout)
    check_int("total_trials", total_trials, least=0, none_ok=True)
    if n_jobs != -1:
        check_int("n_jobs", n_jobs, least=1, also=", or -1 for one per CPU")
    caught = check_catch(catch)
    if executor is not None:
        if not callable(getattr(executor, "run", None)):
            raise TypeError(f"executor must have a run() method (e.g. hyperknob.RayExecutor), "
                            f"got {executor!r}")
        if n_jobs != 1:
            raise ValueError(f"n_jobs and executor do not mix: the executor decides how many "
                             f"trials run at once, got n_jobs={n_jobs!r}")
    elif n_jobs == 1:
        executor = SerialExecutor()
    else:
        executor = ProcessExecutor(n_jobs)
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    study._stopped = False
    progress = Progress(study, show_progress_bar, n_trials, timeout)
    loop = TrialLoop(study, n_trials=n_trials, deadline=deadline, callbacks=callbacks,
                     on_trial=progress.update, total_trials=total_trials)
    try:
        executor.run(loop, func, caught)
    finally:
        progress.close()
