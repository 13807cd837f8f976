"""The study's side of its live trials: the narrow writer a :class:`Trial` is handed.

One host per study. It knows which trials are open here (asked in this process and not yet
finished), keeps the pruner's last reason for each, asks the sampler and pruner through the
study's read-only view, and writes suggestions, reports and attributes to storage. It is
the only path from a Trial to storage.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import TYPE_CHECKING, Any

from hyperknob.distributions import BaseDistribution
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import Study


class StudyHost:
    """Implements :class:`hyperknob.trial.TrialHost` for one study."""

    __slots__ = ("_open", "_study", "report", "set_attr", "set_param")

    def __init__(self, study: Study) -> None:
        self._study = study
        # The writes go straight to the study's storage (one call less on the hot path).
        storage = study._storage
        self.set_param = storage.set_trial_param
        self.report = storage.set_trial_intermediate_value
        self.set_attr = storage.set_trial_attr
        #: Trial id -> the pruner's last reason to stop it (None: go on), for the trials open
        #: here: the study adds a trial when it hands it out and removes it when it finishes
        #: it (on the hot path, so it writes the dict itself rather than call a method).
        self._open: dict[int, str | None] = {}

    def prune_reason(self, trial_id: int) -> str | None:
        """Return the pruner's last reason to stop an open trial (None: it said go on)."""
        return self._open.get(trial_id)

    # -- TrialHost ---------------------------------------------------------------------------
    @property
    def study(self) -> Study:
        return self._study

    def sample_relative(self, trial: FrozenTrial) -> Mapping[str, Any]:
        study = self._study
        sampler, view = study.sampler, study._view
        space = sampler.infer_relative_search_space(view, trial)
        return sampler.sample_relative(view, trial, space)

    def sample_independent(self, trial: FrozenTrial, name: str,
                           distribution: BaseDistribution) -> Any:
        study = self._study
        return study.sampler.sample_independent(study._view, trial, name, distribution)

    def should_prune(self, trial: FrozenTrial) -> bool:
        reason = self._study.pruner.check(self._study._view, trial)
        if trial.trial_id in self._open:  # the last answer: a later "go on" clears a stop
            self._open[trial.trial_id] = reason
        return reason is not None

    @property
    def open_trials(self) -> Container[int]:
        return self._open

    def stored_state(self, trial_id: int) -> TrialState:
        return self._study._storage.get_trial(trial_id).state
