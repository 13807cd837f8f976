"""Problems of ``benchmarks/multi_objective.py``: one definition every compared library sees.

A problem asks a trial-like object for a point (``suggest``: ``suggest_float("x0", lo, hi)``
... in order, or the nn space's calls), evaluates it (``evaluate``: a tuple of m floats, in
the study's ``directions``) and turns values into minimized losses for the hypervolume
(``to_losses``). The set was fixed before anything was run.

Synthetic problems (all minimized, the formulas written from the papers):

- ZDT1, ZDT2, ZDT3 (n = 30), ZDT4 (n = 10, x1 in [0, 1], x2..n in [-5, 5]) and ZDT6 (n = 10):
  Zitzler, Deb and Thiele, "Comparison of Multiobjective Evolutionary Algorithms: Empirical
  Results", Evol. Comput. 8(2), 2000 (problems T1-T4 and T6).
- DTLZ1-DTLZ7 with m = 3 objectives and n = m + k - 1 (k = 5 for DTLZ1, 10 for DTLZ2-6, 20
  for DTLZ7): Deb, Thiele, Laumanns and Zitzler, "Scalable Test Problems for Evolutionary
  Multiobjective Optimization", in Evolutionary Multiobjective Optimization, Springer 2005
  (TIK-Report 112, 2001; CEC 2002), sec. 6.1-6.7.

Reference points are BoTorch's (``botorch/test_functions/multi_objective.py``: ZDT [11, 11],
from Yang et al. 2019; DTLZ1 [400]*m, DTLZ2/DTLZ4 [1.1]*m, DTLZ3 [10000]*m, DTLZ5 [10]*m,
DTLZ7 [15]*m). BoTorch has no ZDT4, ZDT6 or DTLZ6: they take the ZDT point [11, 11] and
DTLZ5's [10]*m (DTLZ6 has DTLZ5's front). ``true_hv`` is the hypervolume of the true Pareto
front with respect to that point; with y dominated by the front iff some front point is <= y:

- ZDT1, ZDT4 (f2 = 1 - sqrt f1): 110 + int_0^1 (10 + sqrt a) da = 120 + 2/3; ZDT2 (f2 = 1 - f1^2):
  120 + 1/3 (BoTorch's ``_max_hv`` agrees for both).
- ZDT6 (f2 = 1 - f1^2 for f1 in [f1_min, 1]): 110 + 10 (1 - f1_min) + (1 - f1_min^3) / 3, with
  f1_min = min_x 1 - exp(-4x) sin^6(6 pi x) = 0.28077531881537 (scipy's bounded Brent on
  [0, 1/6], xatol 1e-14; the literature's 0.2807753191).
- ZDT3 (a disconnected front): int_0^1 (11 - R(a)) da + 10 (11 - R(1)) with
  R(a) = min_{f <= a} 1 - sqrt f - f sin(10 pi f), by the trapezoid rule on
  4e7 intervals (1e6, 1e7 and 4e7 agree to 1e-11; BoTorch's ``_max_hv`` 128.77811613069076
  agrees to 1e-12). :func:`zdt3_true_hv` recomputes it.
- DTLZ1 (the simplex sum f = 1/2): r^3 - (1/2)^3 / 3! (y is dominated iff sum y >= 1/2; BoTorch's
  ``_max_hv`` subtracts 1/2^m, the simplex volume times m!, a difference of 0.1 in 6.4e7).
- DTLZ2, DTLZ3, DTLZ4 (the sphere sum f^2 = 1): r^3 - pi / 6 (y is dominated iff |y| >= 1).
- DTLZ5, DTLZ6 (the curve f1 = f2 = cos(t) / sqrt 2, f3 = sin t): y is dominated iff
  y3 >= sqrt(1 - 2 min(y1, y2)^2), so HV = r^3 - int_0^{1/sqrt 2} 2 (r - s) sqrt(1 - 2 s^2) ds
  = r^3 - (sqrt 2 pi r / 4 - 1/3).
- DTLZ7 (f3 = 6 - phi(f1) - phi(f2), phi(f) = f (1 + sin 3 pi f), on g = 1): separable, so
  HV = r^2 (r - 6) + 2 r int_0^r P(a) da with P(a) = max_{f <= min(a, 1)} phi(f), by the
  trapezoid rule as for ZDT3 (:func:`dtlz7_true_hv`).

At 100 trials these reference points leave some problems little room (seen in a smoke run of
Optuna's samplers, after the set was fixed): in ZDT4 and DTLZ4 (n = 12) a trial rarely lands
below the reference at all (normalized HV 0 for every method), and DTLZ1, DTLZ3 and DTLZ5,
whose references lie far beyond their fronts, score 0.96-1.0 for random search already.

The NN problem ``nn-digits``: hyperknob's MLP (``hyperknob.nn``) on scikit-learn's digits
(``load_dataset("digits", seed=0)``: 1,257 training, 270 validation rows), two objectives:
maximize the best validation accuracy of the run, minimize the number of learned parameters
(weights and biases). The point is asked with the calls of hyperknob's default space
(``default_space(64, 1257)``, unchanged: epochs log-uniform in [10, 159], early stopping after
10 epochs without a better validation loss; ``SearchSpace.suggest``) through ``PlainTrial``,
which drops the space's ``prior=`` arguments, so hyperknob and Optuna trials search the same
space the same way; the configuration is trained by ``hyperknob.nn.train`` (seed 0, CPU).
No epoch cap was needed: a trial takes 0.8 s on average on one CPU thread (up to 2.2 s; 20
random configurations). 13 dimensions at most (units per layer and momentum are
conditional).
Losses for the hypervolume: (1 - accuracy, log10(parameters)); reference (1.0, 5.0): accuracy
0, and 10^5 parameters, above the space's largest network (five layers of 128: 75,658,
log10 = 4.88; the smallest, one layer of 64: 4,810, log10 = 3.68). The true front is not
known: ``true_hv`` is None and the benchmark normalizes by the best hypervolume any method
reached in the results it scores.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

ZDT_PROBLEMS = ("ZDT1", "ZDT2", "ZDT3", "ZDT4", "ZDT6")
DTLZ_PROBLEMS = tuple(f"DTLZ{i}" for i in range(1, 8))
NN_PROBLEM = "nn-digits"
PROBLEMS = (*ZDT_PROBLEMS, *DTLZ_PROBLEMS, NN_PROBLEM)
#: Objectives of the DTLZ problems, and their k (n = m + k - 1).
DTLZ_M = 3
DTLZ_K = {"DTLZ1": 5, "DTLZ7": 20}  # 10 for the others
ZDT6_F1_MIN = 0.28077531881537
_ZDT_REFERENCE = 11.0
_DTLZ_REFERENCE = {"DTLZ1": 400.0, "DTLZ2": 1.1, "DTLZ3": 10000.0, "DTLZ4": 1.1,
                   "DTLZ5": 10.0, "DTLZ6": 10.0, "DTLZ7": 15.0}


@dataclasses.dataclass(frozen=True)
class Problem:
    """A multi-objective problem as every method sees it.

    ``bounds`` holds (low, high) per variable (empty for ``nn-digits``, whose space is not a
    box); ``reference`` and ``true_hv`` are in loss space (see :meth:`to_losses`).
    """

    name: str
    n_var: int
    bounds: tuple[tuple[float, float], ...]
    directions: tuple[str, ...]
    reference: tuple[float, ...]
    true_hv: float | None
    suggest: Callable[[Any], Any]
    evaluate: Callable[[Any], tuple[float, ...]]

    @property
    def m(self) -> int:
        """Return the number of objectives."""
        return len(self.directions)

    def objective(self, trial: Any) -> tuple[float, ...]:
        """Ask ``trial`` (hyperknob or Optuna) for a point and return its m values."""
        return self.evaluate(self.suggest(trial))

    def to_losses(self, values: npt.ArrayLike) -> Array:
        """Return (n, m) minimized losses of study values (n, m)."""
        return to_losses(self.name, values, self.m)


def to_losses(name: str, values: npt.ArrayLike, m: int) -> Array:
    """Return problem ``name``'s (n, m) losses of study values (n, m), without building it.

    The synthetic problems minimize their values; ``nn-digits`` maps (accuracy, parameters)
    to (1 - accuracy, log10(parameters)).
    """
    array = np.asarray(values, dtype=float).reshape(-1, m)
    if name == NN_PROBLEM:
        return np.column_stack([1.0 - array[:, 0], np.log10(array[:, 1])])
    return array


# -- ZDT (x has shape (..., n); the result (..., 2)) --------------------------------------------
def _zdt_g(x: Array) -> Array:
    g: Array = 1.0 + 9.0 * x[..., 1:].sum(axis=-1) / (x.shape[-1] - 1)  # T1-T3
    return g


def zdt1(x: Array) -> Array:
    """ZDT1 (T1): a convex front f2 = 1 - sqrt(f1) at x2..n = 0."""
    f1, g = x[..., 0], _zdt_g(x)
    return np.stack([f1, g * (1.0 - np.sqrt(f1 / g))], axis=-1)


def zdt2(x: Array) -> Array:
    """ZDT2 (T2): a concave front f2 = 1 - f1^2 at x2..n = 0."""
    f1, g = x[..., 0], _zdt_g(x)
    return np.stack([f1, g * (1.0 - (f1 / g) ** 2)], axis=-1)


def zdt3(x: Array) -> Array:
    """ZDT3 (T3): five disconnected pieces of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1)."""
    f1, g = x[..., 0], _zdt_g(x)
    h = 1.0 - np.sqrt(f1 / g) - (f1 / g) * np.sin(10.0 * np.pi * f1)
    return np.stack([f1, g * h], axis=-1)


def zdt4(x: Array) -> Array:
    """ZDT4 (T4): ZDT1's front behind 21^9 local fronts (Rastrigin g, x2..n in [-5, 5])."""
    f1, rest = x[..., 0], x[..., 1:]
    g = 1.0 + 10.0 * rest.shape[-1] + (rest ** 2 - 10.0 * np.cos(4.0 * np.pi * rest)).sum(-1)
    return np.stack([f1, g * (1.0 - np.sqrt(f1 / g))], axis=-1)


