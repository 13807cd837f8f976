"""The sampler interface. Samplers read a frozen view of the study and return values."""

from __future__ import annotations

import abc
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyperknob.distributions import BaseDistribution
from hyperknob.samplers._constraints import finish_attrs_for
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.samplers._constraints import ConstraintsFunc
    from hyperknob.study._view import StudyView

_EMPTY_CACHE = "<per-study cache, emptied by pickling>"


class BaseSampler(abc.ABC):
    """Suggest hyperparameter values from the history of a study.

    A sampler never writes: it gets a read-only :class:`~hyperknob.study.StudyView` and the
    current trial, and returns values in the *external* representation. Anything it needs to
    remember must be derivable from the stored trials, so that it behaves the same with one
    worker, many processes, or after a restart. (The one documented exception changes
    results only within a numerical tolerance: ``GPSampler``'s warm-started fits.)

    ``sample_relative`` (optional) draws several parameters jointly at the start of a trial
    over the space ``infer_relative_search_space`` returns; ``sample_independent`` draws one
    parameter the relative step did not cover.
    """

    #: Constraints of each finished trial (``samplers/_constraints.py``); samplers that take
    #: a ``constraints_func`` argument set it.
    constraints_func: ConstraintsFunc | None = None

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Return the parameters to sample jointly in ``sample_relative``."""
        return {}

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Return external values for (some of) the parameters of ``search_space``."""
        return {}

    @abc.abstractmethod
    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        """Return an external value for one parameter."""

    def finish_attrs(self, study: StudyView, trial: FrozenTrial) -> Mapping[str, Any]:
        """Return system attributes to store with ``trial`` as the study finishes it.

        Called for a COMPLETE or PRUNED trial, with the record as it will be stored (its
        final state and values), before the write: what is returned is written in the same
        transaction. By default: the constraint values, for a sampler with a
        ``constraints_func`` (``samplers/_constraints.py``); an exception fails the trial and
        propagates. Samplers never write themselves: the study does.
        """
        return finish_attrs_for(self.constraints_func, trial)

    def is_exhausted(self, study: StudyView) -> bool:
        """Return True when the sampler has nothing new to suggest (the study then stops)."""
        return False

    def __getstate__(self) -> dict[str, Any]:
        # Per-study caches are weak dicts keyed by a StudyView: rebuilt from the storage at
        # will, and not picklable. A copy (sent to a Ray worker) starts with empty ones.
        return {key: _EMPTY_CACHE if isinstance(value, weakref.WeakKeyDictionary) else value
                for key, value in self.__dict__.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({
            key: weakref.WeakKeyDictionary()
            if isinstance(value, str) and value == _EMPTY_CACHE else value
            for key, value in state.items()})
