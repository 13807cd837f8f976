"""What remote workers rely on: samplers and pruners travel by pickle and decide like the
original, and a storage served over TCP answers only a client holding the key."""

from __future__ import annotations

import pickle
from multiprocessing import AuthenticationError
from typing import Any

import pytest

import hyperknob
from hyperknob import pruners, samplers
from hyperknob.storages import InMemoryStorage
from hyperknob.storages._remote import StorageClient, StorageServer


def objective(trial: hyperknob.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 8, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    for step in range(1, 4):
        trial.report(x * x + n / step, step)
    return x * x + n + (kind == "b")


SAMPLERS = [
    lambda: samplers.RandomSampler(seed=1),
    lambda: samplers.QMCSampler(seed=1),
    lambda: samplers.TPESampler(seed=1, n_startup_trials=5),
    lambda: samplers.TPESampler(seed=1, n_startup_trials=5, multivariate=True),
    lambda: samplers.GPSampler(seed=1, n_startup_trials=5),
    lambda: samplers.BOHBSampler(seed=1, n_startup_trials=5),
]


@pytest.mark.parametrize("make", SAMPLERS)
def test_a_pickled_sampler_suggests_what_the_original_suggests(make: Any) -> None:
    sampler = make()
    study = hyperknob.create_study(sampler=sampler)
    study.optimize(objective, n_trials=12)  # the original's caches now hold this study
    copy = pickle.loads(pickle.dumps(sampler))
    twin = hyperknob.create_study(sampler=copy)
    for trial in study.trials:
        twin.add_trial(trial)
    study.optimize(objective, n_trials=3)
    twin.optimize(objective, n_trials=3)
    assert [t.params for t in twin.trials[12:]] == [t.params for t in study.trials[12:]]


@pytest.mark.parametrize("pruner", [
    pruners.MedianPruner(n_startup_trials=2), pruners.PercentilePruner(25.0),
    pruners.SuccessiveHalvingPruner(), pruners.HyperbandPruner(max_resource=3),
    pruners.ThresholdPruner(upper=10.0), pruners.PatientPruner(pruners.MedianPruner(), 1),
])
def test_a_pickled_pruner_decides_what_the_original_decides(pruner: Any) -> None:
    study = hyperknob.create_study(sampler=samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=10)
    copy = pickle.loads(pickle.dumps(pruner))
    trial = study.ask()
    trial.suggest_float("x", -5, 5)
    for step, value in enumerate([30.0, 20.0, 9.0], start=1):
        trial.report(value, step)
        frozen = study._storage.get_trial(trial._trial_id)
        assert copy.check(study._view, frozen) == pruner.check(study._view, frozen)


def test_a_storage_served_over_tcp_answers_its_key_holder_only() -> None:
    storage = InMemoryStorage()
    server = StorageServer(storage, host="127.0.0.1")
    try:
        host, port = server.address  # type: ignore[misc]
        assert host == "127.0.0.1" and port > 0
        client = StorageClient(server.address, server.authkey)
        study = hyperknob.create_study(storage=client, study_name="over-tcp")
        study.optimize(objective, n_trials=5)
        client.close()
        assert [t.value for t in hyperknob.load_study(study_name="over-tcp",
                                                      storage=storage).trials] == [
            t.value for t in study.trials]
        intruder = StorageClient(server.address, b"not the key")
        with pytest.raises(AuthenticationError):
            intruder.get_all_studies()
        again = StorageClient(server.address, server.authkey)  # the server still serves
        assert [s.study_name for s in again.get_all_studies()] == ["over-tcp"]
        again.close()
    finally:
        server.close()
