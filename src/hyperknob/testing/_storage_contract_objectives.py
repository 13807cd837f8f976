"""The storage contract, objective checks: studies with several directions, trials with
several values, and what other handles see of them."""

from __future__ import annotations

import pytest

from hyperknob.distributions import FloatDistribution
from hyperknob.storages._base import BaseStorage
from hyperknob.testing._storage_contract_base import MAX, MIN, StorageContractBase
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

#: Three objectives' values, one of them with all 17 significant digits.
VALUES = (0.1, -2.5, 1 / 3)


class StorageObjectiveChecks(StorageContractBase):
    """Checks of multi-objective studies: directions and values round-trip exactly."""

    def test_directions_round_trip(self, storage: BaseStorage) -> None:
        """A study keeps its directions, in order; a one-objective study has one."""
        one = storage.create_new_study("one", [MAX])
        three = storage.create_new_study("three", [MIN, MAX, MIN])
        assert storage.get_study_directions(one) == [MAX]
        assert storage.get_study_directions(three) == [MIN, MAX, MIN]
        summaries = {s.study_name: s for s in storage.get_all_studies()}
        assert summaries["one"].directions == (MAX,)
        assert summaries["one"].direction is MAX
        assert summaries["three"].directions == (MIN, MAX, MIN)
        with pytest.raises(RuntimeError, match="objectives"):
            _ = summaries["three"].direction

    @pytest.mark.parametrize("directions", [[], "minimize", [1], [MIN, None]])
    def test_bad_directions_are_refused(self, storage: BaseStorage, directions: object) -> None:
        """Directions must be a non-empty list of StudyDirection members; nothing is created."""
        with pytest.raises(ValueError, match="directions"):
            storage.create_new_study("s", directions)  # type: ignore[arg-type]
        assert storage.get_all_studies() == []

    def test_values_round_trip(self, storage: BaseStorage) -> None:
        """Every value of a finished trial comes back exactly, in order, from every read."""
        study_id = storage.create_new_study("s", [MIN, MAX, MIN])
        trial = storage.create_new_trial(study_id)
        assert storage.finish_trial(trial.trial_id, TrialState.COMPLETE, list(VALUES))
        for read in (storage.get_trial(trial.trial_id), storage.get_all_trials(study_id)[0],
                     storage.get_all_trials(study_id, (TrialState.COMPLETE,))[0]):
            assert read.values == VALUES
            with pytest.raises(RuntimeError, match="values"):
                _ = read.value

    def test_one_objective_value_is_values_of_one(self, storage: BaseStorage) -> None:
        """A one-objective trial's ``value`` is its only value."""
        study_id = storage.create_new_study("s", [MIN])
        trial = storage.create_new_trial(study_id)
        storage.finish_trial(trial.trial_id, TrialState.COMPLETE, [2.5])
        read = storage.get_trial(trial.trial_id)
        assert read.values == (2.5,) and read.value == 2.5

    def test_unfinished_and_failed_trials_have_no_values(self, storage: BaseStorage) -> None:
        study_id = storage.create_new_study("s", [MIN, MIN])
        running = storage.create_new_trial(study_id)
        failed = storage.create_new_trial(study_id)
        storage.finish_trial(failed.trial_id, TrialState.FAIL)
        assert storage.get_trial(running.trial_id).values is None
        assert storage.get_trial(failed.trial_id).values is None

    def test_added_trial_keeps_its_values(self, storage: BaseStorage) -> None:
        """A COMPLETE trial made elsewhere (``Study.add_trial``) is stored with its values."""
        study_id = storage.create_new_study("s", [MIN, MAX, MIN])
        template = FrozenTrial(-1, -1, TrialState.COMPLETE, values=VALUES,
                               params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)})
        made = storage.create_new_trial(study_id, template)
        assert made.values == VALUES
        assert storage.get_trial(made.trial_id).values == VALUES
        assert storage.get_all_trials(study_id)[0].params == {"x": 0.5}

    def test_best_trial_needs_one_objective(self, storage: BaseStorage) -> None:
        """A study with several objectives has no single best trial, and its summary no
        best value."""
        study_id = storage.create_new_study("s", [MIN, MAX])
        trial = storage.create_new_trial(study_id)
        storage.finish_trial(trial.trial_id, TrialState.COMPLETE, [1.0, 2.0])
        with pytest.raises(RuntimeError, match="objectives"):
            storage.get_best_trial(study_id)
        assert storage.get_all_studies()[0].best_value is None

    def test_delete_multi_objective_study(self, storage: BaseStorage) -> None:
        """Deleting a study removes its directions and values: a new study of the same name
        starts clean."""
        study_id = storage.create_new_study("s", [MIN, MAX, MIN])
        trial = storage.create_new_trial(study_id)
        storage.finish_trial(trial.trial_id, TrialState.COMPLETE, list(VALUES))
        storage.delete_study(study_id)
        again = storage.create_new_study("s", [MAX])
        assert storage.get_study_directions(again) == [MAX]
        assert storage.get_all_trials(again) == []

    def test_second_handle_sees_values(self, storage: BaseStorage,
                                       second: BaseStorage) -> None:
        """Directions and values written through one handle are read through another."""
        study_id = storage.create_new_study("s", [MIN, MAX, MIN])
        assert second.get_study_directions(study_id) == [MIN, MAX, MIN]
        trial = second.create_new_trial(study_id)
        assert storage.get_all_trials(study_id)[0].values is None
        second.finish_trial(trial.trial_id, TrialState.COMPLETE, list(VALUES))
        assert storage.get_all_trials(study_id)[0].values == VALUES
        assert storage.get_trial(trial.trial_id).values == VALUES
