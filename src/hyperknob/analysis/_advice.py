"""Study-level advice: widen a range, fix a knob, tune two together, run more trials or not.

Each piece of advice carries its evidence (the numbers it rests on), so a user can check it:

- **widen**: the best trials crowd one end of a numeric range -- the optimum may lie outside;
  the advice names the new bound (one decade further on a log scale, half the span further on
  a linear one; never past 0 for a range that starts at 0).
- **fix**: a parameter explains almost none of the variance (fANOVA) over enough trials --
  searching it costs trials for nothing; fix it at the best trial's value.
- **together**: two parameters interact (their joint effect is not the sum of their own, e.g.
  learning rate with batch size) -- tune them together, not one after the other.
- **more trials**: whether the best value is still improving -- when it came recently, more
  trials are likely to pay; when the last half of the study found nothing better, they are not.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob.analysis._encoding import INACTIVE, encode
from hyperknob.analysis._fanova import fanova, forest_boxes, interactions
from hyperknob.distributions import FloatDistribution, IntDistribution
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study import Study

#: Trials a study needs before any advice on ranges, effects or interactions.
MIN_TRIALS = 10
#: Share of the best trials (at least 3) looked at for the edge rule.
TOP_SHARE = 0.1
#: "Near an end": within this share of the range (unit coordinate).
EDGE = 0.1
#: A parameter whose main effect explains less than this share of the variance (and that
#: takes part in no interaction) is idle ... (the forest's estimate of a zero effect is
#: typically 0.5-1.5 % at 100-200 random trials)
IDLE_SHARE = 0.02
#: ... when at least this many trials back the estimate.
IDLE_MIN_TRIALS = 20
#: A pair whose interaction explains more than this share of the variance interacts.
INTERACTION_SHARE = 0.1
#: Parameters (by importance) whose pairs are checked for interactions.
INTERACTION_TOP = 5


@dataclasses.dataclass(frozen=True)
class Advice:
    """One piece of advice: its kind, the parameters it concerns, the message and evidence."""

    kind: str
    params: tuple[str, ...]
    message: str
    evidence: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready record."""
        return dataclasses.asdict(self)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _complete(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state.name == "COMPLETE" and t.value is not None
            and math.isfinite(t.value)]


def _best_first(trials: list[FrozenTrial], minimize: bool) -> list[FrozenTrial]:
    sign = 1.0 if minimize else -1.0
    return sorted(trials, key=lambda t: (sign * float(t.value or 0.0), t.number))


def widen_advice(trials: Sequence[FrozenTrial], minimize: bool = True) -> list[Advice]:
    """Return a "widen" advice for each numeric parameter whose best trials crowd an end."""
    complete = _complete(trials)
    if len(complete) < MIN_TRIALS:
        return []
    best = _best_first(complete, minimize)
    top = best[:max(3, math.ceil(TOP_SHARE * len(best)))]
    out = []
    names = sorted({n for t in complete for n in t.params})
    for name in names:
        dists = {t.distributions[name] for t in top if name in t.distributions}
        if len(dists) != 1:
            continue
        dist = next(iter(dists))
        if not isinstance(dist, (FloatDistribution, IntDistribution)) or dist.is_single():
            continue
        units = [_unit(dist, t.params[name]) for t in top if name in t.params]
        if not units or name not in best[0].params:
            continue
        best_unit = _unit(dist, best[0].params[name])
        for side in ("low", "high"):
            share = sum(1 for u in units if _near(u, side)) / len(units)
            if not _near(best_unit, side) or share < 0.5:
                continue
            bound = _wider(dist, side)
            if bound is None:
                continue
            old = dist.low if side == "low" else dist.high
            out.append(Advice(
                "widen", (name,),
                f"the best trial's {name} ({_fmt(float(best[0].params[name]))}) sits at the "
                f"{side} end of its range [{_fmt(dist.low)}, {_fmt(dist.high)}], as do "
                f"{round(share * len(units))} of the {len(units)} best trials: widen the "
                f"{side} bound from {_fmt(old)} to {_fmt(bound)}",
                {"best_value": float(best[0].params[name]), "share_at_edge": share,
                 "suggested_bound": bound}))
    return out


def _near(unit: float, side: str) -> bool:
    return unit <= EDGE if side == "low" else unit >= 1.0 - EDGE


def _unit(dist: FloatDistribution | IntDistribution, value: Any) -> float:
    low, high, x = float(dist.low), float(dist.high), float(value)
    if dist.log:
        low, high, x = math.log(low), math.log(high), math.log(x)
    return 0.5 if high == low else (x - low) / (high - low)


def _wider(dist: FloatDistribution | IntDistribution, side: str) -> float | None:
    """Return the suggested bound one step past ``side``, or None where none makes sense."""
    low, high = float(dist.low), float(dist.high)
    if dist.log:
        bound = low / 10.0 if side == "low" else high * 10.0
    else:
        span = high - low
        bound = low - 0.5 * span if side == "low" else high + 0.5 * span
        if side == "low" and low >= 0.0 > bound:
            bound = 0.0 if low > 0.0 else math.nan  # do not cross 0: a natural limit
    if math.isnan(bound):
        return None
    if isinstance(dist, IntDistribution):
        bound = float(math.floor(bound) if side == "low" else math.ceil(bound))
        if dist.log and bound < 1:
            bound = 1.0
        if bound == (low if side == "low" else high):
            return None
    return bound


