"""Quasi-Monte Carlo search: scrambled Sobol or Halton points (scipy.stats.qmc)."""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np

from hyperknob.distributions import (
    BaseDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._random import RandomSampler, from_unit
from hyperknob.samplers._rng import check_seed
from hyperknob.samplers._search_space import IntersectionSearchSpace
from hyperknob.study._view import StudyView
from hyperknob.trial._frozen import FrozenTrial


class QMCSampler(BaseSampler):
    """Spread trials evenly with a low-discrepancy sequence.

    Trial ``n`` takes point ``n`` of the sequence, so parallel workers and resumed studies
    continue the same sequence. The space is the one every completed trial shared; the first
    trial (before any completed) is drawn at random.

    Example:
        >>> sampler = QMCSampler(qmc_type="halton", seed=1)
    """

    def __init__(
        self, *, qmc_type: str = "sobol", scramble: bool = True, seed: int | None = None
    ) -> None:
        if qmc_type not in ("sobol", "halton"):
            raise ValueError(f"qmc_type must be 'sobol' or 'halton', got {qmc_type!r}")
        self.qmc_type = qmc_type
        self.scramble = scramble
        self.seed = check_seed(seed)
        self._fallback = RandomSampler(seed=self.seed)
        # One memo per study: a sampler may serve several studies in turn.
        self._spaces: weakref.WeakKeyDictionary[StudyView, IntersectionSearchSpace] = (
            weakref.WeakKeyDictionary())
        self._engine: Any = None
        self._engine_key: tuple[str, ...] = ()
        self._position = 0

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        memo = self._spaces.get(study)
        if memo is None:
            memo = self._spaces[study] = IntersectionSearchSpace()
        space = memo.calculate(study.get_trials(from_number=memo.watermark))
        return {name: dist for name, dist in space.items() if not dist.is_single()}

    def _point(self, index: int, names: tuple[str, ...]) -> np.ndarray:
        from scipy.stats import qmc

        if self._engine is None or self._engine_key != names or index < self._position:
            engine_cls = qmc.Sobol if self.qmc_type == "sobol" else qmc.Halton
            self._engine = engine_cls(d=len(names), scramble=self.scramble, seed=self.seed)
            self._engine_key, self._position = names, 0
        if index > self._position:
            self._engine.fast_forward(index - self._position)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sobol's balance warning for non-powers of two
            point: np.ndarray = self._engine.random(1)[0]
        self._position = index + 1
        return point

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        names = tuple(search_space)
        point = self._point(trial.number, names)
        return {
            name: from_unit(float(u), search_space[name])
            for name, u in zip(names, point, strict=True)
        }

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        return self._fallback.sample_independent(study, trial, name, distribution)
