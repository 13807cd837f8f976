"""The storage contract, checks of shared use: the queue, the cache, handles, threads."""

from __future__ import annotations

import math
import threading

import pytest

from hyperknob.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.exceptions import DuplicatedStudyError
from hyperknob.storages._base import BaseStorage
from hyperknob.testing._storage_contract_base import (
    FINISHED,
    MAX,
    MIN,
    NESTED_ATTR,
    StorageContractBase,
    _same_value,
)
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


class StorageSharingChecks(StorageContractBase):
    """Checks of the WAITING queue, templates, the finished-trial cache, several handles
    and threads.
    """

    # -- templates and the queue -----------------------------------------------------------
    def test_waiting_trials_claimed_oldest_first_once(self, storage: BaseStorage) -> None:
        """WAITING trials are claimed oldest first, each once; then claims return None."""
        study_id = storage.create_new_study("s", [MIN])
        other = storage.create_new_study("other", [MIN])
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
        study_id = storage.create_new_study("s", [MIN])
        storage.create_new_trial(study_id, FrozenTrial(-1, -1, TrialState.WAITING))
        claimed = storage.claim_waiting_trial(study_id)
        assert claimed is not None
        storage.set_trial_param(claimed.trial_id, "x", 3.0, IntDistribution(0, 5))
        assert storage.finish_trial(claimed.trial_id, TrialState.COMPLETE, [1.0])
        stored = storage.get_trial(claimed.trial_id)
        assert (stored.state, stored.value, dict(stored.params)) == (
            TrialState.COMPLETE, 1.0, {"x": 3})

    def test_concurrent_claims_each_trial_once(self, storage: BaseStorage) -> None:
        """Threads claiming at once get every WAITING trial exactly once."""
        study_id = storage.create_new_study("s", [MIN])
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
        study_id = storage.create_new_study("s", [MAX])
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
        study_id = storage.create_new_study("s", [MIN])
        trials = [storage.create_new_trial(study_id) for _ in range(3)]
        self._check_reads_track_writes(storage, storage, study_id, trials)

    def test_out_of_order_finishing_is_seen(self, storage: BaseStorage) -> None:
        """Trials finishing in any order are always read as they are stored."""
        study_id = storage.create_new_study("s", [MIN])
        trials = [storage.create_new_trial(study_id) for _ in range(5)]
        order = [3, 0, 4, 2, 1]
        for index in order:
            trial = trials[index]
            storage.set_trial_intermediate_value(trial.trial_id, 0, float(index))
            assert [t.state for t in storage.get_all_trials(study_id)][index] is (
                TrialState.RUNNING)
            storage.finish_trial(trial.trial_id, TrialState.COMPLETE, [float(index)])
            listed = storage.get_all_trials(study_id)
            assert listed == [storage.get_trial(t.trial_id) for t in trials]
            assert listed[index].state is TrialState.COMPLETE
            assert listed[index].intermediate_values == {0: float(index)}
            complete = storage.get_all_trials(study_id, (TrialState.COMPLETE,))
            done = sorted(order[:order.index(index) + 1])
            assert [t.number for t in complete] == done
        assert [t.value for t in storage.get_all_trials(study_id)] == [0.0, 1.0, 2.0, 3.0, 4.0]

    # -- several handles on the same data --------------------------------------------------
    def test_second_handle_sees_studies(self, storage: BaseStorage,
                                        second: BaseStorage) -> None:
        """A study created through one handle is found through another."""
        study_id = storage.create_new_study("shared", [MAX])
        assert second.get_study_id_from_name("shared") == study_id
        assert second.get_study_directions(study_id) == [MAX]
        with pytest.raises(DuplicatedStudyError):
            second.create_new_study("shared", [MIN])

    def test_second_handle_finishing_is_seen(self, storage: BaseStorage,
                                             second: BaseStorage) -> None:
        """Trials written and finished through one handle are read fresh through another."""
        study_id = storage.create_new_study("s", [MIN])
        trials = [storage.create_new_trial(study_id) for _ in range(3)]
        self._check_reads_track_writes(storage, second, study_id, trials)
        more = [second.create_new_trial(study_id) for _ in range(2)]
        assert [t.number for t in more] == [3, 4]
        assert [t.number for t in storage.get_all_trials(study_id)] == list(range(5))

    def test_second_handle_recreated_study_is_fresh(self, storage: BaseStorage,
                                                    second: BaseStorage) -> None:
        """A study deleted and re-created through another handle shows its new trials only."""
        old = storage.create_new_study("old", [MIN])
        self._finished_trial(storage, old, TrialState.COMPLETE, 1.0)
        assert len(storage.get_all_trials(old)) == 1  # read (and maybe cache) the old study
        second.delete_study(old)
        new = second.create_new_study("new", [MIN])
        assert storage.get_all_trials(new) == second.get_all_trials(new) == []
        assert storage.count_trials(new) == 0

    # -- threads ---------------------------------------------------------------------------
    def test_concurrent_trial_creation(self, storage: BaseStorage) -> None:
        """Threads creating trials at once get unique, consecutive numbers and ids."""
        study_id = storage.create_new_study("s", [MIN])
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
