"""The storage contract: tests that every :class:`~hyperknob.storages.BaseStorage` must pass.

Subclass :class:`StorageContract` in a test module and implement :meth:`make_storage`; pytest
then runs every ``test_*`` method against the storage. Storages that other handles can reach
(a SQL database, a served in-memory storage) also implement :meth:`make_second_handle`, which
turns on the tests of what one handle sees of another's writes.

Example:
    >>> from hyperknob.storages import InMemoryStorage
    >>> class TestInMemory(StorageContract):
    ...     def make_storage(self):
    ...         return InMemoryStorage()
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from hyperknob._direction import StudyDirection
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.exceptions import (
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialNotFoundError,
    UpdateFinishedTrialError,
)
from hyperknob.storages._base import BaseStorage
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

MIN = StudyDirection.MINIMIZE
MAX = StudyDirection.MAXIMIZE
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

#: Choices of every type a categorical parameter may take; True/1/1.0 and False/0 must stay
#: distinct through a storage round-trip.
CATEGORICAL_CHOICES: tuple[Any, ...] = (None, True, False, 0, 1, -7, 1.0, 2.5, -0.125,
                                        "1", "", "héllo ✓")

#: ``(distribution, external values)`` pairs every storage must round-trip exactly.
PARAM_CASES: list[tuple[BaseDistribution, list[Any]]] = [
    (FloatDistribution(-3.5, 10.0), [-3.5, 0.1, 1 / 3, 10.0]),
    (FloatDistribution(1e-6, 1.0, log=True), [1e-6, 3.3e-4, 0.123456789012345, 1.0]),
    (FloatDistribution(0.0, 1.0, step=0.1), [0.0, 0.1, 0.30000000000000004, 1.0]),
    (IntDistribution(-5, 5), [-5, 0, 5]),
    (IntDistribution(1, 1024, log=True), [1, 7, 1024]),
    (IntDistribution(0, 100, step=10), [0, 30, 100]),
    (CategoricalDistribution(CATEGORICAL_CHOICES), list(CATEGORICAL_CHOICES)),
    (CategoricalDistribution(("only",)), ["only"]),
]

NESTED_ATTR: Any = {
    "list": [1, 2.5, None, True, "x", [[]], {"deep": [{"deeper": "✓"}]}],
    "unicode": "héllo wörld ✓ 日本語",
    "empty": {},
    "numbers": {"int": 3, "float": -0.5, "big": 2**53},
}


def _same_value(a: Any, b: Any) -> bool:
    """Return whether two external values are equal *and* of the same type (True is not 1)."""
    return type(a) is type(b) and a == b


class StorageContract:
    """Pytest test class: the guarantees of :class:`~hyperknob.storages.BaseStorage`.

    Subclasses implement :meth:`make_storage` (a fresh, empty storage per call). Tests get it
    from the ``storage`` fixture, which closes it afterwards. A subclass that needs pytest
    fixtures (a database URL, a temporary directory) can store them on ``self`` from an
    ``autouse`` fixture: pytest builds one instance of the class per test and runs autouse
    fixtures first.
    """

    #: Threads in the concurrency tests.
    n_threads: int = 6

    # -- hooks -----------------------------------------------------------------------------
    def make_storage(self) -> BaseStorage:
        """Return a fresh, empty storage. Subclasses must implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_storage()")

    def make_second_handle(self, storage: BaseStorage) -> BaseStorage | None:
        """Return another handle on the same data (e.g. a second connection), or None."""
        return None

    def close_storage(self, storage: BaseStorage) -> None:
        """Release a storage made by :meth:`make_storage` or :meth:`make_second_handle`."""
        storage.close()

    @pytest.fixture
    def storage(self) -> Iterator[BaseStorage]:
        """Yield a fresh storage from :meth:`make_storage` and close it afterwards."""
        made = self.make_storage()
        assert isinstance(made, BaseStorage), f"make_storage() returned {made!r}"
        yield made
        self.close_storage(made)

    @pytest.fixture
    def second(self, storage: BaseStorage) -> Iterator[BaseStorage]:
        """Yield a second handle on ``storage``'s data; skip where the storage has none."""
        other = self.make_second_handle(storage)
        if other is None:
            pytest.skip(f"{type(self).__name__} has no second handle on the same storage")
        yield other
        self.close_storage(other)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _finished_trial(storage: BaseStorage, study_id: int, state: TrialState,
                        value: float | None = None) -> FrozenTrial:
        trial = storage.create_new_trial(study_id)
        assert storage.finish_trial(trial.trial_id, state, value)
        return storage.get_trial(trial.trial_id)

    # -- studies ---------------------------------------------------------------------------
    def test_create_and_look_up_study(self, storage: BaseStorage) -> None:
        """A new study is found by name and id, with its direction."""
        low = storage.create_new_study("low", MIN)
        high = storage.create_new_study("high ✓", MAX)
        assert low != high
        assert storage.get_study_id_from_name("low") == low
        assert storage.get_study_id_from_name("high ✓") == high
        assert storage.get_study_name(low) == "low"
        assert storage.get_study_name(high) == "high ✓"
        assert storage.get_study_direction(low) is MIN
        assert storage.get_study_direction(high) is MAX

    def test_duplicate_study_name_raises(self, storage: BaseStorage) -> None:
        """Creating a second study with a taken name fails and changes nothing."""
        study_id = storage.create_new_study("dup", MIN)
        with pytest.raises(DuplicatedStudyError, match="dup"):
            storage.create_new_study("dup", MAX)
        assert storage.get_study_id_from_name("dup") == study_id
        assert storage.get_study_direction(study_id) is MIN
        assert len(storage.get_all_studies()) == 1

    def test_unknown_study_name_raises(self, storage: BaseStorage) -> None:
        """An unknown name raises ``StudyNotFoundError`` whose message names the study."""
        storage.create_new_study("present", MIN)
        with pytest.raises(StudyNotFoundError, match="missing-study"):
            storage.get_study_id_from_name("missing-study")

    def test_unknown_study_id_raises(self, storage: BaseStorage) -> None:
        """Every call taking an unknown study id raises ``StudyNotFoundError``."""
        bad = storage.create_new_study("s", MIN) + 1000
        calls: list[Any] = [
            lambda: storage.get_study_name(bad),
            lambda: storage.get_study_direction(bad),
            lambda: storage.get_study_attrs(bad, "user"),
            lambda: storage.set_study_attr(bad, "user", "k", 1),
            lambda: storage.create_new_trial(bad),
            lambda: storage.get_all_trials(bad),
            lambda: storage.delete_study(bad),
        ]
        for call in calls:
            with pytest.raises(StudyNotFoundError):
                call()

    def test_delete_study(self, storage: BaseStorage) -> None:
        """Deleting a study removes it and its trials, and nothing of other studies."""
        gone = storage.create_new_study("gone", MIN)
        kept = storage.create_new_study("kept", MIN)
        gone_trial = self._finished_trial(storage, gone, TrialState.COMPLETE, 1.0)
        kept_trial = self._finished_trial(storage, kept, TrialState.COMPLETE, 2.0)
        storage.set_study_attr(gone, "user", "a", 1)
        storage.delete_study(gone)
        with pytest.raises(StudyNotFoundError, match="gone"):
            storage.get_study_id_from_name("gone")
        with pytest.raises(TrialNotFoundError):
            storage.get_trial(gone_trial.trial_id)
        assert [s.study_name for s in storage.get_all_studies()] == ["kept"]
        assert storage.get_all_trials(kept) == [kept_trial]
        again = storage.create_new_study("gone", MAX)  # the name is free again
        assert storage.get_all_trials(again) == []
        assert storage.get_study_attrs(again, "user") == {}
        assert storage.get_study_direction(again) is MAX
        assert storage.create_new_trial(again).number == 0

    def test_get_all_studies_summaries(self, storage: BaseStorage) -> None:
        """Summaries list every study oldest first with trial counts and best values."""
        empty = storage.create_new_study("empty", MIN)
        low = storage.create_new_study("low", MIN)
        high = storage.create_new_study("high", MAX)
        for study_id in (low, high):
            for value in (3.0, -1.5, 7.25):
                self._finished_trial(storage, study_id, TrialState.COMPLETE, value)
            self._finished_trial(storage, study_id, TrialState.PRUNED)
            self._finished_trial(storage, study_id, TrialState.FAIL)
            storage.create_new_trial(study_id)  # RUNNING
        summaries = storage.get_all_studies()
        assert [s.study_id for s in summaries] == [empty, low, high]
        assert [s.study_name for s in summaries] == ["empty", "low", "high"]
        assert [s.direction for s in summaries] == [MIN, MIN, MAX]
        assert [s.n_trials for s in summaries] == [0, 6, 6]
        assert [s.best_value for s in summaries] == [None, -1.5, 7.25]
        assert all(s.datetime_start is not None for s in summaries)

    def test_get_all_studies_empty(self, storage: BaseStorage) -> None:
        """A fresh storage holds no study."""
        assert storage.get_all_studies() == []

    @pytest.mark.parametrize("kind", ["user", "system"])
    def test_study_attrs_round_trip(self, storage: BaseStorage, kind: str) -> None:
        """Study attributes round-trip JSON values, and user and system attrs stay apart."""
        study_id = storage.create_new_study("s", MIN)
        other_kind = "system" if kind == "user" else "user"
        assert storage.get_study_attrs(study_id, kind) == {}
        storage.set_study_attr(study_id, kind, "nested", NESTED_ATTR)
        storage.set_study_attr(study_id, kind, "clé ✓", "välue")
        storage.set_study_attr(study_id, kind, "tuple", (1, 2))
        storage.set_study_attr(study_id, kind, "over", 1)
        storage.set_study_attr(study_id, kind, "over", [2])
        assert storage.get_study_attrs(study_id, kind) == {
            "nested": NESTED_ATTR, "clé ✓": "välue", "tuple": [1, 2], "over": [2]}
        assert storage.get_study_attrs(study_id, other_kind) == {}
        # The caller's copy is its own: changing it changes nothing stored.
        got = storage.get_study_attrs(study_id, kind)
        got["nested"]["list"].append("mutated")
        got["new"] = 1
        assert storage.get_study_attrs(study_id, kind)["nested"] == NESTED_ATTR
        assert "new" not in storage.get_study_attrs(study_id, kind)

    @pytest.mark.parametrize("bad", [{1, 2}, object(), b"bytes", {"deep": [1, {2}]}])
    def test_study_attr_not_json_raises(self, storage: BaseStorage, bad: Any) -> None:
        """A non-JSON study attribute raises ``TypeError`` naming the key, storing nothing."""
        study_id = storage.create_new_study("s", MIN)
        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_study_attr(study_id, "user", "the_bad_key", bad)
        assert storage.get_study_attrs(study_id, "user") == {}

    def test_attr_of_local_function_raises(self, storage: BaseStorage) -> None:
        """A value that is not even picklable (a local function) also raises ``TypeError``."""
        study_id = storage.create_new_study("s", MIN)
        trial = storage.create_new_trial(study_id)

        def local() -> None:  # pragma: no cover - never called
            pass

        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_study_attr(study_id, "user", "the_bad_key", local)
        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_trial_attr(trial.trial_id, "user", "the_bad_key", [local])
        assert storage.get_study_attrs(study_id, "user") == {}
        assert dict(storage.get_trial(trial.trial_id).user_attrs) == {}

    # -- trials: numbers and fields --------------------------------------------------------
    def test_trial_numbers_per_study(self, storage: BaseStorage) -> None:
        """Trials are numbered 0..n-1 within each study, independently of other studies."""
        a = storage.create_new_study("a", MIN)
        b = storage.create_new_study("b", MIN)
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
        study_id = storage.create_new_study("s", MIN)
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
        study_id = storage.create_new_study("s", MIN)
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
        study_id = storage.create_new_study("s", MIN)
        dist = CategoricalDistribution(CATEGORICAL_CHOICES)
        for index in range(len(CATEGORICAL_CHOICES)):
            trial = storage.create_new_trial(study_id)
            storage.set_trial_param(trial.trial_id, "c", float(index), dist)
            storage.finish_trial(trial.trial_id, TrialState.COMPLETE, float(index))
        for _ in range(2):  # the second read may come from a cache
            got = [t.params["c"] for t in storage.get_all_trials(study_id)]
            assert len(got) == len(CATEGORICAL_CHOICES)
            for value, choice in zip(got, CATEGORICAL_CHOICES, strict=True):
                assert _same_value(value, choice)

    def test_intermediate_values_round_trip(self, storage: BaseStorage) -> None:
        """Reported values, NaN and infinities included, round-trip; a step is overwritten."""
        study_id = storage.create_new_study("s", MIN)
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
        study_id = storage.create_new_study("s", MIN)
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
        study_id = storage.create_new_study("s", MIN)
        trial = storage.create_new_trial(study_id)
        value = 1.5 if state is TrialState.COMPLETE else None
        assert storage.finish_trial(trial.trial_id, state, value, {"why": ["first", 1]})
        first = storage.get_trial(trial.trial_id)
        assert first.state is state
        assert first.value == value
        assert first.datetime_complete is not None
        assert first.system_attrs["why"] == ["first", 1]
        for other in (*FINISHED, state):
            other_value = 9.0 if other is TrialState.COMPLETE else None
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
        study_id = storage.create_new_study("s", MIN)
        trial = storage.create_new_trial(study_id)
        dist = FloatDistribution(0, 1)
        storage.set_trial_param(trial.trial_id, "x", 0.5, dist)
        storage.set_trial_intermediate_value(trial.trial_id, 0, 1.0)
        storage.finish_trial(trial.trial_id, state, 2.0 if state is TrialState.COMPLETE else None)
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
        study_id = storage.create_new_study("s", MIN)
        bad = storage.create_new_trial(study_id).trial_id + 1000
        calls: list[Any] = [
            lambda: storage.get_trial(bad),
            lambda: storage.set_trial_param(bad, "x", 0.5, FloatDistribution(0, 1)),
            lambda: storage.set_trial_intermediate_value(bad, 0, 1.0),
            lambda: storage.set_trial_attr(bad, "user", "k", 1),
            lambda: storage.finish_trial(bad, TrialState.COMPLETE, 1.0),
        ]
        for call in calls:
            with pytest.raises(TrialNotFoundError):
                call()

    def test_trial_id_from_number(self, storage: BaseStorage) -> None:
        """``get_trial_id_from_number`` maps numbers to ids per study; unknown ones raise."""
        a = storage.create_new_study("a", MIN)
        b = storage.create_new_study("b", MIN)
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
        study_id = storage.create_new_study("s", MIN)
        states = [TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED, TrialState.FAIL,
                  TrialState.COMPLETE, TrialState.RUNNING]
        made = [storage.create_new_trial(study_id) for _ in states]
        storage.create_new_trial(study_id, FrozenTrial(-1, -1, TrialState.WAITING))
        for trial, state in reversed(list(zip(made, states, strict=True))):  # out of order
            if state is not TrialState.RUNNING:
                storage.finish_trial(trial.trial_id, state,
                                     1.0 if state is TrialState.COMPLETE else None)
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

    @pytest.mark.parametrize("direction", [MIN, MAX], ids=lambda d: d.name)
    def test_get_best_trial(self, storage: BaseStorage, direction: StudyDirection) -> None:
        """The best COMPLETE trial by direction, the lowest number among ties."""
        study_id = storage.create_new_study("s", direction)
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
        a = storage.create_new_study("a", MIN)
        b = storage.create_new_study("b", MIN)
        self._finished_trial(storage, a, TrialState.COMPLETE, 10.0)
        self._finished_trial(storage, b, TrialState.COMPLETE, -10.0)
        best_a = storage.get_best_trial(a)
        assert best_a is not None and best_a.value == 10.0

    # -- templates and the queue -----------------------------------------------------------
    def test_waiting_trials_claimed_oldest_first_once(self, storage: BaseStorage) -> None:
        """WAITING trials are claimed oldest first, each once; then claims return None."""
        study_id = storage.create_new_study("s", MIN)
        other = storage.create_new_study("other", MIN)
        assert storage.claim_waiting_trial(study_id) is None
        storage.create_new_trial(other, FrozenTrial(-1, -1, TrialState.WAITING))
        queued = []
        for i in range(3):
            template = FrozenTrial(-1, -1, TrialState.WAITING, user_attrs={"i": i},
                                   system_attrs={"fixed_params": {"x": i}})
            queued.append(storage.create_new_trial(study_id, template))
            storage.create_new_trial(study_id)  # RUNNING ones in between are never claimed
        assert [t.state for t in queued] == [TrialState.WAITING] * 3
        assert [t.number for t in queued] == [0, 2, 4]
        assert all(storage.get_trial(t.trial_id).state is TrialState.WAITING for t in queued)
        for expected in queued:
            claimed = storage.claim_waiting_trial(study_id)
            assert claimed is not None
            assert (claimed.trial_id, claimed.number) == (expected.trial_id, expected.number)
            assert claimed.state is TrialState.RUNNING
            assert claimed.datetime_start is not None
            assert claimed.user_attrs == expected.user_attrs
            assert claimed.system_attrs["fixed_params"] == {"x": expected.number // 2}
            assert storage.get_trial(claimed.trial_id).state is TrialState.RUNNING
        assert storage.claim_waiting_trial(study_id) is None
        assert storage.count_trials(other, (TrialState.WAITING,)) == 1

    def test_waiting_trial_can_be_finished(self, storage: BaseStorage) -> None:
        """A claimed WAITING trial takes params and finishes like any RUNNING trial."""
        study_id = storage.create_new_study("s", MIN)
        storage.create_new_trial(study_id, FrozenTrial(-1, -1, TrialState.WAITING))
        claimed = storage.claim_waiting_trial(study_id)
        assert claimed is not None
        storage.set_trial_param(claimed.trial_id, "x", 3.0, IntDistribution(0, 5))
        assert storage.finish_trial(claimed.trial_id, TrialState.COMPLETE, 1.0)
        stored = storage.get_trial(claimed.trial_id)
        assert (stored.state, stored.value, dict(stored.params)) == (
            TrialState.COMPLETE, 1.0, {"x": 3})

    def test_concurrent_claims_each_trial_once(self, storage: BaseStorage) -> None:
        """Threads claiming at once get every WAITING trial exactly once."""
        study_id = storage.create_new_study("s", MIN)
        n_waiting = 24
        for _ in range(n_waiting):
            storage.create_new_trial(study_id, FrozenTrial(-1, -1, TrialState.WAITING))
        claimed: list[int] = []
        lock = threading.Lock()
        errors: list[BaseException] = []
        barrier = threading.Barrier(self.n_threads)

        def claim() -> None:
            try:
                barrier.wait()
                while (trial := storage.claim_waiting_trial(study_id)) is not None:
                    with lock:
                        claimed.append(trial.number)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=claim) for _ in range(self.n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert sorted(claimed) == list(range(n_waiting))
        assert storage.count_trials(study_id, (TrialState.WAITING,)) == 0

    @pytest.mark.parametrize("state", FINISHED, ids=lambda s: s.name)
    def test_finished_template_kept(self, storage: BaseStorage, state: TrialState) -> None:
        """A finished template (``add_trial``) keeps its fields and gets the next number."""
        study_id = storage.create_new_study("s", MAX)
        storage.create_new_trial(study_id)
        fdist, cdist = FloatDistribution(0, 10, step=0.5), CategoricalDistribution((None, 1, True))
        value = 4.5 if state is TrialState.COMPLETE else None
        template = FrozenTrial(
            number=-1, trial_id=-1, state=state, value=value,
            params={"f": 2.5, "c": True}, distributions={"f": fdist, "c": cdist},
            user_attrs={"u": NESTED_ATTR}, system_attrs={"s": "✓"},
            intermediate_values={0: 1.0, 3: math.inf},
        )
        made = storage.create_new_trial(study_id, template)
        assert made.number == 1
        for stored in (made, storage.get_trial(made.trial_id),
                       storage.get_all_trials(study_id)[1]):
            assert stored.state is state
            assert stored.value == value
            assert _same_value(stored.params["c"], True)
            assert _same_value(stored.params["f"], 2.5)
            assert dict(stored.distributions) == {"f": fdist, "c": cdist}
            assert dict(stored.user_attrs) == {"u": NESTED_ATTR}
            assert dict(stored.system_attrs) == {"s": "✓"}
            assert dict(stored.intermediate_values) == {0: 1.0, 3: math.inf}
        assert storage.finish_trial(made.trial_id, TrialState.FAIL) is False
        best = storage.get_best_trial(study_id)
        if state is TrialState.COMPLETE:
            assert best is not None and best.trial_id == made.trial_id
        else:
            assert best is None

    # -- the finished-trial cache ----------------------------------------------------------
    def test_running_trial_read_then_finished_is_seen_finished(
        self, storage: BaseStorage
    ) -> None:
        """A trial read while RUNNING is seen finished (with its value) on the next read."""
        study_id = storage.create_new_study("s", MIN)
        trials = [storage.create_new_trial(study_id) for _ in range(3)]
        self._check_reads_track_writes(storage, storage, study_id, trials)

    def test_out_of_order_finishing_is_seen(self, storage: BaseStorage) -> None:
        """Trials finishing in any order are always read as they are stored."""
        study_id = storage.create_new_study("s", MIN)
        trials = [storage.create_new_trial(study_id) for _ in range(5)]
        order = [3, 0, 4, 2, 1]
        for index in order:
            trial = trials[index]
            storage.set_trial_intermediate_value(trial.trial_id, 0, float(index))
            assert [t.state for t in storage.get_all_trials(study_id)][index] is (
                TrialState.RUNNING)
            storage.finish_trial(trial.trial_id, TrialState.COMPLETE, float(index))
            listed = storage.get_all_trials(study_id)
            assert listed == [storage.get_trial(t.trial_id) for t in trials]
            assert listed[index].state is TrialState.COMPLETE
            assert listed[index].intermediate_values == {0: float(index)}
            complete = storage.get_all_trials(study_id, (TrialState.COMPLETE,))
            done = sorted(order[:order.index(index) + 1])
            assert [t.number for t in complete] == done
        assert [t.value for t in storage.get_all_trials(study_id)] == [0.0, 1.0, 2.0, 3.0, 4.0]

    def _check_reads_track_writes(self, reader: BaseStorage, writer: BaseStorage,
                                  study_id: int, trials: list[FrozenTrial]) -> None:
        for index, trial in enumerate(trials):
            seen = reader.get_all_trials(study_id)
            assert seen[index].state is TrialState.RUNNING
            writer.set_trial_param(trial.trial_id, "x", float(index), IntDistribution(0, 9))
            writer.set_trial_attr(trial.trial_id, "user", "k", index)
            assert reader.get_all_trials(study_id)[index].params == {"x": index}
            assert reader.get_all_trials(study_id)[index].user_attrs == {"k": index}
            state = FINISHED[index % 3]
            value = float(index) if state is TrialState.COMPLETE else None
            assert writer.finish_trial(trial.trial_id, state, value)
            for _ in range(2):
                seen = reader.get_all_trials(study_id)
                assert seen[index].state is state
                assert seen[index].value == value
                assert seen[index].datetime_complete is not None
                assert [t.number for t in reader.get_all_trials(study_id, (state,))].count(
                    index) == 1
            assert reader.get_trial(trial.trial_id) == writer.get_trial(trial.trial_id)

    # -- several handles on the same data --------------------------------------------------
    def test_second_handle_sees_studies(self, storage: BaseStorage,
                                        second: BaseStorage) -> None:
        """A study created through one handle is found through another."""
        study_id = storage.create_new_study("shared", MAX)
        assert second.get_study_id_from_name("shared") == study_id
        assert second.get_study_direction(study_id) is MAX
        with pytest.raises(DuplicatedStudyError):
            second.create_new_study("shared", MIN)

    def test_second_handle_finishing_is_seen(self, storage: BaseStorage,
                                             second: BaseStorage) -> None:
        """Trials written and finished through one handle are read fresh through another."""
        study_id = storage.create_new_study("s", MIN)
        trials = [storage.create_new_trial(study_id) for _ in range(3)]
        self._check_reads_track_writes(storage, second, study_id, trials)
        more = [second.create_new_trial(study_id) for _ in range(2)]
        assert [t.number for t in more] == [3, 4]
        assert [t.number for t in storage.get_all_trials(study_id)] == list(range(5))

    def test_second_handle_recreated_study_is_fresh(self, storage: BaseStorage,
                                                    second: BaseStorage) -> None:
        """A study deleted and re-created through another handle shows its new trials only."""
        old = storage.create_new_study("old", MIN)
        self._finished_trial(storage, old, TrialState.COMPLETE, 1.0)
        assert len(storage.get_all_trials(old)) == 1  # read (and maybe cache) the old study
        second.delete_study(old)
        new = second.create_new_study("new", MIN)
        assert storage.get_all_trials(new) == second.get_all_trials(new) == []
        assert storage.count_trials(new) == 0

    # -- threads ---------------------------------------------------------------------------
    def test_concurrent_trial_creation(self, storage: BaseStorage) -> None:
        """Threads creating trials at once get unique, consecutive numbers and ids."""
        study_id = storage.create_new_study("s", MIN)
        per_thread = 8
        made: list[FrozenTrial] = []
        lock = threading.Lock()
        errors: list[BaseException] = []
        barrier = threading.Barrier(self.n_threads)

        def create() -> None:
            try:
                barrier.wait()
                for _ in range(per_thread):
                    trial = storage.create_new_trial(study_id)
                    with lock:
                        made.append(trial)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=create) for _ in range(self.n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        total = per_thread * self.n_threads
        assert sorted(t.number for t in made) == list(range(total))
        assert len({t.trial_id for t in made}) == total
        assert [t.number for t in storage.get_all_trials(study_id)] == list(range(total))
        for trial in made:
            assert storage.get_trial_id_from_number(study_id, trial.number) == trial.trial_id
