"""The storage contract, trial-level checks: fields, finishing, queries, best trial."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hyperknob._direction import StudyDirection
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
)
from hyperknob.exceptions import (
    TrialNotFoundError,
    UpdateFinishedTrialError,
)
from hyperknob.storages._base import BaseStorage
from hyperknob.testing._storage_contract_base import (
    CATEGORICAL_CHOICES,
    FINISHED,
    MAX,
    MIN,
    NESTED_ATTR,
    PARAM_CASES,
    StorageContractBase,
    _same_value,
)
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


class StorageTrialChecks(StorageContractBase):
    """Checks of trials: numbers, params, values, attributes, finishing, queries."""

    # -- trials: numbers and fields --------------------------------------------------------
    def test_trial_numbers_per_study(self, storage: BaseStorage) -> None:
        """Trials are numbered 0..n-1 within each study, independently of other studies."""
        a = storage.create_new_study("a", [MIN])
        b = storage.create_new_study("b", [MIN])
        made = [storage.create_new_trial(a if i % 3 else b) for i in range(9)]
        numbers_a = [t.number for t in storage.get_all_trials(a)]
        numbers_b = [t.number for t in storage.get_all_trials(b)]
        assert numbers_a == list(range(6))
        assert numbers_b == list(range(3))
        assert len({t.trial_id for t in made}) == 9
        for trial in made:
            assert storage.get_trial(trial.trial_id).number == trial.number

    def test_new_trial_is_running(self, storage: BaseStorage) -> None:
        """A trial without template starts RUNNING, empty, with a start time."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)
        assert trial.state is TrialState.RUNNING
        assert trial.number == 0
        assert trial.datetime_start is not None
        assert trial.datetime_complete is None
        stored = storage.get_trial(trial.trial_id)
        assert stored.state is TrialState.RUNNING
        assert stored.value is None
        assert dict(stored.params) == {}
        assert dict(stored.intermediate_values) == {}
        assert dict(stored.user_attrs) == {} and dict(stored.system_attrs) == {}

    @pytest.mark.parametrize(("distribution", "values"), PARAM_CASES,
                             ids=lambda case: type(case).__name__ if isinstance(
                                 case, BaseDistribution) else "")
    def test_params_round_trip(
        self, storage: BaseStorage, distribution: BaseDistribution, values: list[Any]
    ) -> None:
        """Parameters come back with the same value, type and distribution."""
        study_id = storage.create_new_study("s", [MIN])
        ids = []
        for value in values:
            trial = storage.create_new_trial(study_id)
            storage.set_trial_param(trial.trial_id, "p", distribution.to_internal(value),
                                    distribution)
            storage.set_trial_param(trial.trial_id, "other ✓", 0.5, FloatDistribution(0, 1))
            ids.append(trial.trial_id)
        by_id = {t.trial_id: t for t in storage.get_all_trials(study_id)}
        for trial_id, value in zip(ids, values, strict=True):
            for stored in (storage.get_trial(trial_id), by_id[trial_id]):
                got = stored.params["p"]
                assert _same_value(got, value), f"stored {value!r}, got back {got!r}"
                assert stored.distributions["p"] == distribution
                assert stored.params["other ✓"] == 0.5
                assert stored.internal_params()["p"] == distribution.to_internal(value)

    def test_params_round_trip_after_finish(self, storage: BaseStorage) -> None:
        """Parameters of a finished (possibly cached) trial keep their types."""
        study_id = storage.create_new_study("s", [MIN])
        dist = CategoricalDistribution(CATEGORICAL_CHOICES)
        for index in range(len(CATEGORICAL_CHOICES)):
            trial = storage.create_new_trial(study_id)
            storage.set_trial_param(trial.trial_id, "c", float(index), dist)
            storage.finish_trial(trial.trial_id, TrialState.COMPLETE, [float(index)])
        for _ in range(2):  # the second read may come from a cache
            got = [t.params["c"] for t in storage.get_all_trials(study_id)]
            assert len(got) == len(CATEGORICAL_CHOICES)
            for value, choice in zip(got, CATEGORICAL_CHOICES, strict=True):
                assert _same_value(value, choice)

    def test_intermediate_values_round_trip(self, storage: BaseStorage) -> None:
        """Reported values, NaN and infinities included, round-trip; a step is overwritten."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)
        reported = {0: 0.5, 1: math.nan, 2: math.inf, 3: -math.inf, 4: -0.0, 10: 1e300,
                    7: 1 / 3}
        for step, value in reported.items():
            storage.set_trial_intermediate_value(trial.trial_id, step, value)
        storage.set_trial_intermediate_value(trial.trial_id, 0, 0.25)  # overwrite
        storage.set_trial_intermediate_value(trial.trial_id, 2, math.nan)
        expected = {**reported, 0: 0.25, 2: math.nan}
        storage.finish_trial(trial.trial_id, TrialState.PRUNED)
        for stored in (storage.get_trial(trial.trial_id), storage.get_all_trials(study_id)[0],
                       storage.get_all_trials(study_id)[0]):
            got = dict(stored.intermediate_values)
            assert sorted(got) == sorted(expected)
            for step, value in expected.items():
                assert isinstance(got[step], float)
                if math.isnan(value):
                    assert math.isnan(got[step]), f"step {step}: {got[step]!r}"
                else:
                    assert got[step] == value, f"step {step}: {got[step]!r} != {value!r}"
            assert stored.last_step == 10

    @pytest.mark.parametrize("kind", ["user", "system"])
    def test_trial_attrs_round_trip(self, storage: BaseStorage, kind: str) -> None:
        """Trial attributes round-trip JSON values; user and system attrs stay apart."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)
        storage.set_trial_attr(trial.trial_id, kind, "nested", NESTED_ATTR)
        storage.set_trial_attr(trial.trial_id, kind, "k", 1)
        storage.set_trial_attr(trial.trial_id, kind, "k", "overwritten ✓")
        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_trial_attr(trial.trial_id, kind, "the_bad_key", {1, 2})
        stored = storage.get_trial(trial.trial_id)
        attrs = stored.user_attrs if kind == "user" else stored.system_attrs
        others = stored.system_attrs if kind == "user" else stored.user_attrs
        assert dict(attrs) == {"nested": NESTED_ATTR, "k": "overwritten ✓"}
        assert dict(others) == {}

    # -- finishing -------------------------------------------------------------------------
    @pytest.mark.parametrize("state", FINISHED, ids=lambda s: s.name)
    def test_finish_trial_once(self, storage: BaseStorage, state: TrialState) -> None:
        """``finish_trial`` finishes a RUNNING trial once; later calls change nothing."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)
        value = 1.5 if state is TrialState.COMPLETE else None
        assert storage.finish_trial(trial.trial_id, state, None if value is None else [value],
                                    {"why": ["first", 1]})
        first = storage.get_trial(trial.trial_id)
        assert first.state is state
        assert first.value == value
        assert first.datetime_complete is not None
        assert first.system_attrs["why"] == ["first", 1]
        for other in (*FINISHED, state):
            other_value = [9.0] if other is TrialState.COMPLETE else None
            assert storage.finish_trial(trial.trial_id, other, other_value,
                                        {"why": "second"}) is False
        for stored in (storage.get_trial(trial.trial_id), storage.get_all_trials(study_id)[0]):
            assert stored.state is state
            assert stored.value == value
            assert stored.system_attrs["why"] == ["first", 1]
            assert stored.datetime_complete == first.datetime_complete

    @pytest.mark.parametrize("state", FINISHED, ids=lambda s: s.name)
    def test_writes_to_finished_trial_raise(self, storage: BaseStorage,
                                            state: TrialState) -> None:
        """Every write to a finished trial raises ``UpdateFinishedTrialError``."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)
        dist = FloatDistribution(0, 1)
        storage.set_trial_param(trial.trial_id, "x", 0.5, dist)
        storage.set_trial_intermediate_value(trial.trial_id, 0, 1.0)
        storage.finish_trial(trial.trial_id, state,
                             [2.0] if state is TrialState.COMPLETE else None)
        before = storage.get_trial(trial.trial_id)
        with pytest.raises(UpdateFinishedTrialError):
            storage.set_trial_param(trial.trial_id, "y", 0.5, dist)
        with pytest.raises(UpdateFinishedTrialError):
            storage.set_trial_intermediate_value(trial.trial_id, 0, 5.0)
        with pytest.raises(UpdateFinishedTrialError):
            storage.set_trial_intermediate_value(trial.trial_id, 1, 5.0)
        for kind in ("user", "system"):
            with pytest.raises(UpdateFinishedTrialError):
                storage.set_trial_attr(trial.trial_id, kind, "k", 1)
        assert storage.get_trial(trial.trial_id) == before
        assert storage.get_all_trials(study_id) == [before]

    def test_unknown_trial_id_raises(self, storage: BaseStorage) -> None:
        """Every call taking an unknown trial id raises ``TrialNotFoundError``."""
        study_id = storage.create_new_study("s", [MIN])
        bad = storage.create_new_trial(study_id).trial_id + 1000
        calls: list[Any] = [
            lambda: storage.get_trial(bad),
            lambda: storage.set_trial_param(bad, "x", 0.5, FloatDistribution(0, 1)),
            lambda: storage.set_trial_intermediate_value(bad, 0, 1.0),
            lambda: storage.set_trial_attr(bad, "user", "k", 1),
            lambda: storage.finish_trial(bad, TrialState.COMPLETE, [1.0]),
        ]
        for call in calls:
            with pytest.raises(TrialNotFoundError):
                call()

    def test_trial_id_from_number(self, storage: BaseStorage) -> None:
        """``get_trial_id_from_number`` maps numbers to ids per study; unknown ones raise."""
        a = storage.create_new_study("a", [MIN])
        b = storage.create_new_study("b", [MIN])
        trials_a = [storage.create_new_trial(a) for _ in range(3)]
        trial_b = storage.create_new_trial(b)
        for trial in trials_a:
            assert storage.get_trial_id_from_number(a, trial.number) == trial.trial_id
        assert storage.get_trial_id_from_number(b, 0) == trial_b.trial_id
        for number in (3, -1, 100):
            with pytest.raises(TrialNotFoundError):
                storage.get_trial_id_from_number(a, number)
        with pytest.raises(TrialNotFoundError):
            storage.get_trial_id_from_number(b, 1)

    # -- queries ---------------------------------------------------------------------------
    def test_get_all_trials_and_count_with_states(self, storage: BaseStorage) -> None:
        """``get_all_trials`` and ``count_trials`` filter by states and order by number."""
        study_id = storage.create_new_study("s", [MIN])
        states = [TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED, TrialState.FAIL,
                  TrialState.COMPLETE, TrialState.RUNNING]
        made = [storage.create_new_trial(study_id) for _ in states]
        storage.create_new_trial(study_id, FrozenTrial(-1, -1, TrialState.WAITING))
        for trial, state in reversed(list(zip(made, states, strict=True))):  # out of order
            if state is not TrialState.RUNNING:
                storage.finish_trial(trial.trial_id, state,
                                     [1.0] if state is TrialState.COMPLETE else None)
        everything = storage.get_all_trials(study_id)
        assert [t.number for t in everything] == list(range(7))
        assert [t.state for t in everything] == [*states, TrialState.WAITING]
        assert storage.count_trials(study_id) == 7
        filters: list[Any] = [
            (TrialState.COMPLETE,), [TrialState.RUNNING, TrialState.WAITING],
            {TrialState.PRUNED, TrialState.FAIL}, (), frozenset(FINISHED),
        ]
        for wanted in filters:
            expected = [t.number for t in everything if t.state in wanted]
            got = storage.get_all_trials(study_id, wanted)
            assert [t.number for t in got] == expected, wanted
            assert all(t.state in wanted for t in got)
            assert storage.count_trials(study_id, wanted) == len(expected), wanted

    def test_get_all_trials_from_number(self, storage: BaseStorage) -> None:
        """``from_number`` keeps the trials numbered from there on, states still filtering,
        and sees a trial that finishes after an earlier read (readers' caches included)."""
        study_id = storage.create_new_study("s", [MIN])
        made = [storage.create_new_trial(study_id) for _ in range(6)]
        for trial in made[:2] + made[3:5]:
            storage.finish_trial(trial.trial_id, TrialState.COMPLETE, [float(trial.number)])
        assert [t.number for t in storage.get_all_trials(study_id)] == list(range(6))
        for start in (0, 1, 2, 4, 6, 50):
            got = storage.get_all_trials(study_id, from_number=start)
            assert [t.number for t in got] == list(range(start, 6)), start
            complete = storage.get_all_trials(study_id, (TrialState.COMPLETE,),
                                              from_number=start)
            assert [t.number for t in complete] == [n for n in (0, 1, 3, 4) if n >= start]
        storage.finish_trial(made[2].trial_id, TrialState.PRUNED)
        got = storage.get_all_trials(study_id, from_number=2)
        assert [(t.number, t.state) for t in got] == [
            (2, TrialState.PRUNED), (3, TrialState.COMPLETE), (4, TrialState.COMPLETE),
            (5, TrialState.RUNNING)]
        assert [t.number for t in storage.get_all_trials(study_id)] == list(range(6))

    @pytest.mark.parametrize("direction", [MIN, MAX], ids=lambda d: d.name)
    def test_get_best_trial(self, storage: BaseStorage, direction: StudyDirection) -> None:
        """The best COMPLETE trial by direction, the lowest number among ties."""
        study_id = storage.create_new_study("s", [direction])
        assert storage.get_best_trial(study_id) is None
        storage.create_new_trial(study_id)  # RUNNING
        self._finished_trial(storage, study_id, TrialState.PRUNED)
        self._finished_trial(storage, study_id, TrialState.FAIL)
        assert storage.get_best_trial(study_id) is None
        values = [2.0, -3.0, 5.0, -3.0, 5.0, 0.0]
        for value in values:
            self._finished_trial(storage, study_id, TrialState.COMPLETE, value)
        best = storage.get_best_trial(study_id)
        assert best is not None
        if direction is MIN:
            assert (best.value, best.number) == (-3.0, 4)
        else:
            assert (best.value, best.number) == (5.0, 5)
        assert best.state is TrialState.COMPLETE
        assert best == storage.get_trial(best.trial_id)

    def test_best_trial_ignores_other_studies(self, storage: BaseStorage) -> None:
        """Each study's best trial comes from its own trials."""
        a = storage.create_new_study("a", [MIN])
        b = storage.create_new_study("b", [MIN])
        self._finished_trial(storage, a, TrialState.COMPLETE, 10.0)
        self._finished_trial(storage, b, TrialState.COMPLETE, -10.0)
        best_a = storage.get_best_trial(a)
        assert best_a is not None and best_a.value == 10.0
