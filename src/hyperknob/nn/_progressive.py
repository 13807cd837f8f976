"""The article's broad strategy as a two-stage search: simplify the problem first, then grow.

Stage 1 tunes on a simplified problem -- fewer classes (the more frequent half of them, at
least two) and a share of the training rows -- so each trial costs a fraction of a full one.
Stage 2 tunes the full problem with the search narrowed by what stage 1 found: the best
stage-1 configurations are tried first, and every searched knob gets a
:class:`~hyperknob.distributions.Prior` centred on the best stage-1 value. Priors narrow the
search without closing it: where the simplified problem misleads, the data of stage 2
outweighs them (the samplers' prior weight shrinks as trials accumulate).

Each stage is its own study (``NAME.simplified`` and ``NAME``) in the same storage, so both
are resumable and visible with ``hyperknob studies``.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
)
from hyperknob.nn._data import Dataset
from hyperknob.nn._space import SearchSpace
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.nn._objective import NeuralNetworkObjective
    from hyperknob.pruners import BasePruner
    from hyperknob.samplers import BaseSampler
    from hyperknob.storages import BaseStorage
    from hyperknob.study import Study

#: Share of the training rows stage 1 keeps (of the kept classes' rows).
STAGE1_ROWS = 0.5
#: Share of the trial budget stage 1 gets.
STAGE1_TRIALS = 0.5
#: Confidence of the priors stage 2 puts on stage 1's best values.
PRIOR_CONFIDENCE = 0.6
#: Best stage-1 configurations enqueued first in stage 2.
TOP_K = 3


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage: the problem, the space, the trial budget and a one-line description."""

    name: str
    study_name: str
    data: Dataset
    space: SearchSpace
    n_trials: int
    description: str


def simplified(data: Dataset, *, seed: int = 0, rows: float = STAGE1_ROWS) -> Dataset:
    """Return stage 1's problem: the more frequent half of the classes (at least two; ties
    by class index) when there are more than two, and ``rows`` of their training rows."""
    if data.class_names is not None and len(data.class_names) > 2:
        counts = np.bincount(data.y_train, minlength=len(data.class_names))
        order = sorted(range(len(counts)), key=lambda c: (-int(counts[c]), c))
        data = data.with_classes(sorted(order[: max(2, math.ceil(len(counts) / 2))]))
    return data.subset(rows, seed=seed)


def split_trials(n_trials: int) -> tuple[int, int]:
    """Return the trials of stage 1 and stage 2 for a total of ``n_trials`` (>= 2)."""
    if n_trials < 2:
        raise ValueError(f"the progressive strategy needs at least 2 trials, got {n_trials}")
    first = max(1, min(n_trials - 1, round(STAGE1_TRIALS * n_trials)))
    return first, n_trials - first


def plan(data: Dataset, space: SearchSpace, n_trials: int, study_name: str, *,
         seed: int = 0) -> tuple[Stage, Stage]:
    """Return the two stages (stage 2's space is narrowed later, from stage 1's results)."""
    first, second = split_trials(n_trials)
    easy = simplified(data, seed=seed)
    share = easy.n_train / data.n_train
    return (
        Stage("simplified", f"{study_name}.simplified", easy, space, first,
              f"{easy.name}: {easy.n_train} training rows ({share:.0%} of the full problem's)"
              f", {first} trials"),
        Stage("full", study_name, data, space, second,
              f"{data.name}: {data.n_train} training rows, {second} trials, searching near "
              f"stage 1's best"),
    )


def best_trials(study: Study, k: int) -> list[FrozenTrial]:
    """Return the ``k`` best COMPLETE trials of a study, best first."""
    complete = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
                if t.value is not None]
    sign = -1.0 if study.direction.name == "MAXIMIZE" else 1.0
    return sorted(complete, key=lambda t: (sign * float(t.value or 0.0), t.number))[:k]


def _center(dist: BaseDistribution, value: Any) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return value if value in dist.choices else None
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        number = float(value)
        if not dist.low <= number <= dist.high:
            return None
        return int(round(number)) if isinstance(dist, IntDistribution) and (
            number == round(number)) else number
    return None


