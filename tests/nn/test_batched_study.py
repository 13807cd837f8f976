"""A study run K trials at a time: distinct suggestions, per-model pruning, normal trials."""

from __future__ import annotations

import pytest

import hyperknob
from hyperknob import TrialState, pruners
from hyperknob.analysis import diagnose_trial
from hyperknob.nn import NeuralNetworkObjective, load_dataset
from hyperknob.nn._batched_auto import choose_batch, memory_limit
from hyperknob.nn._batched_study import optimize_batched
from hyperknob.samplers import TPESampler


@pytest.fixture(scope="module")
def job() -> NeuralNetworkObjective:
    data = load_dataset("iris", seed=0)
    job = NeuralNetworkObjective(data)
    job.space = job.space.replace(epochs=9, n_layers=1)
    return job


def test_batched_trials_are_normal_trials_pruned_one_by_one(job: NeuralNetworkObjective) -> None:
    study = hyperknob.create_study(
        direction=job.direction, sampler=TPESampler(seed=0, n_startup_trials=4),
        pruner=pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    job.prepare(study)  # the enqueued rule-of-thumb trials come first, in the batches
    assert optimize_batched(study, job, batch=8, n_trials=16) == 16
    trials = study.trials
    assert len(trials) == 16 and all(t.state.is_finished() for t in trials)
    assert trials[0].user_attrs.get("source") == "rule of thumb"
    rates = [t.params["learning_rate"] for t in trials]
    assert len(set(rates[:8])) == 8 and len(set(rates[8:])) == 8  # the K suggestions differ
    states = {t.state for t in trials}
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    for trial in trials:
        attrs = trial.user_attrs
        assert attrs["epochs_run"] == len(attrs["curves"]["val_metric"])
        assert sorted(trial.intermediate_values) == list(range(1, attrs["epochs_run"] + 1))
        assert attrs["config"]["learning_rate"] == trial.params["learning_rate"]
        assert {"n_parameters", "best_epoch", "stop_detail", "train_rows"} <= set(attrs)
        if trial.state is TrialState.PRUNED:
            assert trial.system_attrs["prune_reason"]
            assert attrs["stop_reason"] in ("stopped", "diverged")
        else:
            assert trial.value == max(attrs["curves"]["val_metric"])
        diagnosis = diagnose_trial(trial)
        assert diagnosis is not None and diagnosis.summary
    # Pruned at a rung while others of the same batch went on training.
    first = [t for t in trials if t.number < 8]
    assert min(t.user_attrs["epochs_run"] for t in first) < 9 <= max(
        t.user_attrs["epochs_run"] for t in first)


def test_a_failing_batch_fails_its_trials_and_raises(job: NeuralNetworkObjective) -> None:
    study = hyperknob.create_study(direction=job.direction)
    broken = NeuralNetworkObjective(job.dataset, job.space, device="cpu")
    broken.space = job.space.replace(units=0)  # MLPConfig refuses a width of 0
    with pytest.raises((ValueError, TypeError)):
        optimize_batched(study, broken, batch=3, n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.FAIL]
    assert "raised" in study.trials[0].system_attrs["fail_reason"]


def test_budget_and_batch_are_checked(job: NeuralNetworkObjective) -> None:
    study = hyperknob.create_study(direction=job.direction)
    with pytest.raises(ValueError, match="batch must be an int >= 1, got batch=0"):
        optimize_batched(study, job, batch=0, n_trials=2)
    with pytest.raises(ValueError, match="n_trials or timeout"):
        optimize_batched(study, job, batch=2)
    assert optimize_batched(study, job, batch=4, n_trials=5) == 5  # the last batch is cut


def test_auto_measures_and_explains(job: NeuralNetworkObjective) -> None:
    choice = choose_batch(job.space, job.dataset, max_k=4, budget=0.5)
    assert choice.k in (1, 2, 4) and 1 in choice.measured and "K=1" in choice.reason
    assert choose_batch(job.space, job.dataset, max_k=1).k == 1
    with pytest.raises(ValueError, match="max_k"):
        choose_batch(job.space, job.dataset, max_k=0)
    # 80 GB free and a digits-sized MLP: thousands of models fit.
    digits = load_dataset("digits", seed=0)
    from hyperknob.nn import MLPConfig
    assert memory_limit([MLPConfig(hidden_layers=(128, 128))], digits, 80 * 2**30) > 1024


def test_a_callback_stopping_the_study_ends_the_batched_run(job: NeuralNetworkObjective) -> None:
    study = hyperknob.create_study(direction=job.direction, sampler=TPESampler(seed=0))
    ran = optimize_batched(study, job, batch=4, n_trials=20,
                           callbacks=[lambda s, t: s.stop() if t.number == 5 else None])
    assert ran == 8 and len(study.trials) == 8  # the batch holding trial 5 finishes, no more


def test_one_heartbeat_thread_keeps_every_trial_of_a_batch_alive(
        job: NeuralNetworkObjective, tmp_path: object) -> None:
    import datetime
    import time

    policy = hyperknob.HeartbeatPolicy(interval=0.05, grace_period=0.5)
    study = hyperknob.create_study(direction=job.direction, heartbeat=policy, seed=0,
                                   storage=f"sqlite:///{tmp_path}/beat.db")
    stale_seen: list[list[int]] = []
    beating: list[int] = []
    slow = NeuralNetworkObjective(job.dataset, job.space)

    def report(trial: hyperknob.Trial, record: object) -> bool:
        time.sleep(0.03)  # 9 epochs x 4 models: ~1 s, twice the grace period
        cutoff = datetime.datetime.now() - datetime.timedelta(seconds=0.3)
        stale_seen.append(study._storage.get_stale_trial_ids(study._study_id, cutoff))
        future = datetime.datetime.now() + datetime.timedelta(hours=1)  # any heartbeat at all
        beating.append(len(study._storage.get_stale_trial_ids(study._study_id, future)))
        return NeuralNetworkObjective.report(slow, trial, record)  # type: ignore[arg-type]

    slow.report = report  # type: ignore[method-assign]
    assert optimize_batched(study, slow, batch=4, n_trials=4) == 4
    assert len(stale_seen) >= 30 and not any(stale_seen)  # none silent for 0.3 s ...
    assert beating[0] == 4  # ... and all four beat from the start
    assert [t.state for t in study.trials].count(TrialState.FAIL) == 0


def test_an_error_mid_batch_fails_every_trial_of_the_batch(job: NeuralNetworkObjective) -> None:
    study = hyperknob.create_study(direction=job.direction, sampler=TPESampler(seed=1))
    broken = NeuralNetworkObjective(job.dataset, job.space)
    reports = []

    def report(trial: hyperknob.Trial, record: object) -> bool:
        reports.append(trial.number)
        if len(reports) == 6:  # epoch 2 of a batch of 3
            raise RuntimeError("the device fell over")
        return NeuralNetworkObjective.report(broken, trial, record)  # type: ignore[arg-type]

    broken.report = report  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="the device fell over"):
        optimize_batched(study, broken, batch=3, n_trials=6)
    trials = study.trials
    assert len(trials) == 3 and [t.state for t in trials] == [TrialState.FAIL] * 3
    assert all("the device fell over" in t.system_attrs["fail_reason"] for t in trials)
    # The five reports before the error stay (stacks of other activations may not have run).
    assert sum(len(t.intermediate_values) for t in trials) == 5


def test_trials_keep_beating_while_the_batch_is_recorded_and_told(
        job: NeuralNetworkObjective, tmp_path: object) -> None:
    import time


    policy = hyperknob.HeartbeatPolicy(interval=0.05, grace_period=0.2)
    study = hyperknob.create_study(direction=job.direction, heartbeat=policy,
                                   storage=f"sqlite:///{tmp_path}/told.db")
    slow = NeuralNetworkObjective(job.dataset, job.space)

    def record(trial: hyperknob.Trial, result: object) -> None:
        time.sleep(0.15)  # four of these outlast the grace period
        study.reap_stale_trials(policy)  # what another worker does before its next trial
        NeuralNetworkObjective.record(slow, trial, result)  # type: ignore[arg-type]

    slow.record = record  # type: ignore[method-assign]
    assert optimize_batched(study, slow, batch=4, n_trials=4) == 4
    assert TrialState.FAIL not in [t.state for t in study.trials]
