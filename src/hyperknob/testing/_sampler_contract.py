"""The sampler contract: tests that every :class:`~hyperknob.samplers.BaseSampler` must pass.

Subclass :class:`SamplerContract` in a test module and implement :meth:`make_sampler`. Samplers
that only handle some spaces (a grid) override :meth:`search_space` with a space they handle and
set ``supports_any_search_space = False``, which skips the checks over arbitrary spaces.

Example:
    >>> from hyperknob.samplers import RandomSampler
    >>> class TestRandom(SamplerContract):
    ...     def make_sampler(self, seed):
    ...         return RandomSampler(seed=seed)
"""

from __future__ import annotations

import contextlib
import decimal
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Container, Iterator, Mapping
from pathlib import Path
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
from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.study._study import Study, create_study, load_study
from hyperknob.study._view import StudyView
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial

#: The storage methods that write; a sampler must call none of them.
WRITE_METHODS = frozenset({
    "create_new_study", "delete_study", "set_study_attr", "create_new_trial",
    "claim_waiting_trial", "set_trial_param", "set_trial_intermediate_value",
    "set_trial_attr", "finish_trial",
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

    def create_new_study(self, study_name: str, direction: StudyDirection) -> int:
        self._record("create_new_study")
        return self.inner.create_new_study(study_name, direction)

    def delete_study(self, study_id: int) -> None:
        self._record("delete_study")
        self.inner.delete_study(study_id)

    def get_study_id_from_name(self, study_name: str) -> int:
        self._record("get_study_id_from_name")
        return self.inner.get_study_id_from_name(study_name)

    def get_study_name(self, study_id: int) -> str:
        self._record("get_study_name")
        return self.inner.get_study_name(study_id)

    def get_study_direction(self, study_id: int) -> StudyDirection:
        self._record("get_study_direction")
        return self.inner.get_study_direction(study_id)

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
        value: float | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        self._record("finish_trial")
        return self.inner.finish_trial(trial_id, state, value, system_attrs)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        self._record("get_trial")
        return self.inner.get_trial(trial_id)

    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        self._record("get_trial_id_from_number")
        return self.inner.get_trial_id_from_number(study_id, number)

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        self._record("get_all_trials")
        return self.inner.get_all_trials(study_id, states)

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


def _decimal_float(units: int, step: float) -> float:
    return float(decimal.Decimal(units) * decimal.Decimal(repr(step)))


class SamplerContract:
    """Pytest test class: the guarantees of :class:`~hyperknob.samplers.BaseSampler`.

    Subclasses implement :meth:`make_sampler`. Every test builds its own studies (in memory
    unless it says otherwise) from :meth:`search_space` with :func:`objective_for`.
    """

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

    # -- values lie in their distributions -------------------------------------------------
    def test_suggestions_lie_in_distributions(self) -> None:
        """Every suggestion of the default space lies in its distribution, with its type."""
        space = self.search_space()
        study = create_study(sampler=self.make_sampler(0))
        study.optimize(objective_for(space), n_trials=self.n_trials)
        assert len(study.trials) == self.n_trials
        self._check_trials(study.trials, space)

    def test_generated_distributions(self) -> None:
        """Suggestions lie in hypothesis-generated float, log, step, int and categorical spaces."""
        self._require_any_space()
        pytest.importorskip("hypothesis")
        import hypothesis
        from hypothesis import strategies as st

        def floats(draw: Any) -> FloatDistribution:
            kind = draw(st.sampled_from(["plain", "log", "step"]))
            if kind == "log":
                low = draw(st.floats(1e-8, 1e4))
                return FloatDistribution(low, low * draw(st.floats(1.0001, 1e6)), log=True)
            if kind == "step":
                step = draw(st.sampled_from([0.001, 0.1, 0.25, 0.5, 1.0, 3.0]))
                start = draw(st.integers(-1000, 1000))
                n = draw(st.integers(0, 40))
                return FloatDistribution(_decimal_float(start, step),
                                         _decimal_float(start + n, step), step=step)
            low = draw(st.floats(-1e6, 1e6))
            return FloatDistribution(low, low + draw(st.floats(0.0, 1e6)))

        def ints(draw: Any) -> IntDistribution:
            if draw(st.booleans()):
                low = draw(st.integers(1, 10_000))
                return IntDistribution(low, low + draw(st.integers(0, 100_000)), log=True)
            low, step = draw(st.integers(-10_000, 10_000)), draw(st.integers(1, 7))
            return IntDistribution(low, low + step * draw(st.integers(0, 50)), step=step)

        choice = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                           st.floats(-10, 10, allow_nan=False), st.text(max_size=3))
        categoricals = st.lists(choice, min_size=1, max_size=6,
                                unique_by=lambda c: (type(c).__name__, c)).map(
            lambda cs: CategoricalDistribution(tuple(cs)))

        @st.composite
        def spaces(draw: Any) -> dict[str, BaseDistribution]:
            n = draw(st.integers(1, 4))
            kinds = [draw(st.sampled_from(["float", "int", "categorical"])) for _ in range(n)]
            space: dict[str, BaseDistribution] = {}
            for i, kind in enumerate(kinds):
                if kind == "float":
                    space[f"p{i}"] = floats(draw)
                elif kind == "int":
                    space[f"p{i}"] = ints(draw)
                else:
                    space[f"p{i}"] = draw(categoricals)
            return space

        @hypothesis.settings(max_examples=self.max_examples, deadline=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(space=spaces(), seed=st.integers(0, 2**32))
        def check(space: dict[str, BaseDistribution], seed: int) -> None:
            study = create_study(sampler=self.make_sampler(seed))
            study.optimize(objective_for(space), n_trials=4)
            self._check_trials(study.trials, space)

        check()

    def test_single_value_distributions(self) -> None:
        """Distributions with one value (``low == high``) always give that value."""
        self._require_any_space()
        space: dict[str, BaseDistribution] = {
            "float": FloatDistribution(0.1, 0.1),
            "float_log": FloatDistribution(1e-5, 1e-5, log=True),
            "float_step": FloatDistribution(0.3, 0.3, step=0.1),
            "int": IntDistribution(3, 3),
            "int_log": IntDistribution(7, 7, log=True),
            "categorical": CategoricalDistribution(("only",)),
        }
        study = create_study(sampler=self.make_sampler(0))
        study.optimize(objective_for(space), n_trials=3)
        self._check_trials(study.trials, space)
        for trial in study.trials:
            assert trial.params == {"float": 0.1, "float_log": 1e-5, "float_step": 0.3,
                                    "int": 3, "int_log": 7, "categorical": "only"}

    def test_conditional_search_space(self) -> None:
        """Parameters suggested only on some branches (define-by-run) are handled."""
        self._require_any_space()
        kinds = CategoricalDistribution(("linear", "tree", "none"))
        lr = FloatDistribution(1e-4, 1e-1, log=True)
        depth = IntDistribution(1, 8)
        leaf = CategoricalDistribution((1, 2, 4))

        def objective(trial: Trial) -> float:
            kind = trial.suggest_categorical("kind", kinds.choices)
            if kind == "linear":
                return trial.suggest_float("lr", lr.low, lr.high, log=True)
            if kind == "tree":
                d = trial.suggest_int("depth", depth.low, depth.high)
                if d > 4:
                    return d * float(trial.suggest_categorical("leaf", leaf.choices) or 0)
                return float(d)
            return 0.0

        study = create_study(sampler=self.make_sampler(0))
        study.optimize(objective, n_trials=3 * self.n_trials)
        expected_names = {"linear": {"kind", "lr"}, "none": {"kind"}}
        seen = set()
        for trial in study.trials:
            assert trial.state is TrialState.COMPLETE, trial.system_attrs.get("fail_reason")
            kind = trial.params["kind"]
            seen.add(kind)
            if kind == "tree":
                names = {"kind", "depth"} | ({"leaf"} if trial.params["depth"] > 4 else set())
            else:
                names = expected_names[kind]
            assert set(trial.params) == names, trial.params
            for name, dist in (("kind", kinds), ("lr", lr), ("depth", depth), ("leaf", leaf)):
                if name in trial.params:
                    check_in_distribution(name, trial.params[name], dist)
        assert len(seen) >= 2, f"only the branch(es) {seen} were ever taken"

    # -- seeds -----------------------------------------------------------------------------
    def test_same_seed_same_suggestions(self) -> None:
        """Two samplers with the same seed suggest the same values."""
        assert self._run(seed=3) == self._run(seed=3)

    def test_different_seeds_differ(self) -> None:
        """Samplers with different seeds suggest different values."""
        runs = [_as_json(self._run(seed=seed)) for seed in (0, 1, 2)]
        assert len(set(runs)) == 3

    def test_same_seed_in_fresh_process(self, tmp_path: Path) -> None:
        """A fresh Python process with the same seed suggests the same values."""
        cls = type(self)
        module_file = inspect.getsourcefile(cls)
        if module_file is None or "<locals>" in cls.__qualname__:
            pytest.skip(f"{cls.__qualname__} cannot be imported in another process")
        seed, n_trials = 11, self.n_trials
        here = _as_json(self._run(seed=seed, n_trials=n_trials))
        script = tmp_path / "fresh_process.py"
        script.write_text(textwrap.dedent(f"""
            import functools, importlib.util, sys
            spec = importlib.util.spec_from_file_location("_hk_contract_subject",
                                                          {str(module_file)!r})
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            cls = functools.reduce(getattr, {cls.__qualname__!r}.split("."), module)
            case = cls()
            from hyperknob.testing._sampler_contract import _as_json, run_suggestions
            print(_as_json(run_suggestions(case.make_sampler({seed}), case.search_space(),
                                           {n_trials})))
        """))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if isinstance(p, str) and p)
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                env=env, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == here

    def test_seed_none_works(self) -> None:
        """A sampler without seed still suggests values in the distributions."""
        space = self.search_space()
        study = create_study(sampler=self.make_sampler(None))
        study.optimize(objective_for(space), n_trials=self.n_trials)
        self._check_trials(study.trials, space)

    # -- no hidden state -------------------------------------------------------------------
    def _check_interleaving(self, n_history: int) -> None:
        space = self.search_space()
        results = []
        for round_robin in (False, True):
            study = create_study(sampler=self.make_sampler(5))
            study.optimize(objective_for(space), n_trials=n_history)
            trials = [study.ask() for _ in range(3)]
            if round_robin:  # trial 0, 1, 2 for each parameter in turn
                for name, dist in space.items():
                    for trial in trials:
                        suggest(trial, name, dist)
            else:  # every parameter of trial 0, then of trial 1, then of trial 2
                for trial in trials:
                    for name, dist in space.items():
                        suggest(trial, name, dist)
            results.append([trial.params for trial in trials])
        assert results[0] == results[1]

    def test_interleaved_trials_without_history(self) -> None:
        """Suggestions of pending trials do not depend on the order they are asked in."""
        self._check_interleaving(n_history=0)

    def test_interleaved_trials_with_history(self) -> None:
        """The same after some trials completed (samplers that learn from history)."""
        self._check_interleaving(n_history=3)

    def test_reuse_for_another_study_is_like_fresh(self) -> None:
        """A sampler used on one study behaves like a fresh one on the next study."""
        space = self.search_space()
        shifted = {  # same names, other ranges: stale state would suggest out of range
            name: (FloatDistribution(dist.low + 1000.0, dist.high + 1000.0, step=dist.step)
                   if isinstance(dist, FloatDistribution) and not dist.log
                   and self.supports_any_search_space else dist)
            for name, dist in space.items()
        }
        sampler = self.make_sampler(7)
        run_suggestions(sampler, shifted, 1)
        run_suggestions(sampler, shifted, 1)
        assert run_suggestions(sampler, space, self.n_trials) == self._run(seed=7)

    # -- storage ---------------------------------------------------------------------------
    def test_sampler_never_writes(self) -> None:
        """During every sampler call, no storage write method runs; only Study writes."""
        recording = RecordingStorage(InMemoryStorage())
        spy = SpySampler(self.make_sampler(0), recording)
        space = self.search_space()
        study = create_study(storage=recording, sampler=spy)
        study.enqueue_trial(self.enqueued_params())
        study.optimize(objective_for(space), n_trials=self.n_trials)
        study.optimize(objective_for(space), n_trials=2)  # and again: a warm sampler
        assert recording.writes_in_sampler == []
        assert {"create_new_trial", "set_trial_param", "finish_trial"} <= set(
            recording.writes_outside)
        assert "sample_independent" in spy.calls or "sample_relative" in spy.calls
        self._check_trials(study.trials, space)

    def test_sampler_gets_read_only_view(self) -> None:
        """The sampler receives a StudyView, whose class has no write method."""
        seen: list[Any] = []

        class Watch(SpySampler):
            def sample_independent(self, study: StudyView, trial: FrozenTrial, name: str,
                                   distribution: BaseDistribution) -> Any:
                seen.append(study)
                return super().sample_independent(study, trial, name, distribution)

            def sample_relative(self, study: StudyView, trial: FrozenTrial,
                                search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
                seen.append(study)
                return super().sample_relative(study, trial, search_space)

        recording = RecordingStorage(InMemoryStorage())
        study = create_study(storage=recording, sampler=Watch(self.make_sampler(0), recording))
        study.optimize(objective_for(self.search_space()), n_trials=3)
        assert seen and all(isinstance(view, StudyView) for view in seen)
        assert not any(hasattr(StudyView, name) for name in WRITE_METHODS)

    @pytest.mark.parametrize("kind", ["memory", "sqlite"])
    def test_works_with_storage(self, kind: str, tmp_path: Path) -> None:
        """The sampler works, with the same suggestions, in memory and on SQLite."""
        storage = None if kind == "memory" else f"sqlite:///{tmp_path}/sampler.db"
        study = create_study(storage=storage, sampler=self.make_sampler(4))
        space = self.search_space()
        study.optimize(objective_for(space), n_trials=self.n_trials)
        self._check_trials(study.trials, space)
        assert suggestions(study.trials) == self._run(seed=4)

    def test_enqueued_params_respected(self) -> None:
        """Enqueued trials run first with exactly their parameters; sampling goes on after."""
        space = self.search_space()
        point = self.enqueued_params()
        study = create_study(sampler=self.make_sampler(0))
        study.enqueue_trial(point)
        partial = dict(list(point.items())[:1])
        study.enqueue_trial(partial)
        study.optimize(objective_for(space), n_trials=self.n_trials)
        trials = study.trials
        assert len(trials) == self.n_trials
        self._check_trials(trials, space)
        for name, value in point.items():
            got = trials[0].params[name]
            assert type(got) is type(value) and got == value, (name, got, value)
        for name, value in partial.items():
            assert trials[1].params[name] == value

    def test_continues_after_restart(self, tmp_path: Path) -> None:
        """Stopping and reloading a SQLite study continues as an uninterrupted run would."""
        half = max(self.n_trials // 2, 1)
        space = self.search_space()
        url = f"sqlite:///{tmp_path}/restart.db"
        first = create_study(study_name="restart", storage=url, sampler=self.make_sampler(9))
        first.optimize(objective_for(space), n_trials=half)
        first._storage.close()
        resumed: Study = load_study(study_name="restart", storage=url,
                                    sampler=self.make_sampler(9))
        resumed.optimize(objective_for(space), n_trials=2 * half)
        trials = resumed.trials
        assert [t.number for t in trials] == list(range(3 * half))
        self._check_trials(trials, space)
        straight = self._run(seed=9, n_trials=3 * half, storage=f"sqlite:///{tmp_path}/one.db")
        assert suggestions(trials) == straight
