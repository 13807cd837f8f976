"""Benchmark functions with known global minima, for demos and sampler tests.

Every function takes a point (a numpy array or a sequence of floats) and returns a float. The
formulas, domains and optima follow S. Surjanovic and D. Bingham, *Virtual Library of Simulation
Experiments: Test Functions and Datasets* (Simon Fraser University),
https://www.sfu.ca/~ssurjano/optimization.html; the code is written from those formulas.

Example:
    >>> from hyperknob.testing.functions import TEST_FUNCTIONS
    >>> fn = TEST_FUNCTIONS["branin"]
    >>> round(fn.evaluate(fn.minimizer), 6)
    0.397887
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hyperknob._checks import check_int

if TYPE_CHECKING:
    from hyperknob.trial import Trial

Point = npt.NDArray[np.floating[Any]] | Sequence[float]

__all__ = [
    "TEST_FUNCTIONS",
    "TestFunction",
    "branin",
    "get_test_function",
    "hartmann3",
    "levy",
    "objective_for",
    "rosenbrock",
    "sphere",
    "styblinski_tang",
]


def _as_point(x: Point, name: str, dim: int | None = None) -> npt.NDArray[np.float64]:
    """Return ``x`` as a 1-D float array, checking its length when ``dim`` is given."""
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{name} takes a non-empty 1-D point, got an array of shape {array.shape}"
        )
    if dim is not None and array.size != dim:
        raise ValueError(f"{name} takes a point of dimension {dim}, got {array.size}: {x!r}")
    return array


# -- the functions -------------------------------------------------------------------------------
def sphere(x: Point) -> float:
    """Return ``sum(x_i^2)``: minimum 0 at the origin (VLSE "Sphere Function")."""
    p = _as_point(x, "sphere")
    return float(np.sum(p**2))


# Branin-Hoo, VLSE "Branin Function", recommended constants:
# f(x) = a (x2 - b x1^2 + c x1 - r)^2 + s (1 - t) cos(x1) + s,
# a = 1, b = 5.1 / (4 pi^2), c = 5 / pi, r = 6, s = 10, t = 1 / (8 pi);
# x1 in [-5, 10], x2 in [0, 15]; three global minima, f* = 0.397887,
# at (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475).
_BRANIN_B = 5.1 / (4.0 * math.pi**2)
_BRANIN_C = 5.0 / math.pi
_BRANIN_T = 1.0 / (8.0 * math.pi)


def branin(x: Point) -> float:
    """Return the 2-D Branin(-Hoo) function: minimum 0.397887 at ``(pi, 2.275)`` and two more."""
    x1, x2 = _as_point(x, "branin", 2)
    return float(
        (x2 - _BRANIN_B * x1**2 + _BRANIN_C * x1 - 6.0) ** 2
        + 10.0 * (1.0 - _BRANIN_T) * math.cos(x1)
        + 10.0
    )


def rosenbrock(x: Point) -> float:
    """Return the n-D Rosenbrock valley (n >= 2): minimum 0 at ``(1, ..., 1)``.

    VLSE "Rosenbrock Function": f(x) = sum_{i=1}^{d-1} [100 (x_{i+1} - x_i^2)^2 + (x_i - 1)^2].
    """
    p = _as_point(x, "rosenbrock")
    if p.size < 2:
        raise ValueError(f"rosenbrock takes a point of dimension >= 2, got {p.size}: {x!r}")
    return float(np.sum(100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (p[:-1] - 1.0) ** 2))


# VLSE "Hartmann 3-D Function": f(x) = -sum_{i=1}^{4} alpha_i exp(-sum_{j=1}^{3} A_ij (x_j -
# P_ij)^2) on [0, 1]^3; global minimum f* = -3.86278 at (0.114614, 0.555649, 0.852547).
# With these constants the minimum is -3.8627797873 to ten digits (found numerically).
_HARTMANN3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN3_A = np.array([
    [3.0, 10.0, 30.0],
    [0.1, 10.0, 35.0],
    [3.0, 10.0, 30.0],
    [0.1, 10.0, 35.0],
])
_HARTMANN3_P = 1e-4 * np.array([
    [3689.0, 1170.0, 2673.0],
    [4699.0, 4387.0, 7470.0],
    [1091.0, 8732.0, 5547.0],
    [381.0, 5743.0, 8828.0],
])


def hartmann3(x: Point) -> float:
    """Return the 3-D Hartmann function: minimum -3.86278 at ``(0.114614, 0.555649, 0.852547)``."""
    p = _as_point(x, "hartmann3", 3)
    inner = np.sum(_HARTMANN3_A * (p - _HARTMANN3_P) ** 2, axis=1)
    return float(-np.sum(_HARTMANN3_ALPHA * np.exp(-inner)))


def levy(x: Point) -> float:
    """Return the n-D Levy function: minimum 0 at ``(1, ..., 1)``.

    VLSE "Levy Function", with w_i = 1 + (x_i - 1) / 4:
    f(x) = sin^2(pi w_1) + sum_{i=1}^{d-1} (w_i - 1)^2 [1 + 10 sin^2(pi w_i + 1)]
           + (w_d - 1)^2 [1 + sin^2(2 pi w_d)].
    """
    w = 1.0 + (_as_point(x, "levy") - 1.0) / 4.0
    head = math.sin(math.pi * w[0]) ** 2
    body = np.sum((w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(math.pi * w[:-1] + 1.0) ** 2))
    tail = (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2.0 * math.pi * w[-1]) ** 2)
    return float(head + body + tail)


# VLSE "Styblinski-Tang Function": f(x) = 1/2 sum_i (x_i^4 - 16 x_i^2 + 5 x_i) on [-5, 5]^d.
# VLSE quotes f* = -39.16599 d at x_i = -2.903534; the minimizer below is the root of
# 4 x^3 - 32 x + 5 = 0 to double precision, where each coordinate adds -39.16616570377142.
_STYBLINSKI_TANG_X = -2.903534027771178
_STYBLINSKI_TANG_F = -39.16616570377142


def styblinski_tang(x: Point) -> float:
    """Return the n-D Styblinski-Tang function: minimum about ``-39.16617 d`` at ``-2.903534``."""
    p = _as_point(x, "styblinski_tang")
    return float(0.5 * np.sum(p**4 - 16.0 * p**2 + 5.0 * p))


# -- records -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TestFunction:
    """A test function with its search box and its known global minimum.

    Attributes:
        name: The key in :data:`TEST_FUNCTIONS`, e.g. ``"branin"``.
        dim: The number of coordinates ``evaluate`` takes.
        bounds: One ``(low, high)`` pair per coordinate.
        optimum_value: The global minimum of ``evaluate`` over ``bounds``.
        evaluate: The function, point -> float.
        minimizer: One point where ``evaluate`` equals ``optimum_value``.
    """

    __test__ = False  # not a pytest test class, despite its name

    name: str
    dim: int
    bounds: tuple[tuple[float, float], ...]
    optimum_value: float
    evaluate: Callable[[Point], float]
    minimizer: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.dim < 1 or len(self.bounds) != self.dim:
            raise ValueError(
                f"test function {self.name!r} has dim={self.dim} but {len(self.bounds)} bounds; "
                "expected dim >= 1 and one (low, high) pair per dimension"
            )
        for low, high in self.bounds:
            if not low < high:
                raise ValueError(f"test function {self.name!r} has bounds ({low}, {high}); "
                                 "expected low < high")
        if self.minimizer and len(self.minimizer) != self.dim:
            raise ValueError(f"test function {self.name!r} has a minimizer of dimension "
                             f"{len(self.minimizer)}, expected {self.dim}")

    def __call__(self, x: Point) -> float:
        """Evaluate the function at ``x``."""
        return self.evaluate(x)


def _make(name: str, dim: int) -> TestFunction:
    """Build the record of function ``name`` in ``dim`` dimensions."""
    if name == "sphere":
        return TestFunction("sphere", dim, ((-5.12, 5.12),) * dim, 0.0, sphere, (0.0,) * dim)
    if name == "rosenbrock":
        return TestFunction("rosenbrock", dim, ((-5.0, 10.0),) * dim, 0.0, rosenbrock,
                            (1.0,) * dim)
    if name == "levy":
        return TestFunction("levy", dim, ((-10.0, 10.0),) * dim, 0.0, levy, (1.0,) * dim)
    if name == "styblinski_tang":
        return TestFunction("styblinski_tang", dim, ((-5.0, 5.0),) * dim,
                            _STYBLINSKI_TANG_F * dim, styblinski_tang,
                            (_STYBLINSKI_TANG_X,) * dim)
    if name == "branin":
        return TestFunction("branin", 2, ((-5.0, 10.0), (0.0, 15.0)), 0.397887357729738,
                            branin, (math.pi, 2.275))
    if name == "hartmann3":
        return TestFunction("hartmann3", 3, ((0.0, 1.0),) * 3, -3.8627797873, hartmann3,
                            (0.114614, 0.555649, 0.852547))
    raise AssertionError(name)


_FIXED_DIM = {"branin": 2, "hartmann3": 3}
_MIN_DIM = {"sphere": 1, "rosenbrock": 2, "levy": 1, "styblinski_tang": 1}

#: Every test function by name, the n-D ones in 2 dimensions.
TEST_FUNCTIONS: dict[str, TestFunction] = {
    name: _make(name, _FIXED_DIM.get(name, 2))
    for name in ("branin", "sphere", "rosenbrock", "hartmann3", "levy", "styblinski_tang")
}


def get_test_function(name: str, dim: int | None = None) -> TestFunction:
    """Return the test function ``name``, in ``dim`` dimensions for the n-D ones.

    Args:
        name: A key of :data:`TEST_FUNCTIONS`.
        dim: The dimension of an n-D function (default: that in :data:`TEST_FUNCTIONS`).
            Branin (2) and Hartmann3 (3) accept only their own dimension.

    Raises:
        ValueError: If ``name`` is unknown or ``dim`` does not suit the function.
    """
    if name not in TEST_FUNCTIONS:
        raise ValueError(
            f"unknown test function {name!r}; expected one of {sorted(TEST_FUNCTIONS)}"
        )
    if dim is None:
        return TEST_FUNCTIONS[name]
    check_int("dim", dim)
    if name in _FIXED_DIM:
        if dim != _FIXED_DIM[name]:
            raise ValueError(f"{name} is defined in {_FIXED_DIM[name]} dimensions only, "
                             f"got dim={dim}")
        return TEST_FUNCTIONS[name]
    if dim < _MIN_DIM[name]:
        raise ValueError(f"{name} needs dim >= {_MIN_DIM[name]}, got dim={dim}")
    return _make(name, dim)


def objective_for(fn: TestFunction) -> Callable[[Trial], float]:
    """Return an objective that suggests ``x0 .. x{dim-1}`` within the bounds and evaluates ``fn``.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(seed=0)
        >>> study.optimize(objective_for(TEST_FUNCTIONS["sphere"]), n_trials=5)
    """

    def objective(trial: Trial) -> float:
        point = [trial.suggest_float(f"x{i}", low, high)
                 for i, (low, high) in enumerate(fn.bounds)]
        return fn.evaluate(point)

    objective.__name__ = f"{fn.name}_objective"
    objective.__qualname__ = objective.__name__
    return objective
