"""RayExecutor on a real local Ray cluster: a head and worker nodes on 127.0.0.1.

The head holds no CPU, so every trial runs on a worker node, in an actor of its own process.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

import hyperknob  # noqa: E402
from hyperknob import TrialState  # noqa: E402
from hyperknob.pruners import MedianPruner  # noqa: E402
from hyperknob.testing import ExecutorContract  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# Worker processes cannot import this test module: send its objectives by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.hk_gpu_node = cluster.add_node(num_cpus=1, num_gpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def executor(**kwargs: Any) -> hyperknob.RayExecutor:
    return hyperknob.RayExecutor(driver_host="127.0.0.1", **kwargs)


def quadratic(trial: hyperknob.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    trial.set_user_attr("storage", type(trial.study.storage).__name__)
    trial.set_user_attr("pid", os.getpid())
    time.sleep(0.05)
    return (x - 1) ** 2


def worker_nodes(cluster: Any) -> set[str]:
    return {node.node_id for node in cluster.worker_nodes}


@pytest.mark.parametrize("where", ["memory", "sqlite"])
def test_trials_land_on_several_nodes_and_workers_never_open_the_study_file(
        cluster: Any, tmp_path: Path, where: str) -> None:
    url = None if where == "memory" else f"sqlite:///{tmp_path}/study.db"
    study = hyperknob.create_study(storage=url, seed=0)
    study.optimize(quadratic, n_trials=24, executor=executor())
    trials = study.trials
    assert [t.number for t in trials] == list(range(24))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    nodes = {t.system_attrs["ray_node"] for t in trials}
    assert nodes == worker_nodes(cluster)  # both worker nodes, never the CPU-less head
    assert {t.user_attrs["pid"] for t in trials}.isdisjoint({os.getpid()})
    assert {t.user_attrs["storage"] for t in trials} == {"StorageClient"}
    assert study.best_value < 1.0


@pytest.mark.postgres
def test_workers_connect_to_postgresql_themselves(cluster: Any, postgres_url: str) -> None:
    study = hyperknob.create_study(storage=postgres_url, seed=1)
    study.optimize(quadratic, n_trials=12, executor=executor())
    trials = hyperknob.load_study(study_name=study.study_name, storage=postgres_url).trials
    assert len(trials) == 12 and all(t.state is TrialState.COMPLETE for t in trials)
    assert {t.user_attrs["storage"] for t in trials} == {"SQLStorage"}
    assert len({t.system_attrs["ray_node"] for t in trials}) == 2


def curve(trial: hyperknob.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    for step in range(1, 6):
        trial.report(x + 1.0 / step, step)
        if trial.should_prune():
            raise hyperknob.TrialPruned()
    return x


def test_pruning_decisions_are_taken_in_the_remote_workers(cluster: Any) -> None:
    study = hyperknob.create_study(
        seed=3, sampler=hyperknob.samplers.RandomSampler(seed=3),
        pruner=MedianPruner(n_startup_trials=4, n_warmup_steps=2))
    study.optimize(curve, n_trials=30, executor=executor())
    pruned = study.get_trials(states=[TrialState.PRUNED])
    complete = study.get_trials(states=[TrialState.COMPLETE])
    assert pruned and complete and len(pruned) + len(complete) == 30
    for trial in pruned:
        assert trial.system_attrs["pruned_at_step"] >= 2
        assert trial.system_attrs["prune_reason"].startswith("MedianPruner: ")
        assert trial.system_attrs["ray_node"] in worker_nodes(cluster)
        # Pruned above the median of the earlier trials at its step: never the best ones.
        assert trial.params["x"] > min(t.params["x"] for t in complete)


def gpu_share(trial: hyperknob.Trial) -> float:
    started = time.time()
    trial.suggest_float("x", 0, 1)
    time.sleep(0.5)
    trial.set_user_attr("cuda", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("span", [started, time.time()])
    return 0.0


def test_a_quarter_gpu_per_trial_runs_four_trials_on_one_gpu(cluster: Any) -> None:
    run = executor(resources_per_trial={"cpu": 0, "gpu": 0.25})
    assert run.concurrency() == 4
    study = hyperknob.create_study(seed=0)
    study.optimize(gpu_share, n_trials=12, executor=run)
    trials = study.trials
    assert {t.system_attrs["ray_node"] for t in trials} == {cluster.hk_gpu_node.node_id}
    assert {t.user_attrs["cuda"] for t in trials} == {"0"}
    events = sorted([(t.user_attrs["span"][0], 1) for t in trials]
                    + [(t.user_attrs["span"][1], -1) for t in trials])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    assert 2 <= peak <= 4


def crash_once(marker: str) -> Any:
    def objective(trial: hyperknob.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        if trial.number == 3 and not os.path.exists(marker):
            Path(marker).touch()
            os._exit(1)  # the worker process dies mid-trial, as on a segfault or OOM kill
        return x * x
    return objective


def test_a_worker_that_dies_mid_trial_leaves_it_failed_and_retried(
        cluster: Any, tmp_path: Path) -> None:
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db", seed=0)
    study.optimize(crash_once(str(tmp_path / "crashed")), n_trials=10, executor=executor())
    trials = study.trials
    failed = [t for t in trials if t.state is TrialState.FAIL]
    assert len(failed) == 1 and failed[0].number == 3
    assert failed[0].system_attrs["fail_reason"].startswith("lost: its Ray worker died")
    retry = [t for t in trials if t.system_attrs.get("retried_from") == 3]
    assert len(retry) == 1 and retry[0].state is TrialState.COMPLETE
    assert retry[0].params == failed[0].params
    assert len(study.get_trials(states=[TrialState.COMPLETE])) == 10
    assert len({t.number for t in trials}) == len(trials) == 11


def test_removing_a_node_mid_study_still_completes_every_requested_trial(
        cluster: Any, tmp_path: Path) -> None:
    victim = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    url = f"sqlite:///{tmp_path}/s.db"
    study = hyperknob.create_study(storage=url, seed=0)

    def slow(trial: hyperknob.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        for step in range(1, 9):
            time.sleep(0.1)
            trial.report(x, step)
        return x * x

    removed = threading.Event()

    def remove_when_busy() -> None:  # wait until the victim runs a trial, then kill the node
        storage = hyperknob.storages.get_storage(url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for t in storage.get_all_trials(study._study_id, [TrialState.RUNNING]):
                if t.system_attrs.get("ray_node") == victim.node_id and t.intermediate_values:
                    cluster.remove_node(victim, allow_graceful=False)
                    removed.set()
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=remove_when_busy, daemon=True)
    killer.start()
    try:
        study.optimize(slow, n_trials=15, executor=executor(max_concurrent=3))
    finally:
        killer.join(timeout=10)
    assert removed.is_set()
    trials = study.trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    lost = [t for t in trials if t.state is TrialState.FAIL]
    assert len(complete) == 15
    assert lost and all("lost" in t.system_attrs["fail_reason"] for t in lost)
    # a lost trial ran on the victim, or died with it before its worker could record the node
    assert all(t.system_attrs.get("ray_node") in (victim.node_id, None) for t in lost)
    assert any(t.system_attrs.get("ray_node") == victim.node_id for t in lost)
    retried = {t.system_attrs["retried_from"] for t in trials if "retried_from" in t.system_attrs}
    assert retried == {t.number for t in lost}
    assert len({t.number for t in trials}) == len(trials)
    assert all(t.state.is_finished() for t in trials)


def fails_on_odd(trial: hyperknob.Trial) -> float:
    x = trial.suggest_int("x", 0, 100)
    if trial.number % 2:
        raise ValueError(f"odd trial {trial.number}")
    return float(x)


def test_an_objective_error_fails_its_trial_and_is_raised_unless_caught(cluster: Any) -> None:
    study = hyperknob.create_study(seed=0)
    with pytest.raises(ValueError, match="odd trial"):
        study.optimize(fails_on_odd, n_trials=6, executor=executor(max_concurrent=1))
    failed = study.get_trials(states=[TrialState.FAIL])
    assert failed and "ValueError: odd trial" in failed[0].system_attrs["fail_reason"]
    assert "Traceback" in failed[0].system_attrs["traceback"]
    assert not study.get_trials(states=[TrialState.RUNNING])

    caught = hyperknob.create_study(seed=0)
    seen: list[int] = []
    caught.optimize(fails_on_odd, n_trials=6, catch=ValueError, executor=executor(),
                    callbacks=[lambda s, t: seen.append(t.number)])
    assert sorted(seen) == list(range(6))  # callbacks run on the driver, once per trial
    assert len(caught.get_trials(states=[TrialState.FAIL])) == 3


def test_bad_settings_name_the_value_and_what_was_expected(cluster: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"resources_per_trial\[.cpu.\] must be a finite number"):
        hyperknob.RayExecutor(resources_per_trial={"cpu": -1})
    with pytest.raises(ValueError, match="max_concurrent must be an int >= 1"):
        hyperknob.RayExecutor(max_concurrent=0)
    with pytest.raises(ValueError, match=r"a trial needs cpu=8 but the Ray cluster has cpu=[23] "):
        executor(resources_per_trial={"cpu": 8}).concurrency()
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(ValueError, match="storage_access='direct' needs a PostgreSQL"):
        study.optimize(quadratic, n_trials=1, executor=executor(storage_access="direct"))
    with pytest.raises(ValueError, match="n_jobs and executor do not mix"):
        study.optimize(quadratic, n_trials=1, n_jobs=2, executor=executor())
    assert study.trials == []


def test_an_objective_workers_cannot_load_is_a_clear_error(cluster: Any) -> None:
    import types

    module = types.ModuleType("hk_not_on_workers")
    exec("def objective(trial):\n    return trial.suggest_float('x', 0, 1)\n", module.__dict__)
    sys.modules["hk_not_on_workers"] = module  # importable here, pickled by reference
    try:
        study = hyperknob.create_study()
        with pytest.raises(RuntimeError, match=r"could not set up the study.*not importable"):
            study.optimize(module.objective, n_trials=2, executor=executor())
    finally:
        del sys.modules["hk_not_on_workers"]
    assert study.trials == []


def test_zero_trials_start_no_worker_and_store_nothing(cluster: Any) -> None:
    study = hyperknob.create_study()
    started = time.perf_counter()
    study.optimize(quadratic, n_trials=0, executor=executor())
    assert study.trials == [] and time.perf_counter() - started < 5


class TestRayContract(ExecutorContract):
    """The executor contract, on the two one-CPU worker nodes of the test cluster."""

    max_in_flight = 2
    startup_seconds = 20.0  # a worker actor may take seconds to start on a loaded machine

    @pytest.fixture(autouse=True)
    def _on_the_cluster(self, cluster: Any) -> None:
        return None

    def make_executor(self) -> Any:
        return executor()
