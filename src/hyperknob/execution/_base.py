"""The executor interface: something that runs a study's optimize loop somewhere else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study


class Executor(Protocol):
    """Runs trials of a study until the budget is spent, the deadline passes or it stops.

    ``Study.optimize(..., executor=...)`` hands over the validated arguments. An executor
    counts ``n_trials`` (None: no limit), watches ``deadline`` (``time.monotonic()`` seconds,
    None: none) and ``study._stopped``, calls ``on_trial(state, value)`` and every callback
    on the driver once per finished trial, and re-raises an objective's exception whose type
    is not in ``catch`` after its trial is stored as FAIL.
    """

    def run(
        self,
        study: Study,
        func: ObjectiveFunc,
        *,
        n_trials: int | None,
        deadline: float | None,
        callbacks: list[CallbackFunc],
        catch: tuple[type[Exception], ...],
        on_trial: Callable[[TrialState, float | None], None],
    ) -> None:
        """Run the loop; return when done."""
