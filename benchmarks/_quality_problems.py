"""Problems of ``benchmarks/quality.py``: one definition that every compared library sees.

A problem is a list of :class:`Dimension` (name, kind, bounds, log scale), an ``ask`` function
that asks a trial-like object for a configuration (by default: every dimension, in order), and
an ``evaluate`` function from a configuration to ``(loss, extras)``; every problem is
minimized. The libraries' adapters (``_quality_methods.py``) translate the dimensions to their
own APIs.

Suites:

- ``a``: Branin (2-D), Hartmann3 (3-D), Rosenbrock-4D, Levy-6D, Styblinski-Tang-8D from
  ``hyperknob.testing.functions`` (numpy), with their known optima.
- ``b``: the bayesmark MLP problems (facts: ``../shared/bayesmark_mlp_spaces.md``): model
  ``MLP-adam`` or ``MLP-sgd`` x dataset x metric; loss = the 5-fold cross-validated metric on
  the 80 % training part of ``train_test_split(test_size=0.2, random_state=0)``; the refit on
  80 % scored on the other 20 % is kept in ``extras`` (reported, never optimized).
  bayesmark's "logit" dimensions are searched as linear floats by every method.
- ``c``: hyperknob's own torch MLP (``hyperknob.nn``) on digits with its default search space;
  loss = 1 - best validation accuracy. No rule-of-thumb trials are enqueued and nothing is
  pruned, for any method.
- ``d``: COCO's BBOB functions (the ``coco-experiment`` package, ``cocoex.Suite("bbob")``;
  Hansen et al., "Real-Parameter Black-Box Optimization Benchmarking 2009: Noiseless Functions
  Definitions", INRIA RR-6829) in 2, 5, 10 and 20 dimensions on [-5, 5]^D; loss = f(x) - f_opt
  (0 at the optimum). Seed s runs on instance s + 1 (each instance shifts and rotates the
  function and moves f_opt), so the seeds of a problem are several instances of it.
  ``clip_p`` is per instance: the median loss of 10,000 uniform points of that instance.
  The twelve functions (``BBOB_FUNCTIONS``) were chosen before anything was run, two or three
  from each of BBOB's five groups, leaving out near-duplicates and functions on which no method
  can do better than random at these budgets:

  ====  ========================  =====================================================
  f     name                      why it is in
  ====  ========================  =====================================================
  f2    separable ellipsoid       ill-conditioned but axis-aligned: rewards ARD
  f3    separable Rastrigin       ~10^D local optima on a separable, regular grid
  f6    attractive sector         asymmetric: a steep and a flat side of the optimum
  f8    Rosenbrock                a curved valley; the classic of moderate conditioning
  f10   ellipsoid (rotated)       conditioning 1e6 that no axis-aligned model can absorb
  f13   sharp ridge               non-smooth: a kink along a ridge
  f15   Rastrigin (rotated)       many regular local optima with a global structure
  f17   Schaffer F7               oscillating, moderately multimodal, global structure
  f19   Griewank-Rosenbrock       Rosenbrock made multimodal; a flat, rugged basin
  f20   Schwefel                  weak global structure, optimum near the boundary
  f21   Gallagher 101 peaks       101 random local optima, no global structure
  f24   Lunacek bi-Rastrigin      two funnels, the better one smaller: deceptive
  ====  ========================  =====================================================

  Left out: f1 sphere and f5 linear slope (solved by any model within a few trials),
  f4, f9, f11, f12, f14, f18 and f22 (a near-duplicate of a chosen function in the same
  group), f7 step ellipsoid, f16 Weierstrass and f23 Katsuura (plateaus or rugged to the
  last digit: at 100-200 evaluations differences between methods are noise).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

Config = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched dimension: kind is "float", "int" or "categorical"."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()


@dataclasses.dataclass(frozen=True)
class Problem:
    """A minimization problem as every method sees it."""

    name: str
    suite: str
    dims: tuple[Dimension, ...]
    evaluate: Callable[[Config], tuple[float, dict[str, float]]]
    ask: Callable[[Any], Config] | None = None
    known_optimum: float | None = None
    clip_uniform: float | None = None  # median loss of 10,000 uniform points (suites a, d)

    def ask_config(self, trial: Any) -> Config:
        """Ask ``trial`` (hyperknob, Optuna or a dict-backed stand-in) for one configuration."""
        if self.ask is not None:
            return self.ask(trial)
        return {d.name: suggest(trial, d) for d in self.dims}


def suggest(trial: Any, d: Dimension) -> Any:
    """Ask a trial with the hyperknob/Optuna ``suggest_*`` API for dimension ``d``."""
    if d.kind == "float":
        return trial.suggest_float(d.name, d.low, d.high, log=d.log)
    if d.kind == "int":
        return trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log)
    return trial.suggest_categorical(d.name, list(d.choices))


# -- suite a ------------------------------------------------------------------------------------
SUITE_A = (("branin", None), ("hartmann3", None), ("rosenbrock", 4), ("levy", 6),
           ("styblinski_tang", 8))


def _synthetic(name: str, dim: int | None) -> Problem:
    from hyperknob.testing.functions import get_test_function

    fn = get_test_function(name, dim)
    dims = tuple(Dimension(f"x{i}", "float", lo, hi) for i, (lo, hi) in enumerate(fn.bounds))
    lows = np.array([lo for lo, _ in fn.bounds])
    highs = np.array([hi for _, hi in fn.bounds])
    draws = np.random.default_rng(0).uniform(lows, highs, size=(10_000, fn.dim))
    clip = float(np.median([fn.evaluate(x) for x in draws]))
    names = [d.name for d in dims]

    def evaluate(config: Config) -> tuple[float, dict[str, float]]:
        return float(fn.evaluate(np.array([config[n] for n in names], dtype=float))), {}

    label = f"{name}-{fn.dim}d"
    return Problem(label, "a", dims, evaluate, known_optimum=fn.optimum_value,
                   clip_uniform=clip)


# -- suite b: bayesmark MLP ---------------------------------------------------------------------
DATASETS_B = ("iris", "wine", "breast_cancer", "digits", "diabetes")
MODELS_B = ("MLP-adam", "MLP-sgd")
METRICS_B = {"iris": ("nll", "acc"), "wine": ("nll", "acc"), "breast_cancer": ("nll", "acc"),
             "digits": ("nll", "acc"), "diabetes": ("mse", "mae")}
_SCORERS = {"nll": "neg_log_loss", "acc": "accuracy", "mse": "neg_mean_squared_error",
            "mae": "neg_mean_absolute_error"}
_COMMON = (Dimension("hidden_layer_sizes", "int", 50, 200),
           Dimension("alpha", "float", 1e-5, 1e1, log=True),
           Dimension("batch_size", "int", 10, 250),
           Dimension("learning_rate_init", "float", 1e-5, 1e-1, log=True))
SPACES_B: dict[str, tuple[Dimension, ...]] = {
    "MLP-adam": (*_COMMON,
                 Dimension("tol", "float", 1e-5, 1e-1, log=True),
                 Dimension("validation_fraction", "float", 0.1, 0.9),
                 Dimension("beta_1", "float", 0.5, 0.99),
                 Dimension("beta_2", "float", 0.9, 1.0 - 1e-6),
                 Dimension("epsilon", "float", 1e-9, 1e-6, log=True)),
    "MLP-sgd": (*_COMMON,
                Dimension("power_t", "float", 0.1, 0.9),
                Dimension("tol", "float", 1e-5, 1e-1, log=True),
                Dimension("momentum", "float", 0.001, 0.999),
                Dimension("validation_fraction", "float", 0.1, 0.9)),
}
_DATA_CACHE: dict[str, tuple[Any, ...]] = {}


def _split(dataset: str) -> tuple[Any, ...]:
    if dataset not in _DATA_CACHE:
        from sklearn import datasets
        from sklearn.model_selection import train_test_split

        x, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
        _DATA_CACHE[dataset] = tuple(
            train_test_split(x, y, test_size=0.2, random_state=0, shuffle=True))
    return _DATA_CACHE[dataset]


def bayesmark_evaluate(model: str, dataset: str, config: Config) -> dict[str, float]:
    """Evaluate one configuration: both metrics, cross-validated (cv_*) and on the 20 % (test_*).

    Losses are bayesmark's: nll, negative accuracy, mse, mae (all lower is better).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import cross_validate
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    x_train, x_test, y_train, y_test = _split(dataset)
    regression = dataset == "diabetes"
    fixed: dict[str, Any] = {"solver": "adam" if model == "MLP-adam" else "sgd",
                             "early_stopping": True}
    if model == "MLP-sgd":
        fixed.update(learning_rate="invscaling", nesterovs_momentum=True)
    if regression:
        fixed["activation"] = "tanh"
    params = {k: (int(v) if k in ("hidden_layer_sizes", "batch_size") else float(v))
              for k, v in config.items()}
    cls = MLPRegressor if regression else MLPClassifier
    metrics = METRICS_B[dataset]
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # batch_size clipped to the sample size
        warnings.simplefilter("ignore", RuntimeWarning)
        cv = cross_validate(cls(**params, **fixed), x_train, y_train, cv=5,
                            scoring={m: _SCORERS[m] for m in metrics})
        fitted = cls(**params, **fixed).fit(x_train, y_train)
        for m in metrics:
            out[f"cv_{m}"] = _loss(m, float(np.mean(cv[f"test_{m}"])))
            out[f"test_{m}"] = _loss(m, float(get_scorer(_SCORERS[m])(fitted, x_test, y_test)))
    return out


