"""Asynchronous successive halving (ASHA) and Hyperband, with rungs derived from reports.

References:
    [J16] K. Jamieson, A. Talwalkar. Non-stochastic Best Arm Identification and
        Hyperparameter Optimization. AISTATS 2016 (successive halving).
    [L18] L. Li et al. Hyperband: A Novel Bandit-Based Approach to Hyperparameter
        Optimization. JMLR 18(185), 2018.
    [L20] L. Li et al. A System for Massively Parallel Hyperparameter Tuning. MLSys 2020
        (ASHA: promote a trial from a rung when it is in the top 1/eta of the trials that
        reached the rung so far, never wait for a full rung).

A trial *reaches* rung ``k`` of a bracket with early-stopping rate ``s`` when it reports a step
``>= min_resource * eta^(s + k)``; its *rung value* is the value it reported at the first such
step. Both come from the stored intermediate values, so no pruner state is written anywhere.
The decision is taken once per rung, at the report that reaches it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from hyperknob._checks import check_int
from hyperknob._direction import StudyDirection
from hyperknob.pruners._base import BasePruner, last_step, reported_direction
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def rung_resources(min_resource: int, eta: int, rate: int, up_to: int) -> list[int]:
    """Return the rung resources ``min_resource * eta^(rate + k)``, k >= 0, up to ``up_to``."""
    out = []
    resource = min_resource * eta**rate
    while resource <= up_to:
        out.append(resource)
        resource *= eta
    return out


def rung_value(trial: FrozenTrial | Mapping[int, float], resource: int) -> float | None:
    """Return the value a trial (or its intermediate values) reported at its first step
    ``>= resource``, or None."""
    values = trial.intermediate_values if isinstance(trial, FrozenTrial) else trial
    steps = [s for s in values if s >= resource]
    return values[min(steps)] if steps else None


def auto_min_resource(study: StudyView) -> int | None:
    """Return ``max(1, ceil(last step / 100))`` of the first COMPLETE trial (by number) that
    reported anything, or None before there is one."""
    for trial in study.get_trials((TrialState.COMPLETE,)):
        step = last_step(trial)
        if step is not None:
            return max(1, math.ceil(step / 100))
    return None


def halving_check(
    study: StudyView,
    trial: FrozenTrial,
    *,
    min_resource: int,
    eta: int,
    rate: int,
    bootstrap_count: int,
    peers: Callable[[FrozenTrial], bool],
    name: str,
    below: int | None = None,
) -> str | None:
    """Return why ``trial`` stops at the rung its latest report reached, or None.

    ``peers`` picks the other trials that compete at a rung (e.g. those of one bracket);
    ``below``: only rungs at resources below it count (a trial at its full budget is done).
    """
    step = last_step(trial)
    if step is None:
        return None
    earlier = [s for s in trial.intermediate_values if s < step]
    previous = max(earlier) if earlier else -1
    top = step if below is None else min(step, below - 1)
    reached = [r for r in rung_resources(min_resource, eta, rate, top) if r > previous]
    if not reached:
        return None
    value = trial.intermediate_values[step]
    if math.isnan(value):
        return f"{name}: the value reported at step {step} is NaN"
    sign = 1.0 if reported_direction(study) is StudyDirection.MINIMIZE else -1.0
    others = [t for t in study.get_trials() if t.number != trial.number and peers(t)]
    for resource in reached:
        competing = [rung_value(t, resource) for t in others]
        values = [sign * v if not math.isnan(v) else math.inf
                  for v in competing if v is not None]
        if len(values) < bootstrap_count:
            continue
        keep = max(1, (len(values) + 1) // eta)
        better = sum(1 for v in values if v < sign * value)
        if better >= keep:
            rung = round(math.log(resource / min_resource, eta)) - rate
            return (f"{name}: value {value:.6g} at rung {rung} (step {resource}) is beaten by "
                    f"{better} of the {len(values)} other trials there; only the best {keep} "
                    f"of {len(values) + 1} go on (reduction factor {eta})")
    return None


def _check_min_resource(min_resource: int | str) -> int | str:
    if min_resource == "auto":
        return "auto"
    return check_int("min_resource", min_resource, least=1)


class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving [L20]: at each rung keep the best 1/eta so far.

    Rungs sit at steps ``min_resource * reduction_factor^(min_early_stopping_rate + k)``. A
    trial reaching a rung goes on when its value there is among the best
    ``max(1, m // reduction_factor)`` of the ``m`` trials (any state, itself included) that
    reached that rung so far; otherwise it stops. The first trials at a rung always go on
    (asynchronous: no trial waits for a full rung), and with ``bootstrap_count`` nothing is
    pruned at a rung fewer than that many other trials reached.

    ``min_resource="auto"``: ``max(1, ceil(s / 100))`` for the last step ``s`` of the first
    COMPLETE trial; nothing is pruned before one exists.

    Example:
        >>> pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        reduction_factor: int = 4,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        self.min_resource = _check_min_resource(min_resource)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, least=2)
        self.min_early_stopping_rate = check_int("min_early_stopping_rate",
                                                 min_early_stopping_rate, least=0)
        self.bootstrap_count = check_int("bootstrap_count", bootstrap_count, least=0)

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        min_resource = (auto_min_resource(study) if self.min_resource == "auto"
                        else self.min_resource)
        if min_resource is None:
            return None
        assert isinstance(min_resource, int)
        return halving_check(study, trial, min_resource=min_resource,
                             eta=self.reduction_factor, rate=self.min_early_stopping_rate,
                             bootstrap_count=self.bootstrap_count, peers=lambda t: True,
                             name="SuccessiveHalvingPruner")


class HyperbandPruner(BasePruner):
    """Hyperband [L18] with asynchronous successive halving in each bracket [L20].

    With ``s_max = floor(log_eta(max_resource / min_resource))`` there are ``s_max + 1``
    brackets; bracket ``b`` runs successive halving with early-stopping rate ``b`` (bracket 0
    stops trials from ``min_resource`` on, the last never stops them). Each trial belongs to one
    bracket, picked from its number alone (a hash, weighted by Hyperband's bracket sizes
    ``ceil((s_max + 1) / (s_max - b + 1) * eta^(s_max - b))``), and competes only with trials
    of its bracket: the same split in every worker and after a restart.

    ``max_resource="auto"``: the last step of the first COMPLETE trial; nothing is pruned
    before one exists.

    Example:
        >>> pruner = HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
        >>> pruner.n_brackets(81)
        5
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: int = 3,
        bootstrap_count: int = 0,
    ) -> None:
        self.min_resource = check_int("min_resource", min_resource, least=1)
        if max_resource != "auto":
            check_int("max_resource", max_resource, least=1)
            assert isinstance(max_resource, int)
            if max_resource < min_resource:
                raise ValueError(f"max_resource must be >= min_resource, got "
                                 f"max_resource={max_resource}, min_resource={min_resource}")
        self.max_resource = max_resource
        self.reduction_factor = check_int("reduction_factor", reduction_factor, least=2)
        self.bootstrap_count = check_int("bootstrap_count", bootstrap_count, least=0)

    def n_brackets(self, max_resource: int) -> int:
        """Return ``s_max + 1`` for a maximum resource."""
        ratio = max_resource / self.min_resource
        s_max = 0
        while self.reduction_factor ** (s_max + 1) <= ratio * (1 + 1e-12):
            s_max += 1
        return s_max + 1

    def bracket_of(self, number: int, max_resource: int) -> int:
        """Return the bracket (early-stopping rate) of trial ``number``."""
        n = self.n_brackets(max_resource)
        s_max = n - 1
        eta = self.reduction_factor
        weights = [math.ceil((s_max + 1) / (s_max - b + 1) * eta ** (s_max - b))
                   for b in range(n)]
        digest = hashlib.blake2b(str(number).encode(), digest_size=8).digest()
        position = int.from_bytes(digest, "little") % sum(weights)
        for bracket, weight in enumerate(weights):
            if position < weight:
                return bracket
            position -= weight
        raise AssertionError("unreachable")

    def _max_resource(self, study: StudyView) -> int | None:
        if isinstance(self.max_resource, int):
            return self.max_resource
        for trial in study.get_trials((TrialState.COMPLETE,)):
            step = last_step(trial)
            if step is not None:
                return max(step, self.min_resource)
        return None

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        max_resource = self._max_resource(study)
        if max_resource is None:
            return None
        bracket = self.bracket_of(trial.number, max_resource)
        return halving_check(
            study, trial, min_resource=self.min_resource, eta=self.reduction_factor,
            rate=bracket, bootstrap_count=self.bootstrap_count,
            peers=lambda t: self.bracket_of(t.number, max_resource) == bracket,
            name=f"HyperbandPruner (bracket {bracket})", below=max_resource)
