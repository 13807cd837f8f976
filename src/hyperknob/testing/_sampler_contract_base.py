"""Shared parts of the sampler contract: hooks, helpers and the recording storage proxy.

The checks themselves live in the ``_sampler_contract_*`` mixins, which
:class:`~hyperknob.testing.SamplerContract` combines.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from typing import Any

import pytest

from hyperknob._direction import StudyDirection
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.storages._base import BaseStorage, StudySummary
from hyperknob.study._functions import create_study
from hyperknob.study._view import StudyView
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial

#: The storage methods that write; a sampler must call none of them.
WRITE_METHODS = frozenset({
    "create_new_study", "delete_study", "set_study_attr", "create_new_trial",
    "claim_waiting_trial", "set_trial_param", "set_trial_intermediate_value",
    "set_trial_attr", "finish_trial", "record_heartbeat",
})

#: A space with one dimension of every kind.
DEFAULT_SEARCH_SPACE: dict[str, BaseDistribution] = {
    "float": FloatDistribution(-5.0, 5.0),
    "float_log": FloatDistribution(1e-5, 1.0, log=True),
    "float_step": FloatDistribution(0.0, 1.0, step=0.1),
    "int": IntDistribution(-10, 10),
    "int_log": IntDistribution(1, 1000, log=True),
    "int_step": IntDistribution(0, 100, step=5),
    "categorical": CategoricalDistribution((None, True, False, 0, 1, 1.0, 2.5, "a", "1")),
}


# -- helpers (module level, so that a fresh process can use them) ------------------------------
def suggest(trial: Trial, name: str, distribution: BaseDistribution) -> Any:
    """Suggest ``name`` from ``distribution`` through the matching ``Trial.suggest_*``."""
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high,
                                   step=distribution.step, log=distribution.log)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high,
                                 step=distribution.step, log=distribution.log)
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    raise TypeError(f"unknown distribution {distribution!r}")


def objective_for(space: Mapping[str, BaseDistribution]) -> Callable[[Trial], float]:
    """Return an objective that suggests every dimension of ``space`` (in order)."""

    def objective(trial: Trial) -> float:
        total = 0.0
        for name, distribution in space.items():
            value = suggest(trial, name, distribution)
            total += distribution.to_internal(value)
        return total

    return objective


def check_in_distribution(name: str, value: Any, distribution: BaseDistribution) -> None:
    """Assert that an external value lies in ``distribution`` and has its type."""
    if isinstance(distribution, CategoricalDistribution):
        assert any(type(value) is type(c) and value == c for c in distribution.choices), (
            f"{name}={value!r} is not one of {distribution.choices!r}")
        return
    if isinstance(distribution, FloatDistribution):
        assert type(value) is float, f"{name}={value!r} is not a float"
    else:
        assert type(value) is int, f"{name}={value!r} is not an int"
    assert distribution.contains(distribution.to_internal(value)), (
        f"{name}={value!r} lies outside {distribution!r}")


def suggestions(trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    """Return the parameters of each trial, in trial order, as plain dicts."""
    return [dict(trial.params) for trial in trials]


def run_suggestions(
    sampler: BaseSampler,
    space: Mapping[str, BaseDistribution],
    n_trials: int,
    storage: str | BaseStorage | None = None,
) -> list[dict[str, Any]]:
    """Optimize ``objective_for(space)`` for ``n_trials`` and return every trial's params."""
    study = create_study(storage=storage, sampler=sampler)
    study.optimize(objective_for(space), n_trials=n_trials)
    return suggestions(study.trials)


def _as_json(values: list[dict[str, Any]]) -> str:
    return json.dumps(values, sort_keys=True)