def _loss(metric: str, score: float) -> float:
    """sklearn's score (higher is better) -> bayesmark's loss; NaN becomes +inf."""
    loss = -score
    return loss if math.isfinite(loss) else math.inf


def _bayesmark(model: str, dataset: str, metric: str) -> Problem:
    def evaluate(config: Config) -> tuple[float, dict[str, float]]:
        values = bayesmark_evaluate(model, dataset, config)
        return values[f"cv_{metric}"], values

    return Problem(f"{model}_{dataset}_{metric}", "b", SPACES_B[model], evaluate)


# -- suite c: hyperknob.nn on digits ----------------------------------------------------------
class _DictTrial:
    """A trial stand-in that answers ``suggest_*`` from a dict (hyperopt's sample)."""

    def __init__(self, values: Config) -> None:
        self.values = values

    def suggest_float(self, name: str, *_: Any, **__: Any) -> float:
        return float(self.values[name])

    def suggest_int(self, name: str, *_: Any, **__: Any) -> int:
        return int(round(self.values[name]))

    def suggest_categorical(self, name: str, *_: Any, **__: Any) -> Any:
        return self.values[name]


class PlainTrial:
    """Wrap an Optuna trial: hyperknob's extra ``suggest_*`` arguments (``prior``) are dropped.

    hyperknob's default nn space carries rule-of-thumb priors; Optuna has no such argument, so
    Optuna samples the same ranges without them (as Hyperopt does).
    """

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False,
                      step: float | None = None, **_: Any) -> float:
        return float(self.trial.suggest_float(name, low, high, log=log, step=step))

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False,
                    step: int = 1, **_: Any) -> int:
        return int(self.trial.suggest_int(name, low, high, log=log, step=step))

    def suggest_categorical(self, name: str, choices: Any, **_: Any) -> Any:
        return self.trial.suggest_categorical(name, list(choices))