def zdt6(x: Array) -> Array:
    """ZDT6 (T6): f2 = 1 - f1^2 on f1 in [0.2808, 1], sampled non-uniformly along the front."""
    x1 = x[..., 0]
    f1 = 1.0 - np.exp(-4.0 * x1) * np.sin(6.0 * np.pi * x1) ** 6
    g = 1.0 + 9.0 * (x[..., 1:].sum(axis=-1) / (x.shape[-1] - 1)) ** 0.25
    return np.stack([f1, g * (1.0 - (f1 / g) ** 2)], axis=-1)


# -- DTLZ (x has shape (..., n): M - 1 position variables, then the k distance variables x_M) --
def _rastrigin_g(x_m: Array) -> Array:
    """DTLZ1/DTLZ3: g = 100 (k + sum (x - 0.5)^2 - cos(20 pi (x - 0.5))), 0 at x_M = 0.5."""
    g: Array = 100.0 * (x_m.shape[-1]
                        + ((x_m - 0.5) ** 2 - np.cos(20 * np.pi * (x_m - 0.5))).sum(axis=-1))
    return g


def _sphere_g(x_m: Array) -> Array:
    """DTLZ2/DTLZ4/DTLZ5: g = sum (x - 0.5)^2."""
    g: Array = ((x_m - 0.5) ** 2).sum(axis=-1)
    return g


