"""Named search strategies: a sampler and a pruner meant to work together.

Example:
    >>> import hyperknob
    >>> plan = hyperknob.strategies.strategy("bohb", seed=0, min_resource=1)
    >>> study = hyperknob.create_study(sampler=plan.sampler, pruner=plan.pruner)
"""

from __future__ import annotations

import dataclasses

from hyperknob.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    SuccessiveHalvingPruner,
)
from hyperknob.samplers import BaseSampler, RandomSampler

#: The strategies :func:`strategy` builds. (``hyperknob tune --strategy progressive`` is a
#: multi-stage job of ``hyperknob.nn``, not a sampler-pruner pair.)
STRATEGY_NAMES = ("tpe", "random", "median", "asha", "hyperband", "bohb")


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A sampler and a pruner, and what they do together in one line."""

    name: str
    sampler: BaseSampler
    pruner: BasePruner
    description: str


def strategy(
    name: str,
    *,
    seed: int | None = None,
    min_resource: int = 1,
    max_resource: int | str = "auto",
    reduction_factor: int = 3,
) -> Strategy:
    """Return the named strategy (one of :data:`STRATEGY_NAMES`).

    ``min_resource``, ``max_resource`` and ``reduction_factor`` set the rungs of the pruners
    that use them (``asha``, ``hyperband``, ``bohb``); steps are what the objective reports
    (epochs for ``hyperknob.nn``).
    """
    from hyperknob.samplers.tpe import BOHBSampler, TPESampler

    if name == "tpe":
        return Strategy(name, TPESampler(seed=seed), NopPruner(),
                        "TPE, every trial trained to the end")
    if name == "random":
        return Strategy(name, RandomSampler(seed=seed), NopPruner(),
                        "random search, every trial trained to the end")
    if name == "median":
        return Strategy(name, TPESampler(seed=seed),
                        MedianPruner(n_startup_trials=5, n_warmup_steps=min_resource),
                        "TPE; a trial worse than the median of finished ones at the same "
                        "step stops")
    if name == "asha":
        return Strategy(name, TPESampler(seed=seed),
                        SuccessiveHalvingPruner(min_resource=min_resource,
                                                reduction_factor=reduction_factor),
                        f"TPE; asynchronous successive halving keeps the best "
                        f"1/{reduction_factor} at steps {min_resource}, "
                        f"{min_resource * reduction_factor}, ...")
    pruner = HyperbandPruner(min_resource=min_resource, max_resource=max_resource,
                             reduction_factor=reduction_factor)
    if name == "hyperband":
        return Strategy(name, TPESampler(seed=seed), pruner,
                        "TPE; Hyperband brackets of asynchronous successive halving")
    if name == "bohb":
        return Strategy(name, BOHBSampler(seed=seed, min_resource=min_resource,
                                          reduction_factor=reduction_factor), pruner,
                        "BOHB: Hyperband brackets; TPE fitted at the largest step enough "
                        "trials reached")
    hint = " ('progressive' is run by `hyperknob tune`)" if name == "progressive" else ""
    raise ValueError(f"unknown strategy {name!r}{hint}; expected one of "
                     f"{', '.join(STRATEGY_NAMES)}")