def _nn_digits() -> Problem:
    from hyperknob.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from hyperknob.nn import MLPConfig, default_space, load_dataset, train

    data = load_dataset("digits", seed=0)
    space = default_space(data.n_features, len(data.x_train))
    dims: list[Dimension] = []
    for knob, dist in space.searched().items():
        names = [f"units_l{i}" for i in range(5)] if knob == "units" else [knob]
        for name in names:
            if isinstance(dist, FloatDistribution):
                dims.append(Dimension(name, "float", dist.low, dist.high, dist.log))
            elif isinstance(dist, IntDistribution):
                dims.append(Dimension(name, "int", dist.low, dist.high, dist.log))
            elif isinstance(dist, CategoricalDistribution):
                dims.append(Dimension(name, "categorical", choices=tuple(dist.choices)))

    def ask(trial: Any) -> Config:
        return space.suggest(trial).to_dict()

    def evaluate(config: Config) -> tuple[float, dict[str, float]]:
        cfg = MLPConfig.from_dict(config)
        result = train(cfg, data, seed=0, device="cpu", log_every=None, log=lambda _: None)
        acc = result.best.val_metric
        loss = 1.0 - acc if math.isfinite(acc) else 1.0
        return loss, {"epochs_run": float(len(result.history))}

    return Problem("nn_digits", "c", tuple(dims), evaluate, ask=ask)