def _linear(position: Array, g: Array) -> Array:
    """DTLZ1's f_i = (1 + g) / 2 * prod_{j < M-i} x_j * (1 - x_{M-i}) for i > 1."""
    m = position.shape[-1] + 1
    out = []
    for i in range(m):
        f = 0.5 * (1.0 + g) * np.prod(position[..., :m - 1 - i], axis=-1)
        if i > 0:
            f = f * (1.0 - position[..., m - 1 - i])
        out.append(f)
    return np.stack(out, axis=-1)


def _spherical(theta: Array, g: Array) -> Array:
    """DTLZ2's f_i = (1 + g) prod_{j < M-i} cos(theta_j pi/2) * sin(theta_{M-i} pi/2)."""
    m = theta.shape[-1] + 1
    cos, sin = np.cos(theta * np.pi / 2), np.sin(theta * np.pi / 2)
    out = []
    for i in range(m):
        f = (1.0 + g) * np.prod(cos[..., :m - 1 - i], axis=-1)
        if i > 0:
            f = f * sin[..., m - 1 - i]
        out.append(f)
    return np.stack(out, axis=-1)


def _dtlz(name: str, m: int) -> Callable[[Array], Array]:
    def evaluate(x: Array) -> Array:
        position, x_m = x[..., :m - 1], x[..., m - 1:]
        if name == "DTLZ1":
            return _linear(position, _rastrigin_g(x_m))
        if name in ("DTLZ2", "DTLZ3", "DTLZ4"):
            g = _rastrigin_g(x_m) if name == "DTLZ3" else _sphere_g(x_m)
            return _spherical(position ** 100.0 if name == "DTLZ4" else position, g)  # alpha
        if name in ("DTLZ5", "DTLZ6"):
            g = _sphere_g(x_m) if name == "DTLZ5" else (x_m ** 0.1).sum(axis=-1)
            # theta_i = pi / (4 (1 + g)) (1 + 2 g x_i) for i >= 2, in units of pi/2
            theta = (1.0 + 2.0 * g[..., None] * position) / (2.0 * (1.0 + g[..., None]))
            theta[..., 0] = position[..., 0]
            return _spherical(theta, g)
        g = 1.0 + 9.0 / x_m.shape[-1] * x_m.sum(axis=-1)  # DTLZ7
        h = m - (position / (1.0 + g[..., None]) * (1.0 + np.sin(3 * np.pi * position))).sum(-1)
        return np.concatenate([position, ((1.0 + g) * h)[..., None]], axis=-1)

    return evaluate


FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "ZDT1": zdt1, "ZDT2": zdt2, "ZDT3": zdt3, "ZDT4": zdt4, "ZDT6": zdt6,
    **{name: _dtlz(name, DTLZ_M) for name in DTLZ_PROBLEMS},
}


# -- true-front hypervolumes ------------------------------------------------------------------
def _trapezoid(y: Array, x: Array) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def zdt3_true_hv(intervals: int = 40_000_000) -> float:
    """Return ZDT3's front hypervolume w.r.t. (11, 11) by the trapezoid rule (module doc)."""
    a = np.linspace(0.0, 1.0, intervals + 1)
    running_min = np.minimum.accumulate(1.0 - np.sqrt(a) - a * np.sin(10.0 * np.pi * a))
    r = _ZDT_REFERENCE
    return _trapezoid(r - running_min, a) + (r - 1.0) * (r - float(running_min[-1]))


def dtlz7_true_hv(intervals: int = 40_000_000) -> float:
    """Return DTLZ7's (m = 3) front hypervolume w.r.t. [15]*3 by the trapezoid rule."""
    a = np.linspace(0.0, 1.0, intervals + 1)
    running_max = np.maximum.accumulate(a * (1.0 + np.sin(3.0 * np.pi * a)))
    r = _DTLZ_REFERENCE["DTLZ7"]
    integral = _trapezoid(running_max, a) + (r - 1.0) * float(running_max[-1])
    return r * r * (r - 6.0) + 2.0 * r * integral


def _dtlz5_hv(r: float) -> float:
    return r ** 3 - (math.sqrt(2.0) * math.pi * r / 4.0 - 1.0 / 3.0)


