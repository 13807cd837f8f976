"""SerialExecutor: one trial at a time, in this process (what ``n_jobs=1`` runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperknob.execution._loop import InterruptGuard, TrialLoop, ask_and_evaluate

if TYPE_CHECKING:
    from hyperknob.study._study import ObjectiveFunc


class SerialExecutor:
    """Run trials one after another in the calling process.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(seed=0)
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3,
        ...                executor=SerialExecutor())
        >>> len(study.trials)
        3
    """

    def run(self, loop: TrialLoop, func: ObjectiveFunc,
            catch: tuple[type[Exception], ...]) -> None:
        """Ask, evaluate and finish trials here until the loop may start no more."""
        with InterruptGuard() as guard:
            while (frozen := ask_and_evaluate(loop, func, catch, guard)) is not None:
                loop.finished(frozen)

    def __repr__(self) -> str:
        return "SerialExecutor()"