# -- suite d: COCO / BBOB ----------------------------------------------------------------------
BBOB_FUNCTIONS = (2, 3, 6, 8, 10, 13, 15, 17, 19, 20, 21, 24)
BBOB_DIMENSIONS = (2, 5, 10, 20)


def bbob_optimum(problem: Any) -> float:
    """Return f_opt of a cocoex problem: its value at the x_opt cocoex writes out.

    cocoex has no accessor for f_opt; ``_best_parameter("print")`` writes x_opt to
    ``._bbob_problem_best_parameter.txt`` in the working directory, so it runs in a temporary
    one.
    """
    import os
    import tempfile

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            problem._best_parameter("print")
            x_opt = np.loadtxt(os.path.join(tmp, "._bbob_problem_best_parameter.txt"))
        finally:
            os.chdir(cwd)
    return float(problem(np.atleast_1d(x_opt)))


def _bbob(function: int, dim: int, instance: int) -> Problem:
    import cocoex

    suite = cocoex.Suite("bbob", f"instances: {instance}",
                         f"dimensions: {dim} function_indices: {function}")
    problem = suite.get_problem_by_function_dimension_instance(function, dim, instance)
    f_opt = bbob_optimum(problem)
    lows, highs = np.asarray(problem.lower_bounds), np.asarray(problem.upper_bounds)
    draws = np.random.default_rng(instance).uniform(lows, highs, size=(10_000, dim))
    clip = float(np.median([problem(x) for x in draws])) - f_opt
    names = [f"x{i}" for i in range(dim)]
    dims = tuple(Dimension(n, "float", float(lo), float(hi))
                 for n, lo, hi in zip(names, lows, highs, strict=True))

    def evaluate(config: Config) -> tuple[float, dict[str, float]]:
        x = np.array([config[n] for n in names], dtype=float)
        return max(float(problem(x)) - f_opt, 0.0), {}

    return Problem(bbob_label(function, dim), "d", dims, evaluate, known_optimum=0.0,
                   clip_uniform=clip)


def bbob_label(function: int, dim: int) -> str:
    """Return the suite-d name of BBOB function ``function`` in ``dim`` dimensions."""
    return f"bbob-f{function}-{dim}d"


def dict_trial(values: Config) -> _DictTrial:
    """Return a trial stand-in answering from ``values`` (used for hyperopt)."""
    return _DictTrial(values)


def all_problem_names(suite: str) -> list[str]:
    """Return the problem names of a suite, in table order."""
    if suite == "a":
        return [_synthetic_label(n, d) for n, d in SUITE_A]
    if suite == "b":
        return [f"{model}_{ds}_{m}" for ds in DATASETS_B for model in MODELS_B
                for m in METRICS_B[ds]]
    if suite == "c":
        return ["nn_digits"]
    if suite == "d":
        return [bbob_label(f, d) for d in BBOB_DIMENSIONS for f in BBOB_FUNCTIONS]
    raise ValueError(f"unknown suite {suite!r}")


def _synthetic_label(name: str, dim: int | None) -> str:
    return f"{name}-{dim or {'branin': 2, 'hartmann3': 3}[name]}d"


def make_problem(name: str, seed: int = 0) -> Problem:
    """Build the problem called ``name`` (a name from :func:`all_problem_names`).

    ``seed`` matters only in suite d, where it picks the instance (seed + 1).
    """
    if name.startswith("bbob-f") and name in all_problem_names("d"):
        function, _, dim = name.removeprefix("bbob-f").partition("-")
        return _bbob(int(function), int(dim.removesuffix("d")), seed + 1)
    for fn_name, dim in SUITE_A:
        if name == _synthetic_label(fn_name, dim):
            return _synthetic(fn_name, dim)
    if name == "nn_digits":
        return _nn_digits()
    model, _, rest = name.partition("_")
    dataset, _, metric = rest.rpartition("_")
    if model in MODELS_B and dataset in DATASETS_B and metric in METRICS_B[dataset]:
        return _bayesmark(model, dataset, metric)
    raise ValueError(f"unknown problem {name!r}; expected one of "
                     f"{[n for s in 'abcd' for n in all_problem_names(s)]}")


def suite_of(name: str) -> str:
    """Return the suite ("a", "b", "c", "d") of a problem name."""
    for suite in "abcd":
        if name in all_problem_names(suite):
            return suite
    raise ValueError(f"unknown problem {name!r}")
