"""Shared parts of the storage contract: the hooks, fixtures, helpers and test data.

The checks themselves live in the ``_storage_contract_*`` mixins, which
:class:`~hyperknob.testing.StorageContract` combines.
"""

from __future__ import annotations

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


class StorageContractBase:
    """The hooks, fixtures and helpers every storage-contract mixin builds on."""

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
        assert storage.finish_trial(trial.trial_id, state, None if value is None else [value])
        return storage.get_trial(trial.trial_id)

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
            assert writer.finish_trial(trial.trial_id, state,
                                       None if value is None else [value])
            for _ in range(2):
                seen = reader.get_all_trials(study_id)
                assert seen[index].state is state
                assert seen[index].value == value
                assert seen[index].datetime_complete is not None
                assert [t.number for t in reader.get_all_trials(study_id, (state,))].count(
                    index) == 1
            assert reader.get_trial(trial.trial_id) == writer.get_trial(trial.trial_id)

