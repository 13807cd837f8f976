"""The search space shared by a set of trials."""

from __future__ import annotations

from collections.abc import Iterable

from hyperknob.distributions import BaseDistribution
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


class IntersectionSearchSpace:
    """Track the parameters every COMPLETE trial shared, with the same distribution.

    Finished trials never change, so each one is folded in once; calling :meth:`calculate`
    after every trial costs time proportional to the new trials only.
    """

    def __init__(self, *, include_pruned: bool = False) -> None:
        self._states = (TrialState.COMPLETE, TrialState.PRUNED) if include_pruned else (
            TrialState.COMPLETE,)
        self._seen: set[int] = set()
        self._space: dict[str, BaseDistribution] | None = None
        #: Every trial numbered below this is finished and folded in: a caller passing trials
        #: ordered by number may pass only those from here on.
        self.watermark = 0

    def calculate(self, trials: Iterable[FrozenTrial]) -> dict[str, BaseDistribution]:
        """Return the intersection over ``trials`` (and every trial seen before), name-sorted.

        ``trials``: every trial (unfiltered) in order of number, or at least those numbered
        :attr:`watermark` or higher.
        """
        open_number: int | None = None
        last = self.watermark - 1
        for trial in trials:
            last = trial.number
            if open_number is None and not trial.state.is_finished():
                open_number = trial.number
            if trial.state not in self._states or trial.trial_id in self._seen:
                continue
            self._seen.add(trial.trial_id)
            if self._space is None:
                self._space = dict(trial.distributions)
            else:
                self._space = {
                    name: dist for name, dist in self._space.items()
                    if trial.distributions.get(name) == dist
                }
        self.watermark = max(self.watermark, last + 1 if open_number is None else open_number)
        if self._space is None:
            return {}
        return {name: self._space[name] for name in sorted(self._space)}
