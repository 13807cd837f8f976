"""Grid search over an explicit grid, or over every value of a finite space."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalChoice,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._rng import check_seed
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def _values(name: str, spec: Sequence[CategoricalChoice] | BaseDistribution) -> list[Any]:
    if isinstance(spec, CategoricalDistribution):
        return list(spec.choices)
    if isinstance(spec, IntDistribution):
        if spec.log:
            raise ValueError(f"grid dimension {name!r}: list the values of a log-scale int range")
        return list(range(spec.low, spec.high + 1, spec.step))
    if isinstance(spec, FloatDistribution):
        if spec.step is None:
            raise ValueError(
                f"grid dimension {name!r} is a continuous float range {spec!r}; give a step or "
                "an explicit list of values"
            )
        return [min(spec.low + k * spec.step, spec.high) for k in range(spec.n_steps())]
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence):
        raise TypeError(f"grid dimension {name!r} must be a list of values or a distribution, "
                        f"got {spec!r}")
    values = list(CategoricalDistribution(tuple(spec)).choices)  # validates: non-empty, hashable
    keys = [_point_key([v]) for v in values]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise ValueError(
                f"grid dimension {name!r} lists {values[keys.index(key)]!r} and "
                f"{values[index]!r}, which are the same number"
            )
    return values


def _point_key(values: Sequence[Any]) -> tuple[tuple[str, Any], ...]:
    # 1 in the grid and 1.0 from suggest_float are the same point; True is not 1.
    return tuple(
        ("number", float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool)
        else (type(v).__name__, v)
        for v in values
    )


class GridSampler(BaseSampler):
    """Try every combination of a grid once; the study stops when the grid is exhausted.

    Grid points are handed out by trial number in a seeded order, so several workers take
    different points without talking to each other.

    Example:
        >>> sampler = GridSampler({"lr": [0.1, 0.01, 0.001], "layers": [1, 2]})
        >>> sampler.grid_size
        6
    """

    def __init__(
        self,
        search_space: Mapping[str, Sequence[CategoricalChoice] | BaseDistribution],
        *,
        seed: int | None = None,
    ) -> None:
        if not isinstance(search_space, Mapping) or not search_space:
            raise ValueError(f"search_space must be a non-empty mapping, got {search_space!r}")
        self.search_space = dict(search_space)
        self.seed = check_seed(seed)
        self._names = sorted(self.search_space)
        self._axes = [_values(name, self.search_space[name]) for name in self._names]
        self._points = list(itertools.product(*self._axes))
        self._order = np.random.default_rng(self.seed).permutation(len(self._points))
        self._index = {_point_key(p): i for i, p in enumerate(self._points)}

    @property
    def grid_size(self) -> int:
        """Return the number of grid points."""
        return len(self._points)

    def _holds_point(self, trial: FrozenTrial) -> bool:
        return all(name in trial.params for name in self._names)

    def _taken(self, trials: list[FrozenTrial]) -> set[int]:
        taken = set()
        for trial in trials:
            if self._holds_point(trial):
                index = self._index.get(_point_key([trial.params[n] for n in self._names]))
                if index is not None:
                    taken.add(index)
        return taken

    def is_exhausted(self, study: StudyView) -> bool:
        # A RUNNING trial that holds no grid point yet is about to take a free one: count it,
        # or a worker that checks while another is between ask and suggest runs a duplicate.
        trials = study.get_trials()  # one read for both counts
        claiming = sum(1 for trial in trials
                       if trial.state is TrialState.RUNNING and not self._holds_point(trial))
        return len(self._taken(trials)) + claiming >= len(self._points)

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {name: CategoricalDistribution(tuple(axis))
                for name, axis in zip(self._names, self._axes, strict=True)}

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        taken = self._taken(study.get_trials())
        n = len(self._points)
        first = int(self._order[trial.number % n])
        if first in taken:
            start = trial.number % n
            free = [int(self._order[(start + k) % n]) for k in range(n)
                    if int(self._order[(start + k) % n]) not in taken]
            # Exhausted under a race between workers: re-run a point rather than fail.
            first = free[0] if free else first
        return dict(zip(self._names, self._points[first], strict=True))

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        if name in self._names:
            values = self._axes[self._names.index(name)]
            raise ValueError(
                f"parameter {name!r}: the grid's values {values!r} do not all fit the "
                f"suggested {distribution!r}; expected a distribution that contains the grid"
            )
        raise ValueError(
            f"parameter {name!r} is not in the grid; GridSampler's grid has {self._names!r}"
        )
