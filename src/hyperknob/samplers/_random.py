"""Random search."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._rng import UnitHash, check_seed
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def from_unit(u: float, distribution: BaseDistribution) -> Any:
    """Map a coordinate in [0, 1) to an external value of ``distribution``."""
    if isinstance(distribution, CategoricalDistribution):
        n = len(distribution.choices)
        return distribution.choices[min(int(u * n), n - 1)]
    if isinstance(distribution, FloatDistribution):
        if distribution.step is not None:
            k = min(int(u * distribution.n_steps()), distribution.n_steps() - 1)
            return min(distribution.low + k * distribution.step, distribution.high)
        if distribution.log:
            low, high = math.log(distribution.low), math.log(distribution.high)
            value = math.exp(low + u * (high - low))  # may round past either end
            return min(max(value, distribution.low), distribution.high)
        return distribution.low + u * (distribution.high - distribution.low)
    if isinstance(distribution, IntDistribution):
        if distribution.log:
            low = math.log(distribution.low - 0.5) if distribution.low > 1 else math.log(0.5)
            high = math.log(distribution.high + 0.5)
            value = int(round(math.exp(low + u * (high - low))))
            return min(max(value, distribution.low), distribution.high)
        k = min(int(u * distribution.n_steps()), distribution.n_steps() - 1)
        return distribution.low + k * distribution.step
    raise TypeError(f"unknown distribution {distribution!r}")


class RandomSampler(BaseSampler):
    """Draw every parameter independently and uniformly (log-uniformly where ``log=True``).

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(sampler=RandomSampler(seed=0))
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = check_seed(seed)
        self._unit = UnitHash(self.seed)

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        return from_unit(self._unit(trial.number, name), distribution)
