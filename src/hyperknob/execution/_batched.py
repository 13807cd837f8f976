"""BatchedExecutor: run the optimize loop K trials at a time, evaluated together.

Each round asks up to K trials through the loop, one after another, and lets the objective
pick each one's configuration right after it is asked -- so TPE and the GP see the earlier
ones as RUNNING and lie about them (constant liar), and the K suggestions differ. The
objective then evaluates the K together (``hyperknob.nn`` trains K networks as one batched
model) and returns one outcome per trial: a value, or the exception that ended it. Each
trial is told on its own (COMPLETE, PRUNED, FAIL) and handed to the loop's callbacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hyperknob._checks import check_int
from hyperknob.exceptions import TrialPruned
from hyperknob.execution._loop import InterruptGuard, TrialLoop

if TYPE_CHECKING:
    from hyperknob.trial._frozen import FrozenTrial
    from hyperknob.trial._trial import Trial


@runtime_checkable
class BatchObjective(Protocol):
    """An objective that evaluates several trials at once."""

    def suggest(self, trial: Trial) -> Any:
        """Suggest the trial's parameters (it was just asked) and return what
        :meth:`evaluate_batch` needs of it."""

    def evaluate_batch(self, trials: Sequence[Trial], suggested: Sequence[Any]
                       ) -> Sequence[float | Sequence[float] | BaseException]:
        """Evaluate the trials together; return each one's value (one per objective in a
        study with several) or the exception that ended it (``TrialPruned`` to prune it).
        Raising fails every trial of the batch."""


class OneByOne:
    """Make a plain objective ``func(trial) -> float`` a :class:`BatchObjective` that runs
    its trials one after another (to check a batched loop with any objective)."""

    def __init__(self, func: Any) -> None:
        self.func = func

    def suggest(self, trial: Trial) -> None:
        return None

    def evaluate_batch(self, trials: Sequence[Trial], suggested: Sequence[Any]
                       ) -> list[float | Sequence[float] | BaseException]:
        outcomes: list[float | Sequence[float] | BaseException] = []
        for trial in trials:
            try:
                outcomes.append(self.func(trial))
            except Exception as error:
                outcomes.append(error)
        return outcomes


class BatchedExecutor:
    """Run trials ``batch`` at a time, evaluated together by a :class:`BatchObjective`
    (e.g. ``hyperknob.nn.objective(...)``, which trains the K networks as one model).

    ``n_trials`` cuts the last batch; the deadline, :meth:`Study.stop` and a sampler with
    nothing left are checked before each trial is asked.

    Example:
        >>> import hyperknob
        >>> from hyperknob import nn
        >>> job = nn.objective("iris")  # doctest: +SKIP
        >>> study = hyperknob.create_study(direction=job.direction)  # doctest: +SKIP
        >>> study.optimize(job, n_trials=64, executor=BatchedExecutor(16))  # doctest: +SKIP
    """

    def __init__(self, batch: int) -> None:
        self.batch: int = check_int("batch", batch, least=1)

    def __repr__(self) -> str:
        return f"BatchedExecutor(batch={self.batch})"

    def run(self, loop: TrialLoop, func: Any, catch: tuple[type[Exception], ...]) -> None:
        """Ask, evaluate together and tell batches until the loop may start no more."""
        if not isinstance(func, BatchObjective):
            raise TypeError(f"BatchedExecutor needs an objective that evaluates a batch "
                            f"(suggest() and evaluate_batch(), e.g. hyperknob.nn.objective"
                            f"(...)), got {func!r}")
        with InterruptGuard() as guard:
            while True:
                finished, error = self.run_batch(loop, func, catch, guard)
                if not finished:
                    return
                for frozen in finished:
                    loop.finished(frozen)
                if error is not None:
                    raise error

    def run_batch(self, loop: TrialLoop, func: BatchObjective,
                  catch: tuple[type[Exception], ...],
                  guard: InterruptGuard) -> tuple[list[FrozenTrial], BaseException | None]:
        """Run one batch; return its finished trials and the first error not in ``catch``.

        Whatever stops the batch (an exception, Ctrl-C) fails every trial not yet finished,
        with the reason, before the exception travels on.
        """
        study = loop.study
        trials: list[Trial] = []
        suggested: list[Any] = []
        finished: list[FrozenTrial] = []
        error: BaseException | None = None
        try:
            while len(trials) < self.batch:
                with guard.writing():
                    trial = loop.next_trial()
                    if trial is None:
                        break
                    trials.append(trial)
                suggested.append(func.suggest(trial))
            if not trials:
                return [], None
            with study.keep_alive(trials):  # one thread beats for the batch until all are told
                outcomes = func.evaluate_batch(trials, suggested)
                for trial, outcome in zip(trials, outcomes, strict=True):
                    with guard.writing():
                        if isinstance(outcome, TrialPruned):
                            frozen = study.prune(trial, str(outcome) or None,
                                                 skip_if_finished=True)
                        elif isinstance(outcome, BaseException):
                            frozen = study.fail(trial, outcome, skip_if_finished=True)
                            if error is None and not isinstance(outcome, catch):
                                error = outcome
                        else:
                            frozen = study.tell(trial, outcome, skip_if_finished=True)
                    finished.append(frozen)
        except BaseException as failure:
            for trial in trials[len(finished):]:
                study.fail(trial, failure, skip_if_finished=True)
            raise
        return finished, error