def effect_advice(trials: Sequence[FrozenTrial], minimize: bool = True, *, seed: int = 0,
                  n_trees: int = 32) -> list[Advice]:
    """Return "fix" advice for idle parameters and "together" advice for interacting pairs,
    both from one fANOVA forest."""
    complete = _complete(trials)
    if len(complete) < MIN_TRIALS:
        return []
    table = encode(complete)
    if len(table.columns) == 0 or float(np.ptp(table.y)) == 0.0:
        return []
    boxes = forest_boxes(table, n_trees=n_trees, seed=seed)
    shares, _, _ = fanova(table, boxes=boxes)
    names = [c.name for c in table.columns]
    out = []
    order = sorted(range(len(names)), key=lambda i: -shares[i])[:INTERACTION_TOP]
    pairs = [(min(p), max(p)) for p in itertools.combinations(order, 2)]
    strong = {pair: share for pair, share in interactions(table, boxes, pairs).items()
              if share > INTERACTION_SHARE}
    interacting = {k for pair in strong for k in pair}
    best = _best_first(complete, minimize)[0]  # its value of an idle parameter is quoted
    if len(complete) >= IDLE_MIN_TRIALS:
        for i, name in enumerate(names):
            if shares[i] >= IDLE_SHARE or i in interacting:
                continue
            active = table.x[:, i] != INACTIVE
            if active.mean() < 0.5:  # mostly inactive: its effect is hard to see
                continue
            value = best.params.get(name)
            where = f" (e.g. at {value!r})" if value is not None else ""
            out.append(Advice(
                "fix", (name,),
                f"{name} explains {shares[i]:.1%} of the variance of the value over "
                f"{len(complete)} trials: fix it{where} and spend the trials on the others",
                {"variance_share": float(shares[i]), "n_trials": float(len(complete))}))
    for (i, j), share in strong.items():
        out.append(Advice(
            "together", (names[i], names[j]),
            f"{names[i]} and {names[j]} interact: together they explain {share:.0%} of the "
            f"variance beyond their separate effects ({shares[i]:.0%} and {shares[j]:.0%}); "
            f"tune them together -- the best {names[i]} depends on {names[j]}",
            {"interaction_share": share, f"{names[i]}_share": float(shares[i]),
             f"{names[j]}_share": float(shares[j])}))
    return out


def trend_advice(trials: Sequence[FrozenTrial], minimize: bool = True) -> list[Advice]:
    """Return whether more trials are likely to pay, from when the best values came."""
    complete = sorted(_complete(trials), key=lambda t: t.number)
    n = len(complete)
    if n < MIN_TRIALS:
        return []
    sign = 1.0 if minimize else -1.0
    values = np.array([sign * float(t.value or 0.0) for t in complete])
    running = np.minimum.accumulate(values)
    last_gain = int(np.flatnonzero(np.diff(running) < 0)[-1]) + 1 if np.any(
        np.diff(running) < 0) else 0
    spread = float(np.percentile(values, 75) - np.percentile(values, 25)) or 1.0
    recent = max(1, n // 4)
    gain = float(running[-recent - 1] - running[-1]) if n > recent else 0.0
    evidence = {"n_trials": float(n), "best_at": float(last_gain + 1),
                "recent_gain": gain / spread, "recent_trials": float(recent)}
    if last_gain >= n - recent and gain / spread > 0.01:
        return [Advice("more_trials", (),
                       f"the best value improved in the last {recent} of {n} COMPLETE trials "
                       f"(by {gain / spread:.1%} of the values' interquartile range; the best "
                       f"came at the {last_gain + 1}th): more trials are likely to pay", evidence)]
    if last_gain < n // 2:
        return [Advice("stop", (),
                       f"nothing better in the last {n - last_gain - 1} of {n} COMPLETE trials "
                       f"(the best came at the {last_gain + 1}th): more trials of this space are "
                       "unlikely to pay -- narrow or change the space instead", evidence)]
    return []


def study_advice(study_or_trials: Study | Sequence[FrozenTrial], *,
                 minimize: bool | None = None, seed: int = 0) -> list[Advice]:
    """Return every piece of advice for a study: ranges, idle knobs, interactions, trend (on
    the first objective of a study with several)."""
    if isinstance(study_or_trials, Sequence):
        trials = list(study_or_trials)
        minimize = True if minimize is None else minimize
    else:  # a study with several objectives is read on its first one
        from hyperknob._losses import objective_trials

        trials = objective_trials(study_or_trials.trials, 0)
        if minimize is None:
            minimize = study_or_trials.directions[0].name == "MINIMIZE"
    return [*widen_advice(trials, minimize), *effect_advice(trials, minimize, seed=seed),
            *trend_advice(trials, minimize)]
