"""The study's side of its live trials: the narrow writer a :class:`Trial` is handed.

One host per study. It knows which trials are open here (asked in this process and not yet
finished), keeps the pruner's last reason for each, asks the sampler and pruner through the
study's read-only view, and writes suggestions, reports and attributes to storage. It is
the only path from a Trial to storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyperknob.distributions import BaseDistribution
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import Study


class StudyHost:
    """Implements :class:`hyperknob.trial.TrialHost` for one study."""

    __slots__ = ("_open", "_study")

    def __init__(self, study: Study) -> None:
        self._study = study
        # trial id -> the pruner's last reason to stop it (None: go on), for open trials only
        self._open: dict[int, str | None] = {}

    # -- the lifecycle, as the study drives it -----------------------------------------------
    def opened(self, trial_id: int) -> None:
        """Note that a RUNNING trial is now live in this process."""
        self._open[trial_id] = None

    def closed(self, trial_id: int) -> str | None:
        """Note that the study finished the trial; return the pruner's last reason."""
        return self._open.pop(trial_id, None)

    def prune_reason(self, trial_id: int) -> str | None:
        """Return the pruner's last reason to stop an open trial (None: it said go on)."""
        return self._open.get(trial_id)

    # -- TrialHost ---------------------------------------------------------------------------
    @property
    def study(self) -> Study:
        return self._study

    def sample_relative(self, trial: FrozenTrial) -> Mapping[str, Any]:
        study = self._study
        sampler, view = study.sampler, study.view
        space = sampler.infer_relative_search_space(view, trial)
        return sampler.sample_relative(view, trial, space)

    def sample_independent(self, trial: FrozenTrial, name: str,
                           distribution: BaseDistribution) -> Any:
        return self._study.sampler.sample_independent(self._study.view, trial, name,
                                                      distribution)

    def should_prune(self, trial: FrozenTrial) -> bool:
        reason = self._study.pruner.check(self._study.view, trial)
        if trial.trial_id in self._open:  # the last answer: a later "go on" clears a stop
            self._open[trial.trial_id] = reason
        return reason is not None

    def set_param(self, trial_id: int, name: str, internal: float,
                  distribution: BaseDistribution) -> None:
        self._study._storage.set_trial_param(trial_id, name, internal, distribution)

    def report(self, trial_id: int, step: int, value: float) -> None:
        self._study._storage.set_trial_intermediate_value(trial_id, step, value)

    def set_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        self._study._storage.set_trial_attr(trial_id, kind, key, value)

    def is_open(self, trial_id: int) -> bool:
        return trial_id in self._open

    def stored_state(self, trial_id: int) -> TrialState:
        return self._study._storage.get_trial(trial_id).state
