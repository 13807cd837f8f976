"""The compared methods of ``benchmarks/quality.py``, each with its library's defaults.

``hk-random``, ``hk-qmc``, ``hk-tpe``, ``hk-gp``, ``hk-auto``: hyperknob's ``RandomSampler``,
``QMCSampler``, ``TPESampler``, ``GPSampler`` and ``AutoSampler`` (the default of
``create_study``) (``seed=seed``, nothing else set);
``optuna-tpe``, ``optuna-gp``: Optuna's ``TPESampler(seed=seed)`` and ``GPSampler(seed=seed)``;
``hyperopt-tpe``, ``hyperopt-random``: ``hyperopt.fmin`` with ``tpe.suggest`` / ``rand.suggest``,
a fresh ``Trials`` and ``rstate=np.random.default_rng(seed)``;
``hebo``: HEBO 0.3 (Cowen-Rivers et al., "HEBO: Pushing the Limits of Sample-Efficient
Hyperparameter Optimisation", JAIR 2022; the NeurIPS 2020 black-box challenge winner),
``HEBO(space, scramble_seed=seed)`` with its defaults, one suggestion at a time, numpy's and
torch's global RNGs seeded with ``seed``;
``botorch``: BoTorch's default loop as its tutorials and Ax build it: ``max(5, 2 D)`` scrambled
Sobol points, then a ``SingleTaskGP`` (BoTorch's default dimension-scaled priors, inputs
normalized to the unit cube, outcomes standardized) fitted with ``fit_gpytorch_mll`` and
``qLogNoisyExpectedImprovement`` maximized by ``optimize_acqf(num_restarts=10,
raw_samples=512)``; integers are rounded after the continuous optimization, log dimensions
searched in log space, categories one-hot and arg-maxed (as Ax's default transforms do).

HEBO needs numpy < 1.25, so every method compared with it runs in one environment that has it
(``.venv-bench``, see BENCHMARKS.md).

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
LOOP_METHODS = ("hebo", "botorch")  # ask-and-tell loops of their own (``run_loop``)
METHODS = (*HK_METHODS, *OPTUNA_METHODS, *HYPEROPT_METHODS, *LOOP_METHODS)
#: What hyperknob's default is compared with, in the goal lines.
ANCHOR_METHODS = ("optuna-gp", "hebo", "botorch", "optuna-tpe", "hyperopt-tpe")
_LIBRARY = {"optuna": OPTUNA_METHODS, "hyperopt": HYPEROPT_METHODS, "hebo": ("hebo",),
            "botorch": ("botorch",)}


def available_methods() -> list[str]:
    """Return the methods whose library is installed here (HEBO needs .venv-bench)."""
    import importlib.util

    missing = {m for lib, ms in _LIBRARY.items() if importlib.util.find_spec(lib) is None
               for m in ms}
    return [m for m in METHODS if m not in missing]
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
    if method in LOOP_METHODS:
        run_loop(method, problem, seed, n_trials, evaluate)
    elif method in HYPEROPT_METHODS:
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


# -- HEBO and BoTorch ---------------------------------------------------------------------------
def run_loop(method: str, problem: Problem, seed: int, n_trials: int,
             evaluate: Callable[[Config], float]) -> None:
    """Run HEBO's or BoTorch's ask-and-tell loop for ``n_trials`` evaluations."""
    import torch

    torch.manual_seed(seed)
    if method == "hebo":
        _run_hebo(problem, seed, n_trials, evaluate)
    else:
        _run_botorch(problem, seed, n_trials, evaluate)


def _run_hebo(problem: Problem, seed: int, n_trials: int,
              evaluate: Callable[[Config], float]) -> None:
    import pandas as pd
    from hebo.design_space.design_space import DesignSpace
    from hebo.optimizers.hebo import HEBO

    specs: list[dict[str, Any]] = []
    for d in problem.dims:
        if d.kind == "categorical":
            specs.append({"name": d.name, "type": "cat", "categories": list(d.choices)})
        elif d.kind == "int":
            specs.append({"name": d.name, "type": "pow_int" if d.log else "int",
                          "lb": int(d.low), "ub": int(d.high)})
        else:
            specs.append({"name": d.name, "type": "pow" if d.log else "num",
                          "lb": d.low, "ub": d.high})
    optimizer = HEBO(DesignSpace().parse(specs), scramble_seed=seed)
    for _ in range(n_trials):
        suggestion = optimizer.suggest(n_suggestions=1)
        row = suggestion.iloc[0].to_dict()
        values = {d.name: (int(row[d.name]) if d.kind == "int" else
                           row[d.name] if d.kind == "categorical" else float(row[d.name]))
                  for d in problem.dims}
        loss = evaluate(problem.ask_config(dict_trial(values)))
        optimizer.observe(pd.DataFrame([row]), np.array([[loss]]))


def _run_botorch(problem: Problem, seed: int, n_trials: int,
                 evaluate: Callable[[Config], float]) -> None:
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from scipy.stats import qmc

    columns: list[tuple[Dimension, int, int]] = []  # (dimension, first column, width)
    width = 0
    for d in problem.dims:
        k = len(d.choices) if d.kind == "categorical" else 1
        columns.append((d, width, k))
        width += k

    def unit_range(d: Dimension) -> tuple[float, float]:
        return (math.log(d.low), math.log(d.high)) if d.log else (d.low, d.high)

    def decode(u: np.ndarray) -> Config:
        values: Config = {}
        for d, start, k in columns:
            if d.kind == "categorical":
                values[d.name] = d.choices[int(np.argmax(u[start:start + k]))]
                continue
            lo, hi = unit_range(d)
            v = lo + float(np.clip(u[start], 0.0, 1.0)) * (hi - lo)
            v = math.exp(v) if d.log else v
            values[d.name] = int(min(max(round(v), d.low), d.high)) if d.kind == "int" else v
        return values

    def encode(values: Config) -> np.ndarray:
        u = np.zeros(width)
        for d, start, _ in columns:
            if d.kind == "categorical":
                u[start + list(d.choices).index(values[d.name])] = 1.0
                continue
            lo, hi = unit_range(d)
            v = math.log(values[d.name]) if d.log else float(values[d.name])
            u[start] = (v - lo) / (hi - lo)
        return u

    xs: list[np.ndarray] = []
    ys: list[float] = []
    n_init = min(n_trials, max(5, 2 * width))
    sobol = qmc.Sobol(d=width, scramble=True, seed=seed).random(n_init)
    bounds = torch.stack([torch.zeros(width), torch.ones(width)]).double()
    for i in range(n_trials):
        if i < n_init:
            u = sobol[i]
        else:
            train_x = torch.tensor(np.array(xs), dtype=torch.double)
            train_y = -torch.tensor(ys, dtype=torch.double).unsqueeze(-1)  # BoTorch maximizes
            model = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=1))
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            acqf = qLogNoisyExpectedImprovement(model, train_x, prune_baseline=True)
            candidate, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10,
                                         raw_samples=512)
            u = candidate.detach().numpy()[0]
        values = decode(u)
        loss = evaluate(problem.ask_config(dict_trial(values)))
        xs.append(encode(values))  # the point evaluated (rounded), as Ax records it
        ys.append(loss)


# -- overhead --------------------------------------------------------------------------------
def overhead_dims(dim: int, continuous: bool = False) -> tuple[Dimension, ...]:
    """Mixed dimensions for the overhead objective: float, int, log-float, float, int, ...
    (``continuous``: floats and log-floats only, the ints replaced by floats)."""
    out = []
    for i in range(dim):
        kind = ("float", "float" if continuous else "int", "logfloat")[i % 3]
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


def time_run(method: str, dim: int, n_trials: int, seed: int,
             continuous: bool = False) -> list[float]:
    """Run ``n_trials`` of the overhead objective; return the wall time of each trial (s).

    Trial k's time runs from the start of trial k-1's objective call to the start of trial
    k's (the first from the ``optimize`` call, the last to its return): ask, sample, tell.
    """
    import gc

    dims = overhead_dims(dim, continuous)
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
