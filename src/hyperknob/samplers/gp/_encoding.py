"""The map between a search space and the GP's unit box: numeric parameters on [0, 1]
(through the log where ``log=True``; grids widened by half a step), categories one-hot."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._prior import categorical_probabilities, internal_prior, prior_sigma

if TYPE_CHECKING:
    from hyperknob.samplers.gp._acquisition import BoxPrior

NumericDistribution = FloatDistribution | IntDistribution

#: How far inside the unit box a continuous suggestion that lands on a bound is moved (the GP
#: keeps the bound only where the model clearly favours it, ``_maximize.step_off_bounds``;
#: NSGA-II only where a parent has it).
BOUND_STEP = 1e-3


# -- the map between parameters and the unit box ------------------------------------------------
def _unit_range(dist: NumericDistribution) -> tuple[float, float]:
    """Return the (transformed) interval that maps onto [0, 1].

    Grids are widened by half a step each side (log ints by 0.5 before the log), so that every
    grid value owns an equal share of [0, 1] when the relaxation is rounded.
    """
    if isinstance(dist, IntDistribution):
        if dist.log:
            return math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        return dist.low - 0.5 * dist.step, dist.high + 0.5 * dist.step
    if dist.step is not None:
        return dist.low - 0.5 * dist.step, dist.high + 0.5 * dist.step
    if dist.log:
        return math.log(dist.low), math.log(dist.high)
    return dist.low, dist.high


def to_unit(values: np.ndarray, dist: NumericDistribution) -> np.ndarray:
    """Map internal values of ``dist`` to [0, 1] (through the log for log distributions)."""
    low, high = _unit_range(dist)
    t = np.log(values) if dist.log else values
    return np.asarray((t - low) / (high - low), dtype=float)


def from_unit(u: np.ndarray, dist: NumericDistribution) -> np.ndarray:
    """Map [0, 1] to values of ``dist``, rounded onto its grid and clipped into [low, high]."""
    low, high = _unit_range(dist)
    t = low + np.clip(u, 0.0, 1.0) * (high - low)
    v = np.exp(t) if dist.log else t
    step = dist.step if not (isinstance(dist, IntDistribution) and dist.log) else None
    if step is not None:
        k = np.clip(np.round((v - dist.low) / step), 0, round((dist.high - dist.low) / step))
        v = dist.low + k * step
    elif isinstance(dist, IntDistribution):
        v = np.round(v)
    return np.asarray(np.clip(v, dist.low, dist.high), dtype=float)


def unit_of(external: float, dist: NumericDistribution) -> float:
    """Return :func:`to_unit` of one external value, without numpy (a hot path of NSGA-II)."""
    low, high = _unit_range(dist)
    internal = float(external)
    return ((math.log(internal) if dist.log else internal) - low) / (high - low)


def value_at(u: float, dist: NumericDistribution) -> float | int:
    """Return the external value of ``dist`` at unit coordinate ``u``: :func:`from_unit` of
    one value, without numpy (an int for an int distribution)."""
    low, high = _unit_range(dist)
    t = low + min(max(u, 0.0), 1.0) * (high - low)
    v = math.exp(t) if dist.log else t
    step = dist.step if not (isinstance(dist, IntDistribution) and dist.log) else None
    if step is not None:
        k = min(max(round((v - dist.low) / step), 0), round((dist.high - dist.low) / step))
        v = dist.low + k * step
    elif isinstance(dist, IntDistribution):
        v = round(v)
    v = min(max(v, dist.low), dist.high)
    return int(round(v)) if isinstance(dist, IntDistribution) else float(v)


def _is_discrete(dist: BaseDistribution) -> bool:
    return isinstance(dist, IntDistribution) or (
        isinstance(dist, FloatDistribution) and dist.step is not None)


class Encoding:
    """Map the parameters of a search space to GP features and back.

    Numeric parameters take one column in [0, 1]; a categorical one takes one-hot columns.

    Example:
        >>> enc = Encoding({"x": FloatDistribution(0.0, 2.0)})
        >>> enc.encode({"x": 1.0})
        array([0.5])
    """

    def __init__(self, space: Mapping[str, BaseDistribution]) -> None:
        from hyperknob.samplers.gp._maximize import MixedBox

        self.space = dict(space)
        self.columns: dict[str, np.ndarray] = {}
        numeric: list[int] = []
        continuous: list[int] = []
        categorical: list[np.ndarray] = []
        start = 0
        for name, dist in self.space.items():
            width = len(dist.choices) if isinstance(dist, CategoricalDistribution) else 1
            self.columns[name] = np.arange(start, start + width)
            if isinstance(dist, CategoricalDistribution):
                categorical.append(self.columns[name])
            else:
                numeric.append(start)
                if not _is_discrete(dist):
                    continuous.append(start)
            start += width
        self.box = MixedBox(n_features=start, numeric=np.array(numeric, dtype=int),
                            continuous=np.array(continuous, dtype=int),
                            categorical=tuple(categorical), snap=self.snap)

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Return the (D,) features of one point given by external values."""
        row = np.zeros(self.box.n_features)
        for name, dist in self.space.items():
            internal = dist.to_internal(params[name])
            if isinstance(dist, CategoricalDistribution):
                row[self.columns[name][int(internal)]] = 1.0
            else:
                assert isinstance(dist, (FloatDistribution, IntDistribution))
                row[self.columns[name][0]] = float(to_unit(np.array([internal]), dist)[0])
        return row

    def encode_many(self, rows: list[Mapping[str, Any]]) -> np.ndarray:
        """Return the (n, D) features of n points given by external values.

        One vectorized map per parameter: the sampler encodes the whole history every trial.
        """
        x = np.zeros((len(rows), self.box.n_features))
        for name, dist in self.space.items():
            internal = np.array([dist.to_internal(row[name]) for row in rows], dtype=float)
            if isinstance(dist, CategoricalDistribution):
                x[np.arange(len(rows)), self.columns[name][internal.astype(int)]] = 1.0
            else:
                assert isinstance(dist, (FloatDistribution, IntDistribution))
                x[:, self.columns[name][0]] = to_unit(internal, dist)
        return x

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Return (m, D) points with every int / stepped column moved to its nearest grid value."""
        out: np.ndarray = x.copy()
        for name, dist in self.space.items():
            if isinstance(dist, (FloatDistribution, IntDistribution)) and _is_discrete(dist):
                column = self.columns[name][0]
                out[:, column] = to_unit(from_unit(x[:, column], dist), dist)
        return out

    def prior(self, weight: float) -> BoxPrior | None:
        """Return the parameters' :class:`~hyperknob.distributions.Prior` beliefs on the box,
        weighted by ``weight``; None when no parameter has one."""
        from hyperknob.samplers.gp._acquisition import BoxPrior

        columns, centers, confidences = [], [], []
        categorical = []
        for name, dist in self.space.items():
            belief = internal_prior(dist)
            if belief is None:
                continue
            center, confidence = belief
            if isinstance(dist, CategoricalDistribution):
                probabilities = categorical_probabilities(len(dist.choices), int(center),
                                                          confidence)
                categorical.append((self.columns[name], np.log(probabilities)))
                continue
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            columns.append(int(self.columns[name][0]))
            centers.append(float(to_unit(np.array([center]), dist)[0]))
            confidences.append(confidence)
        if not columns and not categorical:
            return None
        return BoxPrior(columns=np.array(columns, dtype=int), center=np.array(centers),
                        sigma=prior_sigma(confidences), categorical=tuple(categorical),
                        weight=weight)

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        """Return external values for the (D,) features ``row``."""
        params: dict[str, Any] = {}
        for name, dist in self.space.items():
            if isinstance(dist, CategoricalDistribution):
                params[name] = dist.choices[int(np.argmax(row[self.columns[name]]))]
                continue
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            value = float(from_unit(row[self.columns[name]], dist)[0])
            if isinstance(dist, IntDistribution):
                params[name] = int(round(value))
            elif dist.step is not None:  # rebuild from the step count, as RandomSampler does
                k = round((value - dist.low) / dist.step)
                params[name] = float(min(dist.low + k * dist.step, dist.high))
            else:
                params[name] = value
        return params
