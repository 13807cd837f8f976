"""Plots of a big study, side by side with Optuna: seconds per figure at ``--trials`` trials.

One study of ``--trials`` trials (default 10,000) is built twice from the same numbers -- a
hyperknob study and an Optuna study (``optuna.trial.create_trial``): a log-scaled learning
rate, an int number of layers, a categorical activation and a dropout only when the
activation is relu (a conditional parameter); 20 reported steps each; one trial in ten
pruned, one in fifty failed. Each figure is drawn with both libraries' plotly functions (the
data and the figure: what a user waits for), ``--repeats`` times alternating, best of them:

=====================  ==========================================  ===========================
figure                 hyperknob                                    Optuna
=====================  ==========================================  ===========================
history                ``viz.plot_optimization_history``            ``plot_optimization_history``
EDF                    ``viz.plot_edf``                             ``plot_edf``
parallel coordinates   ``viz.plot_parallel_coordinate``             ``plot_parallel_coordinate``
slice                  ``viz.plot_slice``                           ``plot_slice``
contour (lr, layers)   ``viz.plot_contour``                         ``plot_contour``
learning curves        ``viz.plot_learning_curves``                 ``plot_intermediate_values``
timeline               ``viz.plot_timeline``                        ``plot_timeline``
=====================  ==========================================  ===========================

The unit tests check what the data functions return at 10,000 trials; how fast they are is
measured here, as a ratio to Optuna in the same run (this machine is shared).

Example::

    python benchmarks/viz_speed.py --out benchmarks/results/viz_speed.json
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _results import save, source_sha256

T0 = datetime.datetime(2026, 1, 1)
STEPS = 20


def rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Return the trials both studies are built from: state, value, params, curve, times."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        act = ("relu", "tanh", "gelu")[i % 3]
        params: dict[str, Any] = {"lr": float(10 ** rng.uniform(-4, -1)),
                                  "layers": int(rng.integers(1, 6)), "act": act}
        if act == "relu":
            params["dropout"] = float(0.5 * rng.random())
        curve = (np.linspace(0.2, 0.9, STEPS) * rng.random()).tolist()
        state = "FAIL" if i % 50 == 7 else "PRUNED" if i % 10 == 3 else "COMPLETE"
        out.append({"state": state, "params": params, "curve": curve,
                    "value": curve[-1] if state == "COMPLETE" else None,
                    "start": T0 + datetime.timedelta(seconds=0.5 * i),
                    "end": T0 + datetime.timedelta(seconds=0.5 * i + 2.0)})
    return out


def hyperknob_study(data: list[dict[str, Any]]) -> Any:
    import hyperknob
    from hyperknob.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from hyperknob.trial import FrozenTrial, TrialState

    dists = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "layers": IntDistribution(1, 5),
             "act": CategoricalDistribution(("relu", "tanh", "gelu")),
             "dropout": FloatDistribution(0.0, 0.5)}
    study = hyperknob.create_study(direction="maximize")
    for i, row in enumerate(data):
        study.add_trial(FrozenTrial(
            number=i, trial_id=i, state=TrialState[row["state"]], value=row["value"],
            params=row["params"], distributions={k: dists[k] for k in row["params"]},
            intermediate_values=dict(enumerate(row["curve"], start=1)),
            datetime_start=row["start"], datetime_complete=row["end"]))
    return study


def optuna_study(data: list[dict[str, Any]]) -> Any:
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "layers": IntDistribution(1, 5),
             "act": CategoricalDistribution(["relu", "tanh", "gelu"]),
             "dropout": FloatDistribution(0.0, 0.5)}
    study = optuna.create_study(direction="maximize")
    for row in data:
        trial = create_trial(
            state=TrialState[row["state"]], value=row["value"], params=row["params"],
            distributions={k: dists[k] for k in row["params"]},
            intermediate_values=dict(enumerate(row["curve"], start=1)))
        trial.datetime_start, trial.datetime_complete = row["start"], row["end"]
        study.add_trial(trial)
    return study


def figures(hk_study: Any, op_study: Any) -> dict[str, tuple[Callable[[], Any],
                                                            Callable[[], Any]]]:
    from optuna import visualization as ov

    from hyperknob import viz

    return {
        "history": (lambda: viz.plot_optimization_history(hk_study),
                    lambda: ov.plot_optimization_history(op_study)),
        "edf": (lambda: viz.plot_edf(hk_study), lambda: ov.plot_edf(op_study)),
        "parallel": (lambda: viz.plot_parallel_coordinate(hk_study),
                     lambda: ov.plot_parallel_coordinate(op_study)),
        "slice": (lambda: viz.plot_slice(hk_study), lambda: ov.plot_slice(op_study)),
        "contour": (lambda: viz.plot_contour(hk_study, "lr", "layers"),
                    lambda: ov.plot_contour(op_study, params=["lr", "layers"])),
        "curves": (lambda: viz.plot_learning_curves(hk_study),
                   lambda: ov.plot_intermediate_values(op_study)),
        "timeline": (lambda: viz.plot_timeline(hk_study), lambda: ov.plot_timeline(op_study)),
    }


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/viz_speed.json")
    args = parser.parse_args(argv)
    data = rows(args.trials)
    hk_study, op_study = hyperknob_study(data), optuna_study(data)
    results: dict[str, dict[str, Any]] = {}
    lines = [f"### Figures of a {args.trials:,}-trial study, seconds (best of {args.repeats})",
             "", "| figure | hyperknob | Optuna | hyperknob / Optuna |", "|---|---:|---:|---:|"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings
        for name, (ours, theirs) in figures(hk_study, op_study).items():
            ours(), theirs()  # not timed: imports, first-call caches
            times: dict[str, list[float]] = {"hyperknob": [], "optuna": []}
            for _ in range(args.repeats):
                times["hyperknob"].append(timed(ours))
                times["optuna"].append(timed(theirs))
            best = {k: min(v) for k, v in times.items()}
            results[name] = {"times": times, "best": best,
                             "ratio": best["hyperknob"] / best["optuna"]}
            lines.append(f"| {name} | {best['hyperknob']:.3f} | {best['optuna']:.3f} | "
                         f"{results[name]['ratio']:.2f}x |")
            print(lines[-1], flush=True)
    ratios = [r["ratio"] for r in results.values()]
    lines += ["", f"Geometric mean of the ratios: "
              f"{math.exp(sum(math.log(r) for r in ratios) / len(ratios)):.2f}x"]
    import importlib.metadata as md

    meta = {"command": " ".join(["python", "benchmarks/viz_speed.py",
                                 *(argv if argv is not None else sys.argv[1:])]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "optuna": md.version("optuna"), "plotly": md.version("plotly"),
            "source_sha256": source_sha256()}
    save(Path(args.out), {"meta": meta, "trials": args.trials, "repeats": args.repeats,
                          "figures": results}, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
