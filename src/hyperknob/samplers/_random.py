"""Random search."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._rng import TrialRngs, check_seed
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def sample_uniform(distribution: BaseDistribution, rng: np.random.Generator) -> Any:
    """Draw one external value uniformly (log-uniformly where ``log``) from a distribution."""
    if isinstance(distribution, CategoricalDistribution):
        return distribution.choices[int(rng.integers(len(distribution.choices)))]
    if isinstance(distribution, FloatDistribution):
        if distribution.step is not None:
            k = int(rng.integers(distribution.n_steps()))
            return min(distribution.low + k * distribution.step, distribution.high)
        if distribution.log:
            log_low, log_high = math.log(distribution.low), math.log(distribution.high)
            return min(math.exp(rng.uniform(log_low, log_high)), distribution.high)
        return float(rng.uniform(distribution.low, distribution.high))
    if isinstance(distribution, IntDistribution):
        if distribution.log:
            # Uniform in log space over [low - 0.5, high + 0.5] so each end gets its fair share.
            log_low = math.log(distribution.low - 0.5) if distribution.low > 1 else math.log(0.5)
            log_high = math.log(distribution.high + 0.5)
            value = int(round(math.exp(rng.uniform(log_low, log_high))))
            return min(max(value, distribution.low), distribution.high)
        k = int(rng.integers(distribution.n_steps()))
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
        self._rngs = TrialRngs(self.seed)

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        return sample_uniform(distribution, self._rngs.for_trial(trial.number))
