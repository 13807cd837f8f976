"""Warm starts from earlier studies: their best configurations to try first, and priors fitted
to where their optima lay.

Both read :class:`~hyperknob.transfer.Source` objects and a target space (parameter name ->
distribution); neither writes. The study queues the configurations
(:meth:`~hyperknob.Study.enqueue_trial`), and the priors go on the target's distributions,
where TPE and the GP weigh them against the data (``samplers/_prior.py``: their weight fades
as trials accumulate, so a source that misleads costs a few trials, not the result).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperknob._checks import check_int
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
)
from hyperknob.transfer._sources import Source, map_params, position
from hyperknob.trial._frozen import FrozenTrial

#: What ``nn.tune`` marks its rule-of-thumb trials with (``user_attrs["source"]``).
RULE_OF_THUMB = "rule of thumb"
#: Each source's best fraction of trials (at least ``TOP_LEAST``) says where optima lie.
TOP_FRACTION = 0.2
TOP_LEAST = 3
#: A fitted belief is never surer than this (a source is another data set) nor vaguer than
#: this (else it says nothing); it needs at least ``LEAST_POINTS`` source trials, and its
#: confidence grows with their number n as n / (n + ``POINTS_HALF``).
MOST_CONFIDENT = 0.7
LEAST_CONFIDENT = 0.2
LEAST_POINTS = 2
POINTS_HALF = 3.0


@dataclasses.dataclass(frozen=True)
class Queued:
    """A configuration to try first, and where it comes from."""

    params: dict[str, Any]
    source: str
    trial_number: int

    def describe(self) -> str:
        """Return ``"trial #12 of 'wine-mlp'"``."""
        return f"trial #{self.trial_number} of {self.source!r}"


@dataclasses.dataclass(frozen=True)
class FittedPrior:
    """A belief about one parameter, fitted to the best trials of the sources.

    Attributes:
        name: The target parameter (or knob).
        prior: The belief: its centre and confidence.
        n_points: How many source trials it was fitted to.
        sources: The names of the sources that had the parameter.
    """

    name: str
    prior: Prior
    n_points: int
    sources: tuple[str, ...]

    def describe(self) -> str:
        """Return ``"learning_rate ~ 0.0041 (confidence 0.62, 9 trials of 2 studies)"``."""
        center = self.prior.center
        shown = f"{center:.3g}" if isinstance(center, float) else repr(center)
        return (f"{self.name} ~ {shown} (confidence {self.prior.confidence:.2f}, "
                f"{self.n_points} trials of {len(self.sources)} "
                f"stud{'y' if len(self.sources) == 1 else 'ies'})")


def gain(source: Source, trial: FrozenTrial) -> float:
    """Return how far ``trial`` beat what its study tried first, in units of the study's
    spread: ``(reference - loss) / sd`` over its COMPLETE losses, the reference being its
    best rule-of-thumb trial (``user_attrs["source"] == "rule of thumb"``, as ``nn.tune``
    queues them) or, without one, its median; 0 when the losses do not spread."""
    return _gain(source.loss(trial), _scale(source))


def _gain(loss: float, scale: tuple[float, float]) -> float:
    reference, spread = scale
    return 0.0 if spread == 0.0 else (reference - loss) / spread


def _scale(source: Source) -> tuple[float, float]:
    """Return the reference loss and the spread (sd) :func:`gain` measures a source's trials
    by; the spread is 0 when fewer than two trials or no spread."""
    losses = np.array([source.loss(t) for t in source.trials])
    spread = float(np.std(losses))
    if len(losses) < 2 or spread == 0.0:
        return 0.0, 0.0
    ruled = [source.loss(t) for t in source.trials
             if t.user_attrs.get("source") == RULE_OF_THUMB]
    return (min(ruled) if ruled else float(np.median(losses))), spread


def queued_configurations(sources: Sequence[Source], targets: Mapping[str, BaseDistribution],
                          *, per_source: int = 2, limit: int = 4,
                          already: Sequence[Mapping[str, Any]] = ()) -> list[Queued]:
    """Return the sources' configurations to try first, mapped into the target space.

    A source's best trials are worth trying as far as they beat, in their own study, what
    that study tried first (:func:`gain`): a study whose best is its rule of thumb (a small
    data set where everything scores 100 %) offers nothing the new study does not run anyway
    (``already``: the target parameters that will run, never queued again). Taken in rounds
    -- each source's best, the source whose best gained most first; then each one's second
    -- at most ``per_source`` of a source and ``limit`` in all, none twice.
    """
    check_int("per_source", per_source, least=1)
    check_int("limit", limit, least=0)
    rounds: list[list[tuple[float, Queued]]] = [[] for _ in range(per_source)]
    for source in sources:
        scale = _scale(source)  # once per source, not per trial
        for rank, trial in enumerate(source.trials[:per_source]):
            worth = _gain(source.loss(trial), scale)
            if worth > 0.0:
                params = map_params(trial, targets)
                if params:
                    rounds[rank].append((worth, Queued(params, source.name, trial.number)))
    queued: list[Queued] = []
    for found in rounds:
        for _, candidate in sorted(found, key=lambda pair: -pair[0]):
            if len(queued) < limit and all(candidate.params != q.params for q in queued) and all(
                    candidate.params != dict(done) for done in already):
                queued.append(candidate)
    return queued


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _numeric_prior(points: list[tuple[float, float]], dist: FloatDistribution | IntDistribution
                   ) -> Prior:
    """Return the belief over (position, weight) points: centred at their weighted median;
    confident as they agree (a robust spread, 1.4826 MAD, in unit coordinates) and as they
    are many."""
    u = np.array([p for p, _ in points])
    w = np.array([w for _, w in points])
    center_u = _weighted_median(u, w)
    spread = 1.4826 * _weighted_median(np.abs(u - center_u), w)
    confidence = min(max((1.0 - 2.0 * max(spread, 0.05)) * _support(len(points)),
                         LEAST_CONFIDENT), MOST_CONFIDENT)
    low, high = float(dist.low), float(dist.high)
    if dist.log:
        center = math.exp(math.log(low) + center_u * (math.log(high) - math.log(low)))
    else:
        center = low + center_u * (high - low)
    center = min(max(center, low), high)
    return Prior(center, round(confidence, 3))


def _support(n: int) -> float:
    """Return how much ``n`` source trials are worth: n / (n + POINTS_HALF)."""
    return n / (n + POINTS_HALF)


def _categorical_prior(points: list[tuple[Any, float]], dist: CategoricalDistribution
                       ) -> Prior | None:
    """Return the belief in the most frequent choice (by weight), confident as it dominates;
    None when no choice stands out."""
    totals: dict[int, float] = {}
    for value, weight in points:
        for index, choice in enumerate(dist.choices):
            if type(choice) is type(value) and choice == value:
                totals[index] = totals.get(index, 0.0) + weight
    if not totals:
        return None
    k = len(dist.choices)
    best = max(totals, key=lambda i: (totals[i], -i))
    share = totals[best] / sum(totals.values())
    if k < 2 or share <= 1.0 / k:
        return None
    confidence = min(max((share - 1.0 / k) / (1.0 - 1.0 / k) * _support(len(points)),
                         LEAST_CONFIDENT), MOST_CONFIDENT)
    return Prior(dist.choices[best], round(confidence, 3))


def fitted_priors(sources: Sequence[Source], targets: Mapping[str, BaseDistribution], *,
                  feeds: Mapping[str, Sequence[str]] | None = None,
                  top_fraction: float = TOP_FRACTION, top_least: int = TOP_LEAST,
                  ) -> dict[str, FittedPrior]:
    """Return a belief per target parameter, fitted to where the sources' best trials lay.

    ``targets``: parameter (or knob) name -> the target's distribution. ``feeds``: the source
    parameters that make a target knob, when they differ from its name (a knob ``units`` fed
    by ``units_l0``, ``units_l1``, ...: each trial contributes the mean position of those it
    has). Every source weighs the same, whatever its number of trials.
    """
    feeds = feeds or {}
    beliefs: dict[str, FittedPrior] = {}
    for name, dist in targets.items():
        points: list[tuple[Any, float]] = []
        used: list[str] = []
        for source in sources:
            top = source.top(top_fraction, top_least)
            found = []
            for trial in top:
                value = _feed_value(trial, feeds.get(name, (name,)), dist)
                if value is not None:
                    found.append(value)
            if found:
                used.append(source.name)
                points.extend((value, 1.0 / len(found)) for value in found)
        if len(points) < LEAST_POINTS:
            continue
        if isinstance(dist, CategoricalDistribution):
            prior = _categorical_prior(points, dist)
        elif isinstance(dist, (FloatDistribution, IntDistribution)):
            prior = _numeric_prior(points, dist)
        else:
            prior = None
        if prior is not None:
            beliefs[name] = FittedPrior(name, prior, len(points), tuple(used))
    return beliefs


def _feed_value(trial: Any, names: Sequence[str], dist: BaseDistribution) -> Any:
    """Return what ``trial`` says of a target parameter: the choice, or the mean position
    (in [0, 1]) of the numeric parameters that feed it; None if it has none of them."""
    if isinstance(dist, CategoricalDistribution):
        return next((trial.params[n] for n in names if n in trial.params), None)
    positions = []
    for name in names:
        source_dist = trial.distributions.get(name)
        if name in trial.params and isinstance(source_dist, (FloatDistribution,
                                                              IntDistribution)):
            found = position(trial.params[name], source_dist)
            if found is not None:
                positions.append(found)
    return float(np.mean(positions)) if positions else None
