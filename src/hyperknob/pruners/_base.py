"""The pruner interface: a read-only view of the study and a trial in, a decision out."""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING

from hyperknob._direction import StudyDirection
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def reported_direction(study: StudyView) -> StudyDirection:
    """Return the direction of the values trials report (``trial.report``): the study's, or
    with several objectives the first one's (a trial reports its progress on one measure,
    the first objective; hyperknob's nn objectives report the validation metric)."""
    return study.directions[0]


class BasePruner(abc.ABC):
    """Decide whether a running trial should stop early.

    Like samplers, pruners never write and keep no state of their own that the stored trials
    could not rebuild: every decision is a function of the study's stored trials, so it is
    the same in every worker process and after a restart.

    An abstract base class. Subclasses define :meth:`check`, which says why a trial should
    stop (or returns None), or only :meth:`prune`, the yes/no form (Optuna's interface),
    which then gives :meth:`check` a default reason; a subclass defining neither is refused
    when it is defined. ``Trial.should_prune`` asks :meth:`check` and keeps the reason,
    which the study stores with the PRUNED trial.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        defines_check = any("check" in vars(k) for k in cls.__mro__[:-1] if k is not BasePruner)
        defines_prune = any("prune" in vars(k) for k in cls.__mro__[:-1] if k is not BasePruner)
        if not defines_check and not defines_prune:
            raise TypeError(f"pruner {cls.__name__} must define check() or prune()")
        if not defines_check:  # Optuna's style: the reason says who pruned, and at which step
            cls.check = _check_from_prune  # type: ignore[method-assign]

    def prune(self, study: StudyView, trial: FrozenTrial) -> bool:
        """Return True if ``trial`` (with its reported intermediate values) should stop."""
        return self.check(study, trial) is not None

    @abc.abstractmethod
    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        """Return why ``trial`` should stop now, with the numbers behind it, or None."""


def _check_from_prune(self: BasePruner, study: StudyView, trial: FrozenTrial) -> str | None:
    if not self.prune(study, trial):
        return None
    return f"{type(self).__name__} pruned the trial at step {last_step(trial)}"


class NopPruner(BasePruner):
    """Never prune.

    Example:
        >>> NopPruner().prune(None, None)  # type: ignore[arg-type]
        False
    """

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        return None


def last_step(trial: FrozenTrial) -> int | None:
    """Return the largest step ``trial`` reported, or None before its first report."""
    values = trial.intermediate_values
    return max(values) if values else None


def is_nan(value: float) -> bool:
    """Return whether a reported value is NaN."""
    return math.isnan(value)
