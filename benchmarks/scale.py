"""Throughput of worker processes sharing one storage, side by side with Optuna.

Part ``storage``: ``k`` = 1, 2, 4, 8 worker processes share one study (SQLite file or
PostgreSQL) and run a trivial objective (``x**2``, a random sampler in both libraries so
only the machinery is timed) until ``--trials`` trials exist in all. Every worker imports its
library and opens the storage first, then waits for a common start signal, so interpreter
start-up is not timed; throughput = trials / (last worker's end - start signal). Optuna runs
the same way (its RDBStorage on the same URL, ``RandomSampler``).

Part ``cpu``: a CPU-bound objective (a pure-Python loop of ``--work`` iterations) with
hyperknob's ``n_jobs=1`` and ``n_jobs=2`` (forked workers, in-memory study served to them):
the speedup from one to two workers on this 2-core machine.

Part ``ray``: the overhead per trivial trial of hyperknob on Ray (``RayExecutor``, one CPU per
trial, the study in memory or in a SQLite file the driver serves) against Ray Tune running the
same objective (``Tuner`` with its defaults, ``num_samples`` trials, the same CPU per trial), on
one local Ray instance started once (``ray.init(num_cpus=2)``; its start-up is not timed). Each
method runs ``--trials`` trials and is repeated ``--repeats`` times, alternating; per-trial
overhead = wall time of the whole run (set-up included: actors, Tune's experiment) / trials.

Examples::

    python benchmarks/scale.py --part storage --backends sqlite --out benchmarks/results/scale.json
    python benchmarks/scale.py --part cpu
    python benchmarks/scale.py --part ray --trials 200 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

WORKER = textwrap.dedent(
    """
    import os, sys, time
    lib, url, name, n, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    if lib == "hyperknob":
        import hyperknob
        study = hyperknob.load_study(study_name=name, storage=url,
                                     sampler=hyperknob.samplers.RandomSampler())
    else:
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name=name, storage=url,
                                  sampler=optuna.samplers.RandomSampler())
    study.trials  # open the connection before the clock starts
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2, n_trials=n)
    print(time.time(), flush=True)
    """
)


def _create(lib: str, url: str, name: str) -> None:
    if lib == "hyperknob":
        import hyperknob

        hyperknob.create_study(study_name=name, storage=url)
    else:
        import optuna

        optuna.create_study(study_name=name, storage=url)


def _count(lib: str, url: str, name: str) -> int:
    if lib == "hyperknob":
        import hyperknob

        return len(hyperknob.load_study(study_name=name, storage=url).trials)
    import optuna

    return len(optuna.load_study(study_name=name, storage=url).trials)


def storage_run(lib: str, url: str, workers: int, trials: int) -> dict[str, Any]:
    """Run ``trials`` trials with ``workers`` processes; return trials per second."""
    name = f"scale-{uuid.uuid4().hex[:8]}"
    _create(lib, url, name)
    script = Path(tempfile.gettempdir()) / "hk_scale_worker.py"
    script.write_text(WORKER)
    go = Path(tempfile.gettempdir()) / f"hk_scale_go_{name}"
    share = [trials // workers + (1 if i < trials % workers else 0) for i in range(workers)]
    procs = [subprocess.Popen([sys.executable, str(script), lib, url, name, str(n), str(go)],
                              stdout=subprocess.PIPE, text=True) for n in share]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    start = time.time()
    go.write_text("go")
    ends = []
    for proc in procs:
        assert proc.stdout is not None
        ends.append(float(proc.stdout.readline()))
        proc.wait(timeout=600)
    go.unlink()
    elapsed = max(ends) - start
    made = _count(lib, url, name)
    return {"lib": lib, "workers": workers, "trials": made, "seconds": elapsed,
            "trials_per_s": made / elapsed}


def cpu_run(n_jobs: int, trials: int, work: int) -> float:
    """Return the seconds hyperknob takes for ``trials`` CPU-bound trials with ``n_jobs``."""
    import hyperknob

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        total = 0.0
        for i in range(work):
            total += (x * i) % 7.0
        return total

    study = hyperknob.create_study(sampler=hyperknob.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=n_jobs)
    return time.perf_counter() - start


def ray_runs(trials: int, repeats: int) -> list[dict[str, Any]]:
    """Time hyperknob's RayExecutor and Ray Tune on the same trivial objective, alternating."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from ray import tune

    import hyperknob

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)

    def hk_objective(trial: Any) -> float:
        return float(trial.suggest_float("x", -5.0, 5.0) ** 2)

    def tune_objective(config: dict[str, float]) -> dict[str, float]:
        return {"loss": config["x"] ** 2}

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(repeats):
            for method in ("hyperknob-memory", "hyperknob-sqlite", "ray-tune"):
                start = time.perf_counter()
                if method == "ray-tune":
                    tuner = tune.Tuner(
                        tune.with_resources(tune_objective, {"cpu": 1}),
                        param_space={"x": tune.uniform(-5.0, 5.0)},
                        tune_config=tune.TuneConfig(num_samples=trials, metric="loss",
                                                    mode="min"),
                        run_config=tune.RunConfig(storage_path=f"{tmp}/tune-{repeat}",
                                                  verbose=0))
                    results = tuner.fit()
                    done = len([r for r in results if r.error is None])
                else:
                    storage = (None if method == "hyperknob-memory"
                               else f"sqlite:///{tmp}/hk-{repeat}.db")
                    study = hyperknob.create_study(
                        storage=storage, sampler=hyperknob.samplers.RandomSampler())
                    study.optimize(hk_objective, n_trials=trials,
                                   executor=hyperknob.RayExecutor(
                                       resources_per_trial={"cpu": 1}))
                    done = len(study.get_trials(states=[hyperknob.TrialState.COMPLETE]))
                seconds = time.perf_counter() - start
                rows.append({"method": method, "repeat": repeat, "trials": done,
                             "seconds": seconds, "s_per_trial": seconds / trials})
                print(f"{method:17s} repeat {repeat}: {done} trials in {seconds:6.1f} s = "
                      f"{1000 * seconds / trials:7.1f} ms per trial", flush=True)
    ray.shutdown()
    for method in ("hyperknob-memory", "hyperknob-sqlite"):
        mine = sum(r["s_per_trial"] for r in rows if r["method"] == method)
        theirs = sum(r["s_per_trial"] for r in rows if r["method"] == "ray-tune")
        print(f"{method}: {mine / theirs:.3f} of Ray Tune's time per trial (goal <= 0.1)")
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("storage", "cpu", "ray"), default="storage")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--work", type=int, default=2_000_000)
    parser.add_argument("--postgres", default=os.environ.get("HYPERKNOB_TEST_POSTGRES_URL"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    if args.part == "ray":
        rows = ray_runs(args.trials, args.repeats)
    elif args.part == "cpu":
        one = cpu_run(1, 8, args.work)
        two = cpu_run(2, 8, args.work)
        rows.append({"n_jobs_1_s": one, "n_jobs_2_s": two, "speedup": one / two,
                     "trials": 8, "work": args.work})
        print(f"CPU-bound, 8 trials: 1 worker {one:.1f} s, 2 workers {two:.1f} s, "
              f"speedup {one / two:.2f}x (goal >= 1.7x)")
    else:
        for backend in args.backends:
            with tempfile.TemporaryDirectory() as tmp:
                for workers in args.workers:
                    for lib in ("hyperknob", "optuna"):
                        if backend == "sqlite":
                            url = f"sqlite:///{tmp}/{lib}-{workers}.db"
                        elif args.postgres:
                            url = args.postgres
                        else:
                            print("no PostgreSQL URL: skipped")
                            break
                        row = {"backend": backend, **storage_run(lib, url, workers,
                                                                  args.trials)}
                        rows.append(row)
                        print(f"{backend:8s} {lib:9s} {workers} workers: "
                              f"{row['trials_per_s']:7.1f} trials/s ({row['trials']} trials "
                              f"in {row['seconds']:.1f} s)", flush=True)
        for backend in args.backends:
            for workers in args.workers:
                pair = {r["lib"]: r for r in rows
                        if r["backend"] == backend and r["workers"] == workers}
                if len(pair) == 2:
                    ratio = pair["hyperknob"]["trials_per_s"] / pair["optuna"]["trials_per_s"]
                    print(f"{backend} {workers} workers: hyperknob / Optuna = {ratio:.2f}x")
    if args.out:
        Path(args.out).write_text(json.dumps({"command": " ".join(["python",
                                               "benchmarks/scale.py", *argv]),
                                              "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                    time.gmtime()),
                                              "rows": rows}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