TRUE_HV: dict[str, float] = {
    "ZDT1": 120.0 + 2.0 / 3.0,
    "ZDT2": 120.0 + 1.0 / 3.0,
    "ZDT3": 128.77811613069,  # zdt3_true_hv()
    "ZDT4": 120.0 + 2.0 / 3.0,
    "ZDT6": (110.0 + 10.0 * (1.0 - ZDT6_F1_MIN) + (1.0 - ZDT6_F1_MIN ** 3) / 3.0),
    "DTLZ1": 400.0 ** 3 - 0.5 ** 3 / 6.0,
    "DTLZ2": 1.1 ** 3 - math.pi / 6.0,
    "DTLZ3": 10000.0 ** 3 - math.pi / 6.0,
    "DTLZ4": 1.1 ** 3 - math.pi / 6.0,
    "DTLZ5": _dtlz5_hv(10.0),
    "DTLZ6": _dtlz5_hv(10.0),
    "DTLZ7": 2757.92320426522,  # dtlz7_true_hv()
}


# -- building problems --------------------------------------------------------------------------
def default_n_var(name: str) -> int:
    """Return n: 30 (ZDT1-3), 10 (ZDT4, ZDT6), m + k - 1 (DTLZ)."""
    if name in ZDT_PROBLEMS:
        return 30 if name in ("ZDT1", "ZDT2", "ZDT3") else 10
    return DTLZ_M + DTLZ_K.get(name, 10) - 1


def bounds_of(name: str, n_var: int) -> tuple[tuple[float, float], ...]:
    """Return the box: [0, 1]^n, except ZDT4's x2..n in [-5, 5]."""
    rest = (-5.0, 5.0) if name == "ZDT4" else (0.0, 1.0)
    return ((0.0, 1.0),) + (rest,) * (n_var - 1)


def _synthetic(name: str, n_var: int) -> Problem:
    bounds = bounds_of(name, n_var)
    function = FUNCTIONS[name]
    m = 2 if name in ZDT_PROBLEMS else DTLZ_M
    reference = (_ZDT_REFERENCE,) * 2 if name in ZDT_PROBLEMS else (_DTLZ_REFERENCE[name],) * m

    def suggest(trial: Any) -> Array:
        return np.array([trial.suggest_float(f"x{i}", low, high)
                         for i, (low, high) in enumerate(bounds)])

    def evaluate(x: Array) -> tuple[float, ...]:
        return tuple(float(v) for v in function(np.asarray(x, dtype=float)))

    return Problem(name, n_var, bounds, ("minimize",) * m, reference, TRUE_HV[name],
                   suggest, evaluate)


def _nn_digits() -> Problem:
    from _quality_problems import PlainTrial
    from hyperknob.nn import MLPConfig, default_space, load_dataset, train

    data = load_dataset("digits", seed=0)
    space = default_space(data.n_features, data.n_train)

    def suggest(trial: Any) -> MLPConfig:
        plain: Any = PlainTrial(trial)  # hyperknob's or Optuna's, without prior=
        return space.suggest(plain)

    def evaluate(config: MLPConfig) -> tuple[float, ...]:
        result = train(config, data, seed=0, device="cpu", log_every=None, log=lambda _: None)
        accuracy = result.best.val_metric
        return (accuracy if math.isfinite(accuracy) else 0.0, float(result.n_parameters))

    return Problem(NN_PROBLEM, 13, (), ("maximize", "minimize"), (1.0, 5.0), None,
                   suggest, evaluate)


def make_problem(name: str, n_var: int | None = None) -> Problem:
    """Build the problem called ``name`` (one of :data:`PROBLEMS`).

    ``n_var`` changes a synthetic problem's dimension (its front and ``true_hv`` stay).
    """
    if name == NN_PROBLEM:
        if n_var is not None:
            raise ValueError(f"n_var cannot be set for {NN_PROBLEM!r}, got n_var={n_var}")
        return _nn_digits()
    if name not in FUNCTIONS:
        raise ValueError(f"unknown problem {name!r}; expected one of {list(PROBLEMS)}")
    least = 2 if name in ZDT_PROBLEMS else DTLZ_M
    n = default_n_var(name) if n_var is None else n_var
    if n < least:
        raise ValueError(f"n_var must be >= {least} for {name}, got n_var={n}")
    return _synthetic(name, n)