class RecordingStorage(BaseStorage):
    """Forward every call to a storage, recording which write methods ran inside a sampler.

    :class:`SpySampler` sets :attr:`in_sampler` while the real sampler runs.
    """

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner
        self.in_sampler = False
        self.sampler_calls: list[str] = []
        self.writes_in_sampler: list[str] = []
        self.writes_outside: list[str] = []

    def _record(self, name: str) -> None:
        if self.in_sampler:
            self.sampler_calls.append(name)
        if name in WRITE_METHODS:
            (self.writes_in_sampler if self.in_sampler else self.writes_outside).append(name)

    def create_new_study(self, study_name: str, directions: Sequence[StudyDirection]) -> int:
        self._record("create_new_study")
        return self.inner.create_new_study(study_name, directions)

    def delete_study(self, study_id: int) -> None:
        self._record("delete_study")
        self.inner.delete_study(study_id)

    def get_study_id_from_name(self, study_name: str) -> int:
        self._record("get_study_id_from_name")
        return self.inner.get_study_id_from_name(study_name)

    def get_study_name(self, study_id: int) -> str:
        self._record("get_study_name")
        return self.inner.get_study_name(study_id)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        self._record("get_study_directions")
        return self.inner.get_study_directions(study_id)

    def get_all_studies(self) -> list[StudySummary]:
        self._record("get_all_studies")
        return self.inner.get_all_studies()

    def set_study_attr(self, study_id: int, kind: str, key: str, value: Any) -> None:
        self._record("set_study_attr")
        self.inner.set_study_attr(study_id, kind, key, value)

    def get_study_attrs(self, study_id: int, kind: str) -> dict[str, Any]:
        self._record("get_study_attrs")
        return self.inner.get_study_attrs(study_id, kind)

    def create_new_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        self._record("create_new_trial")
        return self.inner.create_new_trial(study_id, template)

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        self._record("claim_waiting_trial")
        return self.inner.claim_waiting_trial(study_id)

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        self._record("set_trial_param")
        self.inner.set_trial_param(trial_id, name, internal_value, distribution)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        self._record("set_trial_intermediate_value")
        self.inner.set_trial_intermediate_value(trial_id, step, value)

    def set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        self._record("set_trial_attr")
        self.inner.set_trial_attr(trial_id, kind, key, value)

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        self._record("finish_trial")
        return self.inner.finish_trial(trial_id, state, values, system_attrs)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        self._record("get_trial")
        return self.inner.get_trial(trial_id)

    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        self._record("get_trial_id_from_number")
        return self.inner.get_trial_id_from_number(study_id, number)

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None, *,
        from_number: int = 0,
    ) -> list[FrozenTrial]:
        self._record("get_all_trials")
        return self.inner.get_all_trials(study_id, states, from_number=from_number)

    def record_heartbeat(self, trial_id: int) -> None:
        self._record("record_heartbeat")
        self.inner.record_heartbeat(trial_id)

    def get_stale_trial_ids(self, study_id: int, older_than: datetime.datetime) -> list[int]:
        self._record("get_stale_trial_ids")
        return self.inner.get_stale_trial_ids(study_id, older_than)

    def count_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        self._record("count_trials")
        return self.inner.count_trials(study_id, states)

    def get_best_trial(self, study_id: int) -> FrozenTrial | None:
        self._record("get_best_trial")
        return self.inner.get_best_trial(study_id)

    def close(self) -> None:
        self.inner.close()


class SpySampler(BaseSampler):
    """Delegate to a sampler, flagging a :class:`RecordingStorage` while it runs."""

    def __init__(self, inner: BaseSampler, storage: RecordingStorage) -> None:
        self.inner = inner
        self.storage = storage
        self.calls: list[str] = []

    @contextlib.contextmanager
    def _inside(self, name: str) -> Iterator[None]:
        self.calls.append(name)
        self.storage.in_sampler = True
        try:
            yield
        finally:
            self.storage.in_sampler = False

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        with self._inside("infer_relative_search_space"):
            return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        with self._inside("sample_relative"):
            return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        with self._inside("sample_independent"):
            return self.inner.sample_independent(study, trial, name, distribution)

    def is_exhausted(self, study: StudyView) -> bool:
        with self._inside("is_exhausted"):
            return self.inner.is_exhausted(study)


class SamplerContractBase:
    """The hooks and helpers every sampler-contract mixin builds on."""


    #: Trials per study in most tests; keep it within the sampler's capacity (grid size).
    n_trials: int = 8
    #: False for samplers that handle only the space of :meth:`search_space` (e.g. a grid):
    #: the checks over generated and conditional spaces are then skipped.
    supports_any_search_space: bool = True
    #: Examples per hypothesis-driven check.
    max_examples: int = 25

    # -- hooks -----------------------------------------------------------------------------
    def make_sampler(self, seed: int | None) -> BaseSampler:
        """Return a new sampler with this seed. Subclasses must implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_sampler()")

    def search_space(self) -> dict[str, BaseDistribution]:
        """Return the space the objective of most tests suggests, in suggestion order."""
        return dict(DEFAULT_SEARCH_SPACE)

    def enqueued_params(self) -> dict[str, Any]:
        """Return a point of :meth:`search_space` to enqueue (default: highest, last choice)."""
        point: dict[str, Any] = {}
        for name, dist in self.search_space().items():
            if isinstance(dist, CategoricalDistribution):
                point[name] = dist.choices[-1]
            elif isinstance(dist, (FloatDistribution, IntDistribution)):
                point[name] = dist.to_external(dist.high)
        return point

    def _require_any_space(self) -> None:
        if not self.supports_any_search_space:
            pytest.skip(f"{type(self).__name__} handles only its own search_space()")

    def _run(self, seed: int | None, n_trials: int | None = None,
             storage: str | BaseStorage | None = None) -> list[dict[str, Any]]:
        return run_suggestions(self.make_sampler(seed), self.search_space(),
                               n_trials or self.n_trials, storage)

    def _check_trials(self, trials: list[FrozenTrial],
                      space: Mapping[str, BaseDistribution]) -> None:
        for trial in trials:
            assert trial.state is TrialState.COMPLETE, (
                f"trial {trial.number} is {trial.state.name}: "
                f"{trial.system_attrs.get('fail_reason')}")
            assert set(trial.params) == set(space)
            for name, dist in space.items():
                check_in_distribution(name, trial.params[name], dist)
