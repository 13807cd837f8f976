"""The compared methods of ``benchmarks/quality.py``, each with its library's defaults.

``hk-random``, ``hk-qmc``, ``hk-tpe``, ``hk-gp``, ``hk-auto``: hyperknob's ``RandomSampler``,
``QMCSampler``, ``TPESampler``, ``GPSampler`` and ``AutoSampler`` (the default of
``create_study``) (``seed=seed``, nothing else set);
``optuna-tpe``, ``optuna-gp``: Optuna's ``TPESampler(seed=seed)`` and ``GPSampler(seed=seed)``;
``hyperopt-tpe``, ``hyperopt-random``: ``hyperopt.fmin`` with ``tpe.suggest`` / ``rand.suggest``,
a fresh ``Trials`` and ``rstate=np.random.default_rng(seed)``.

Every run minimizes. A loss that is not finite (a diverged fit) is recorded as it is, and the
optimizer is told the worst finite loss of that run so far instead (1e10 if none yet), the
same for every method.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _quality_problems import Config, Dimension, PlainTrial, Problem, dict_trial, suggest

HK_METHODS = ("hk-random", "hk-qmc", "hk-tpe", "hk-gp", "hk-auto")
OPTUNA_METHODS = ("optuna-tpe", "optuna-gp")
HYPEROPT_METHODS = ("hyperopt-tpe", "hyperopt-random")
METHODS = (*HK_METHODS, *OPTUNA_METHODS, *HYPEROPT_METHODS)
RANDOM_METHODS = ("hk-random", "hyperopt-random")  # their evaluations estimate clip_p


def make_sampler(method: str, seed: int) -> Any:
    """Return the sampler object of a hyperknob or Optuna method, with defaults and ``seed``."""
    if method in HK_METHODS:
        from hyperknob import samplers

        cls = {"hk-random": "RandomSampler", "hk-qmc": "QMCSampler", "hk-tpe": "TPESampler",
               "hk-gp": "GPSampler", "hk-auto": "AutoSampler"}[method]
        return getattr(samplers, cls)(seed=seed)
    import optuna

    if method == "optuna-tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "optuna-gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"{method!r} has no sampler object")


def create_study(method: str, seed: int) -> Any:
    """Return a fresh in-memory minimizing study of the method's library."""
    sampler = make_sampler(method, seed)
    if method in HK_METHODS:
        import hyperknob

        return hyperknob.create_study(direction="minimize", sampler=sampler)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="minimize", sampler=sampler)


def hyperopt_space(dims: tuple[Dimension, ...]) -> dict[str, Any]:
    """Translate dimensions to hyperopt: uniform / loguniform / uniformint / qloguniform / choice.

    Integers come back from hyperopt as floats; the dict-backed trial rounds them.
    """
    from hyperopt import hp
    from hyperopt.pyll import scope

    space: dict[str, Any] = {}
    for d in dims:
        if d.kind == "float":
            space[d.name] = (hp.loguniform(d.name, math.log(d.low), math.log(d.high)) if d.log
                             else hp.uniform(d.name, d.low, d.high))
        elif d.kind == "int":
            space[d.name] = (scope.int(hp.qloguniform(d.name, math.log(d.low),
                                                      math.log(d.high), 1)) if d.log
                             else hp.uniformint(d.name, int(d.low), int(d.high)))
        else:
            space[d.name] = hp.choice(d.name, list(d.choices))
    return space


def run_method(method: str, problem: Problem, seed: int, n_trials: int) -> dict[str, Any]:
    """Run one optimization; return every evaluation (loss, extras, config) and timings."""
    losses: list[float] = []
    extras: list[dict[str, float]] = []
    configs: list[Config] = []
    objective_s = 0.0

    def evaluate(config: Config) -> float:
        nonlocal objective_s
        t0 = time.perf_counter()
        loss, extra = problem.evaluate(config)
        objective_s += time.perf_counter() - t0
        losses.append(float(loss))
        extras.append(extra)
        configs.append({k: (v if isinstance(v, (str, bool)) or v is None else
                            (list(v) if isinstance(v, (list, tuple)) else float(v)))
                        for k, v in config.items()})
        if math.isfinite(loss):
            return float(loss)
        finite = [v for v in losses if math.isfinite(v)]
        return max(finite) if finite else 1e10

    np.random.seed(seed)  # scikit-learn's default random_state=None draws from numpy's global RNG
    start = time.perf_counter()
    if method in HYPEROPT_METHODS:
        from hyperopt import STATUS_OK, Trials, fmin, rand, tpe

        algo = tpe.suggest if method == "hyperopt-tpe" else rand.suggest
        fmin(lambda values: {"loss": evaluate(problem.ask_config(dict_trial(values))),
                             "status": STATUS_OK},
             hyperopt_space(problem.dims), algo=algo, max_evals=n_trials, trials=Trials(),
             rstate=np.random.default_rng(seed), show_progressbar=False)
    else:
        study = create_study(method, seed)
        wrap = (lambda t: t) if method in HK_METHODS else PlainTrial
        study.optimize(lambda trial: evaluate(problem.ask_config(wrap(trial))),
                       n_trials=n_trials)
    wall_s = time.perf_counter() - start
    return {"method": method, "problem": problem.name, "suite": problem.suite, "seed": seed,
            "n_trials": n_trials, "losses": losses, "extras": extras if any(extras) else None,
            "configs": configs, "wall_s": wall_s, "objective_s": objective_s}


# -- overhead --------------------------------------------------------------------------------
def overhead_dims(dim: int) -> tuple[Dimension, ...]:
    """Mixed dimensions for the overhead objective: float, int, log-float, float, int, ..."""
    out = []
    for i in range(dim):
        kind = ("float", "int", "logfloat")[i % 3]
        if kind == "float":
            out.append(Dimension(f"x{i}", "float", -5.0, 5.0))
        elif kind == "int":
            out.append(Dimension(f"x{i}", "int", -10, 10))
        else:
            out.append(Dimension(f"x{i}", "float", 1e-3, 1e2, log=True))
    return tuple(out)


def overhead_objective(dims: tuple[Dimension, ...]) -> Callable[[Any], float]:
    """A sphere-like objective over ``dims``: optimum at 1 (floats), 3 (ints), 10^0.5 (logs)."""

    def objective(trial: Any) -> float:
        total = 0.0
        for d in dims:
            v = suggest(trial, d)
            if d.log:
                total += (math.log10(v) - 0.5) ** 2
            elif d.kind == "int":
                total += (v - 3) ** 2 / 25.0
            else:
                total += (v - 1.0) ** 2
        return total

    return objective


def time_run(method: str, dim: int, n_trials: int, seed: int) -> list[float]:
    """Run ``n_trials`` of the overhead objective; return the wall time of each trial (s).

    Trial k's time runs from the start of trial k-1's objective call to the start of trial
    k's (the first from the ``optimize`` call, the last to its return): ask, sample, tell.
    """
    import gc

    dims = overhead_dims(dim)
    inner = overhead_objective(dims)
    stamps: list[float] = []

    def objective(trial: Any) -> float:
        stamps.append(time.perf_counter())
        return inner(trial)

    study = create_study(method, seed)
    gc.collect()
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    end = time.perf_counter()
    points = [start, *stamps[1:], end]
    return [b - a for a, b in itertools.pairwise(points)]
