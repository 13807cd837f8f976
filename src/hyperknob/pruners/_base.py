"""The pruner interface: a read-only view of the study and a trial in, a decision out."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


class BasePruner(abc.ABC):
    """Decide whether a running trial should stop early.

    Like samplers, pruners never write and keep no state of their own that the stored trials
    could not rebuild.
    """

    @abc.abstractmethod
    def prune(self, study: StudyView, trial: FrozenTrial) -> bool:
        """Return True if ``trial`` (with its reported intermediate values) should stop."""


class NopPruner(BasePruner):
    """Never prune.

    Example:
        >>> NopPruner().prune(None, None)  # type: ignore[arg-type]
        False
    """

    def prune(self, study: StudyView, trial: FrozenTrial) -> bool:
        return False
