"""Earlier studies as sources of knowledge for a new one, and the map between their spaces.

A :class:`Source` is a frozen copy of what an earlier study learned: its COMPLETE trials with
a finite value, signed so that lower is better. Parameters move from a source's space to a
target's by their *position* in the range: a value a quarter of the way up its source range
lands a quarter of the way up the target range (through the log for log ranges). That keeps
relative knobs relative -- a hidden width of 1.5x the input width on one data set stays 1.5x on
another -- and leaves knobs with the same range (a learning rate) unchanged. A categorical
value moves when the target offers the same choice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._direction import StudyDirection
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.storages import BaseStorage
    from hyperknob.study import Study


@dataclasses.dataclass(frozen=True)
class Source:
    """What an earlier study offers: its finished trials with a value, best first.

    Attributes:
        name: The study's name.
        direction: Whether it minimized or maximized (its first objective).
        trials: Its COMPLETE trials with a finite (first) value, best first (ties: number).
        dataset: What the study was tuned on (``user_attrs["dataset"]["name"]``), if known.
    """

    name: str
    direction: StudyDirection
    trials: tuple[FrozenTrial, ...]
    dataset: str | None = None

    @classmethod
    def from_study(cls, study: Study) -> Source:
        """Return the source an earlier study makes (several objectives: the first)."""
        direction = study.directions[0]
        sign = 1.0 if direction is StudyDirection.MINIMIZE else -1.0
        done = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
                if t.values is not None and math.isfinite(t.values[0])]
        done.sort(key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]
        dataset = study.user_attrs.get("dataset")
        name = dataset.get("name") if isinstance(dataset, dict) else None
        return cls(name=study.study_name, direction=direction, trials=tuple(done),
                   dataset=str(name) if name is not None else None)

    def loss(self, trial: FrozenTrial) -> float:
        """Return a trial's (first) value signed so that lower is better."""
        assert trial.values is not None
        return trial.values[0] if self.direction is StudyDirection.MINIMIZE else (
            -trial.values[0])

    def top(self, fraction: float, least: int) -> list[FrozenTrial]:
        """Return the best ``fraction`` of the trials, at least ``least`` of them."""
        return list(self.trials[:max(least, math.ceil(fraction * len(self.trials)))])


def load_sources(study_names: Sequence[str], storage: str | BaseStorage) -> list[Source]:
    """Return the sources the named studies of ``storage`` make (an unknown name raises
    ``StudyNotFoundError``; a study with no COMPLETE trial, ``ValueError``)."""
    from hyperknob.study import load_study

    sources = []
    for name in study_names:
        source = Source.from_study(load_study(study_name=name, storage=storage))
        if not source.trials:
            raise ValueError(f"study {name!r} has no COMPLETE trial to learn from")
        sources.append(source)
    return sources


def position(value: Any, dist: BaseDistribution) -> float | None:
    """Return where an external value of a numeric distribution lies in its range, in
    [0, 1] (through the log where ``log=True``); None for a categorical one."""
    if isinstance(dist, CategoricalDistribution):
        return None
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    low, high, number = float(dist.low), float(dist.high), float(value)
    if high == low:
        return 0.5
    if dist.log:
        low, high, number = math.log(low), math.log(high), math.log(number)
    return min(max((number - low) / (high - low), 0.0), 1.0)


def at_position(u: float, dist: FloatDistribution | IntDistribution) -> float | int:
    """Return the value of ``dist`` at position ``u`` of its range (snapped to its grid)."""
    low, high = float(dist.low), float(dist.high)
    if dist.log:
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    step = dist.step
    if step is not None and not (isinstance(dist, IntDistribution) and dist.log):
        value = low + round((value - low) / step) * step
    value = min(max(value, low), high)
    return int(round(value)) if isinstance(dist, IntDistribution) else float(value)


def map_value(value: Any, source: BaseDistribution | None, target: BaseDistribution) -> Any:
    """Return the target's value for a source value (same position in the range; the same
    choice), or None when it has none (a choice the target lacks, a kind that differs)."""
    if isinstance(target, CategoricalDistribution):
        fits = any(type(c) is type(value) and c == value for c in target.choices)
        return value if fits else None
    if not isinstance(target, (FloatDistribution, IntDistribution)) or isinstance(
            value, (bool, str)) or value is None:
        return None
    if _same_range(source, target):
        return value  # the value itself (no round trip through the log)
    if source is None or not isinstance(source, (FloatDistribution, IntDistribution)):
        number = float(value)
        if not float(target.low) <= number <= float(target.high):
            return None
        u = position(number, target)
    else:
        u = position(value, source)
    assert u is not None
    return at_position(u, target)


def _same_range(a: BaseDistribution | None, b: BaseDistribution) -> bool:
    """Return whether two numeric distributions have the same range and grid (priors aside)."""
    return (type(a) is type(b) and isinstance(a, (FloatDistribution, IntDistribution))
            and isinstance(b, (FloatDistribution, IntDistribution))
            and (a.low, a.high, a.log, a.step) == (b.low, b.high, b.log, b.step))


def map_params(trial: FrozenTrial, targets: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Return the parameters of a source trial the target space holds, mapped into it."""
    mapped = {}
    for name, value in trial.params.items():
        target = targets.get(name)
        if target is None:
            continue
        moved = map_value(value, trial.distributions.get(name), target)
        if moved is not None:
            mapped[name] = moved
    return mapped
