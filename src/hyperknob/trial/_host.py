"""TrialHost: what a live :class:`~hyperknob.trial.Trial` may ask of the study that started it.

A trial never writes to storage and never sees the study's internals: it hands its
suggestions, reports and attributes to its host, which the study builds (one per study) and
which is the study's narrow writer. The trial package depends on this protocol only, so
``trial`` imports nothing from ``study`` or ``execution``.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any, Protocol

from hyperknob.distributions import BaseDistribution
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


class TrialHost(Protocol):
    """The study side of a running trial: sampling, pruning and the writes it makes."""

    @property
    def study(self) -> Any:
        """Return the :class:`~hyperknob.Study` the trial belongs to (as the objective sees
        it: in a worker process or on a Ray node, that worker's own handle)."""

    def sample_relative(self, trial: FrozenTrial) -> Mapping[str, Any]:
        """Return the sampler's joint suggestion for ``trial`` (may be empty)."""

    def sample_independent(self, trial: FrozenTrial, name: str,
                           distribution: BaseDistribution) -> Any:
        """Return the sampler's suggestion for one parameter of ``trial``."""

    def should_prune(self, trial: FrozenTrial) -> bool:
        """Ask the pruner about ``trial`` now; the host keeps the reason for the PRUNED record."""

    def set_param(self, trial_id: int, name: str, internal: float,
                  distribution: BaseDistribution) -> None:
        """Store a suggested parameter (its internal float) of a running trial."""

    def report(self, trial_id: int, step: int, value: float) -> None:
        """Store an intermediate value of a running trial."""

    def set_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        """Store a user ("user") or system ("system") attribute of a running trial."""

    @property
    def open_trials(self) -> Container[int]:
        """Return the ids of the trials that are RUNNING here: asked through this host's study
        and not yet finished by it."""

    def stored_state(self, trial_id: int) -> TrialState:
        """Return the trial's state as stored (for the error about a finished trial)."""
