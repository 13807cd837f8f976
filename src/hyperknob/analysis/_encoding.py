"""Trials as a numeric table for importance analysis: one column per parameter, conditional
parameters included.

Each parameter becomes a column over a *domain* with a probability measure -- the measure
under which a function of the parameters is averaged (fANOVA) or a density is taken as the
reference (PED-ANOVA):

- a float or int parameter: its unit coordinate in [0, 1] (on a log scale for ``log=True``),
  uniform measure;
- a categorical parameter with ``K`` choices: the choice's index ``c`` at ``c + 0.5`` in
  [0, K], uniform over the choices;
- a parameter some trials do not have (a conditional one): those trials sit at ``-0.5`` in an
  extra segment [-1, 0) whose mass is the share of trials without it, the rest of the mass on
  the active domain. "Inactive" is then one more value the parameter takes, as often as the
  study took it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.trial._frozen import FrozenTrial

INACTIVE = -0.5


@dataclasses.dataclass(frozen=True)
class Column:
    """One parameter's column: its distribution and the measure of its domain.

    ``segments``: ``(start, end, mass)`` pieces of the domain, each with uniform density
    ``mass / (end - start)``; the masses sum to 1.
    """

    name: str
    distribution: BaseDistribution
    segments: tuple[tuple[float, float, float], ...]

    @property
    def low(self) -> float:
        return self.segments[0][0]

    @property
    def high(self) -> float:
        return self.segments[-1][1]

    def measure(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Return the measure of the intervals ``[lo, hi)`` (arrays of one shape)."""
        total = np.zeros(np.broadcast(lo, hi).shape)
        for start, end, mass in self.segments:
            overlap = np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0.0, None)
            total += overlap * (mass / (end - start))
        return total


@dataclasses.dataclass(frozen=True)
class Table:
    """``x`` ``[n, d]`` encoded parameters, ``y`` ``[n]`` values, one :class:`Column` each."""

    x: np.ndarray
    y: np.ndarray
    columns: tuple[Column, ...]
    numbers: np.ndarray


def encode_value(dist: BaseDistribution, value: object) -> float:
    """Return the column coordinate of an external value of ``dist``."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices.index(value) + 0.5
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    x, low, high = float(value), float(dist.low), float(dist.high)  # type: ignore[arg-type]
    if dist.log:
        x, low, high = math.log(x), math.log(low), math.log(high)
    return 0.0 if high == low else (x - low) / (high - low)


def _distributions(trials: Sequence[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Return each parameter's most common distribution (ties: the first seen)."""
    seen: dict[str, Counter[BaseDistribution]] = {}
    for trial in trials:
        for name, dist in trial.distributions.items():
            seen.setdefault(name, Counter())[dist] += 1
    return {name: counts.most_common(1)[0][0] for name, counts in sorted(seen.items())}


def encode(
    trials: Sequence[FrozenTrial], params: Sequence[str] | None = None
) -> Table:
    """Encode COMPLETE trials with a finite value into a :class:`Table`.

    ``params``: the parameters to keep (default: every one a trial has, except those with a
    single value). A trial whose value of a parameter has another distribution than the
    parameter's most common one counts as not having it.
    """
    usable = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None
              and math.isfinite(t.value)]
    dists = _distributions(usable)
    names = list(dists) if params is None else list(params)
    unknown = [n for n in names if n not in dists]
    if unknown:
        raise ValueError(f"no COMPLETE trial has parameter(s) {unknown}; known: {sorted(dists)}")
    names = [n for n in names if not dists[n].is_single()]
    x = np.full((len(usable), len(names)), INACTIVE)
    for row, trial in enumerate(usable):
        for col, name in enumerate(names):
            if trial.distributions.get(name) == dists[name]:
                x[row, col] = encode_value(dists[name], trial.params[name])
    columns = []
    for col, name in enumerate(names):
        dist = dists[name]
        top = float(len(dist.choices)) if isinstance(dist, CategoricalDistribution) else 1.0
        inactive = float(np.mean(x[:, col] == INACTIVE)) if usable else 0.0
        segments = ((0.0, top, 1.0),) if inactive == 0.0 else (
            (-1.0, 0.0, inactive), (0.0, top, 1.0 - inactive))
        columns.append(Column(name, dist, segments))
    y = np.array([float(t.value) for t in usable])  # type: ignore[arg-type]
    return Table(x=x, y=y, columns=tuple(columns),
                 numbers=np.array([t.number for t in usable], dtype=np.int64))
