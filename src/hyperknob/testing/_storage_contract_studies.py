"""The storage contract, study-level checks: creating, finding, deleting, attributes."""

from __future__ import annotations

from typing import Any

import pytest

from hyperknob.exceptions import (
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialNotFoundError,
)
from hyperknob.storages._base import BaseStorage
from hyperknob.testing._storage_contract_base import (
    MAX,
    MIN,
    NESTED_ATTR,
    StorageContractBase,
)
from hyperknob.trial._state import TrialState


class StorageStudyChecks(StorageContractBase):
    """Checks of studies: names, ids, directions, summaries, attributes."""

    # -- studies ---------------------------------------------------------------------------
    def test_create_and_look_up_study(self, storage: BaseStorage) -> None:
        """A new study is found by name and id, with its direction."""
        low = storage.create_new_study("low", [MIN])
        high = storage.create_new_study("high ✓", [MAX])
        assert low != high
        assert storage.get_study_id_from_name("low") == low
        assert storage.get_study_id_from_name("high ✓") == high
        assert storage.get_study_name(low) == "low"
        assert storage.get_study_name(high) == "high ✓"
        assert storage.get_study_directions(low) == [MIN]
        assert storage.get_study_directions(high) == [MAX]

    def test_duplicate_study_name_raises(self, storage: BaseStorage) -> None:
        """Creating a second study with a taken name fails and changes nothing."""
        study_id = storage.create_new_study("dup", [MIN])
        with pytest.raises(DuplicatedStudyError, match="dup"):
            storage.create_new_study("dup", [MAX])
        assert storage.get_study_id_from_name("dup") == study_id
        assert storage.get_study_directions(study_id) == [MIN]
        assert len(storage.get_all_studies()) == 1

    def test_unknown_study_name_raises(self, storage: BaseStorage) -> None:
        """An unknown name raises ``StudyNotFoundError`` whose message names the study."""
        storage.create_new_study("present", [MIN])
        with pytest.raises(StudyNotFoundError, match="missing-study"):
            storage.get_study_id_from_name("missing-study")

    def test_unknown_study_id_raises(self, storage: BaseStorage) -> None:
        """Every call taking an unknown study id raises ``StudyNotFoundError``."""
        bad = storage.create_new_study("s", [MIN]) + 1000
        calls: list[Any] = [
            lambda: storage.get_study_name(bad),
            lambda: storage.get_study_directions(bad),
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
        gone = storage.create_new_study("gone", [MIN])
        kept = storage.create_new_study("kept", [MIN])
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
        again = storage.create_new_study("gone", [MAX])  # the name is free again
        assert storage.get_all_trials(again) == []
        assert storage.get_study_attrs(again, "user") == {}
        assert storage.get_study_directions(again) == [MAX]
        assert storage.create_new_trial(again).number == 0

    def test_get_all_studies_summaries(self, storage: BaseStorage) -> None:
        """Summaries list every study oldest first with trial counts and best values."""
        empty = storage.create_new_study("empty", [MIN])
        low = storage.create_new_study("low", [MIN])
        high = storage.create_new_study("high", [MAX])
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
        study_id = storage.create_new_study("s", [MIN])
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
        study_id = storage.create_new_study("s", [MIN])
        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_study_attr(study_id, "user", "the_bad_key", bad)
        assert storage.get_study_attrs(study_id, "user") == {}

    def test_attr_of_local_function_raises(self, storage: BaseStorage) -> None:
        """A value that is not even picklable (a local function) also raises ``TypeError``."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)

        def local() -> None:  # pragma: no cover - never called
            pass

        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_study_attr(study_id, "user", "the_bad_key", local)
        with pytest.raises(TypeError, match="the_bad_key"):
            storage.set_trial_attr(trial.trial_id, "user", "the_bad_key", [local])
        assert storage.get_study_attrs(study_id, "user") == {}
        assert dict(storage.get_trial(trial.trial_id).user_attrs) == {}