def narrowed(space: SearchSpace, best: FrozenTrial,
             confidence: float = PRIOR_CONFIDENCE) -> tuple[SearchSpace, dict[str, Any]]:
    """Return ``space`` with a prior on every searched knob centred on ``best``'s value (the
    mean width of its layers for ``units``), and the centres used."""
    params = dict(best.params)
    widths = [v for k, v in params.items() if k.startswith("units_l")]
    if widths:
        params["units"] = statistics.fmean(widths)
    changes: dict[str, Any] = {}
    centres: dict[str, Any] = {}
    for name, dist in space.searched().items():
        if name not in params:
            continue
        center = _center(dist, params[name])
        if center is None or not isinstance(
                dist, (FloatDistribution, IntDistribution, CategoricalDistribution)):
            continue
        changes[name] = dataclasses.replace(dist, prior=Prior(center, confidence))
        centres[name] = center
    return space.replace(**changes), centres


def seed_params(space: SearchSpace, trials: list[FrozenTrial]) -> list[dict[str, Any]]:
    """Return the parameters of ``trials`` that still fit ``space``, to enqueue in stage 2."""
    kept = []
    for trial in trials:
        params = {k: v for k, v in trial.params.items() if space.fits(k, v)}
        if params and params not in kept:
            kept.append(params)
    return kept


def describe_centres(centres: dict[str, Any]) -> str:
    """Return ``knob=value`` pairs, numbers to 3 significant digits."""
    def show(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{name}={show(value)}" for name, value in sorted(centres.items()))


def run_stage(study: Study, job: Callable[[Any], float | tuple[float, ...]], n_trials: int,
              **optimize: Any) -> int:
    """Run the stage's remaining trials (a resumed stage runs only what is missing)."""
    done = len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))
    remaining = max(n_trials - done, 0)
    if remaining:
        study.optimize(job, n_trials=remaining, total_trials=n_trials, **optimize)
    return remaining


def stage_one(job: NeuralNetworkObjective, storage: BaseStorage, name: str, seed: int,
              sampler: str | BaseSampler | None, pruner: BasePruner, jobs: int,
              progress: bool, trials: int,
              say: Callable[[str], Any]) -> tuple[NeuralNetworkObjective, int]:
    """Run stage 1 of the progressive strategy; return stage 2's job (narrowed space) and
    its number of trials."""
    from hyperknob.nn._objective import NeuralNetworkObjective
    from hyperknob.nn._plan import make_sampler
    from hyperknob.nn._resume import check_same_data, open_study, recover

    first, second = plan(job.dataset, job.space, trials, name, seed=seed)
    easy = NeuralNetworkObjective(first.data, first.space, seed=seed, device=job.device,
                                  log_every=job.log_every, log=job.log,
                                  max_params=job.max_params)
    stage_sampler = make_sampler(sampler if isinstance(sampler, str) else "tpe", seed)
    study, new = open_study(first.study_name, storage, easy.directions, stage_sampler, pruner)
    check_same_data(study, first.data)
    if new:
        easy.prepare(study)
    recover(study)
    say(f"Stage 1/2, simplified problem (study {first.study_name!r}): {first.description}.")
    started = time.perf_counter()
    ran = run_stage(study, easy, first.n_trials, timeout=None, n_jobs=jobs,
                                show_progress_bar=progress)
    top = best_trials(study, TOP_K)
    if not top:
        raise ValueError(f"stage 1 ({first.study_name!r}) has no completed trial; nothing to "
                         "narrow the full problem's search with")
    say(f"Stage 1 done: ran {ran} trials in {time.perf_counter() - started:.0f} s; best "
        f"validation {easy.metric} {top[0].value:.4f} (trial #{top[0].number}).")
    space, centres = narrowed(job.space, top[0])
    say(f"Stage 2/2, full problem: {second.description}; priors at "
        f"{describe_centres(centres)}; the {len(top)} best stage-1 "
        "configurations first.")
    full = NeuralNetworkObjective(job.dataset, space, seed=seed, device=job.device,
                                  log_every=job.log_every, log=job.log,
                                  max_params=job.max_params)
    full.first_params = seed_params(space, top)
    full.rules_of_thumb = False  # stage 1 tried them; its best come first instead
    return full, second.n_trials
