"""Per-trial overhead of the optimize loop on two versions of hyperknob, in one run (issue 17).

Issue 17 rebuilt the core (one trial lifecycle, one loop, executors); its goal is that no
per-trial overhead regresses by more than 5 %. This script times the same cells on two
source trees -- ``--old`` and ``--new``, e.g. a ``git worktree`` of the commit before the
change and the working tree -- alternating them run by run (A B, B A, ...) so that drift of
the shared machine falls on both, each run in a fresh interpreter with that tree first on
``PYTHONPATH``. The objective is trivial (a float, a log-float and a categorical; a few
flops), so the time is the framework's: asking, sampling, storing, telling, the loop, the
executor.

Cells (``--cells``):

* ``serial-memory``: ``study.optimize(n_trials=N)`` in memory, RandomSampler.
* ``serial-sqlite``: the same on a fresh SQLite file.
* ``tpe-memory``: TPESampler in memory (the sampler dominates; the loop is a small share).
* ``processes-sqlite``: ``n_jobs=2`` forked workers on a SQLite file (worker start-up included).
* ``processes-memory``: ``n_jobs=2`` with the in-memory study served to the workers.
* ``ray-memory``: ``RayExecutor`` on a local Ray (``ray.init`` not timed; actor start-up is),
  one CPU per trial, the study in memory served by the driver.
* ``ray-sqlite``: the same with the study in a SQLite file the driver serves to the actors.

Reported per cell: the median over repeats of wall time / trial for each tree, and the ratio
new / old (1.05 = 5 % slower). Every measurement goes to ``--out`` as JSON with the command.

Example::

    git worktree add /tmp/hk-old e6c902e
    python benchmarks/core_overhead.py --old /tmp/hk-old/src --new src --repeats 5 \\
        --out benchmarks/results/core-overhead-17.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CELLS: dict[str, tuple[str, int]] = {  # cell -> (kind, default trials)
    "serial-memory": ("serial", 2000),
    "serial-sqlite": ("serial", 300),
    "tpe-memory": ("serial", 300),
    "processes-sqlite": ("processes", 200),
    "processes-memory": ("processes", 400),
    "ray-memory": ("ray", 200),
    "ray-sqlite": ("ray", 200),
}

RUN = r'''
import json, os, sys, time, tempfile, warnings
warnings.simplefilter("ignore")
import hyperknob
from hyperknob import samplers
cell, n, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def objective(trial):
    x = trial.suggest_float("x", -10.0, 10.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    return (x - 1.0) ** 2 + lr * (2.0 if act == "relu" else 1.0)

storage = f"sqlite:///{where}/s.db" if cell.endswith("sqlite") else None
sampler = samplers.TPESampler(seed=0) if cell.startswith("tpe") else samplers.RandomSampler(seed=0)
kwargs = {}
if cell.startswith("processes"):
    kwargs["n_jobs"] = 2
if cell.startswith("ray"):
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    kwargs["executor"] = hyperknob.RayExecutor(driver_host="127.0.0.1",
                                               resources_per_trial={"cpu": 1})
    warm = hyperknob.create_study(sampler=samplers.RandomSampler(seed=1))
    warm.optimize(objective, n_trials=4, **kwargs)  # Ray's first actor start is not timed
study = hyperknob.create_study(storage=storage, sampler=sampler)
began = time.perf_counter()
study.optimize(objective, n_trials=n, **kwargs)
took = time.perf_counter() - began
assert len(study.trials) == n, len(study.trials)
print(json.dumps({"seconds": took, "trials": n, "version": hyperknob.__file__}))
'''


def run_once(tree: str, cell: str, n: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()), RAY_AUTH_MODE="disabled")
    with tempfile.TemporaryDirectory() as where:
        done = subprocess.run([sys.executable, "-c", RUN, cell, str(n), where], env=env,
                              capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cell} on {tree} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(Path(tree).resolve()) in result["version"], result["version"]
    return float(result["seconds"]) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="src folder of the old tree")
    parser.add_argument("--new", required=True, help="src folder of the new tree")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=None, help="override every cell's N")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    record: dict[str, Any] = {
        "command": "python " + shlex.join(sys.argv), "date": datetime.datetime.now().isoformat(),
        "python": platform.python_version(), "machine": platform.platform(),
        "cpus": os.cpu_count(), "old": args.old, "new": args.new, "cells": {}}
    print("| cell | trials | old ms/trial | new ms/trial | new / old |")
    print("|---|---:|---:|---:|---:|")
    for cell in args.cells:
        n = args.trials or CELLS[cell][1]
        times: dict[str, list[float]] = {"old": [], "new": []}
        for repeat in range(args.repeats):
            order = ("old", "new") if repeat % 2 == 0 else ("new", "old")
            for which in order:
                times[which].append(run_once(getattr(args, which), cell, n))
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        record["cells"][cell] = {"trials": n, "seconds_per_trial": times,
                                 "median_old": old, "median_new": new, "ratio": new / old}
        print(f"| {cell} | {n} | {old * 1e3:.3f} | {new * 1e3:.3f} | {new / old:.3f} |",
              flush=True)
        if args.out is not None:
            args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
