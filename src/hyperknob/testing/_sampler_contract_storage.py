"""The sampler contract, checks of how a sampler uses storages: read-only, any backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hyperknob.distributions import BaseDistribution
from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.study._functions import create_study, load_study
from hyperknob.study._study import Study
from hyperknob.study._view import StudyView
from hyperknob.testing._sampler_contract_base import (
    WRITE_METHODS,
    RecordingStorage,
    SamplerContractBase,
    SpySampler,
    objective_for,
    suggestions,
)
from hyperknob.trial._frozen import FrozenTrial


class SamplerStorageChecks(SamplerContractBase):
    """Checks that a sampler only reads storages and works on any of them, enqueued and
    restarted studies included.
    """

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
        first.storage.close()
        resumed: Study = load_study(study_name="restart", storage=url,
                                    sampler=self.make_sampler(9))
        resumed.optimize(objective_for(space), n_trials=2 * half)
        trials = resumed.trials
        assert [t.number for t in trials] == list(range(3 * half))
        self._check_trials(trials, space)
        straight = self._run(seed=9, n_trials=3 * half, storage=f"sqlite:///{tmp_path}/one.db")
        assert suggestions(trials) == straight
