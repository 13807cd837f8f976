"""What ``nn.tune`` searches with: the sampler and early-stopping choices, their measured
defaults, and how a choice becomes a sampler, a pruner and the one-line plan it prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hyperknob.nn._space import SearchSpace
    from hyperknob.pruners import BasePruner
    from hyperknob.samplers import BaseSampler
    from hyperknob.samplers._constraints import ConstraintsFunc
    from hyperknob.transfer import Source

SAMPLERS = ("random", "qmc", "tpe", "gp", "auto", "nsga2")
STRATEGIES = ("none", "median", "asha", "hyperband", "bohb", "progressive")
REDUCTION_FACTOR = 3  # rungs at r, 3r, 9r, ... epochs
DEFAULT_TRIALS = 30

#: What ``tune`` uses when the caller says nothing, and the one-line reason printed with the
#: plan. Chosen by ``benchmarks/tune.py`` (BENCHMARKS.md, "The main job (issue 16)").
DEFAULT_SAMPLER = "tpe"
DEFAULT_STRATEGY = "asha"
DEFAULT_SELECT = "validation"
DEFAULT_REFIT = "train+val"
DEFAULT_ENSEMBLE = 3
DEFAULT_WHY = ("with the final model an ensemble of the top 3 refit on train + validation, "
               "the best paired test gain over random search on the six built-in datasets "
               "at 30 trials, with a third of its epochs; see BENCHMARKS.md")
#: With several objectives: the GP's expected hypervolume improvement (``auto``), and no
#: pruning, which would compare the first objective alone and cut the small networks that
#: make one end of the front. Chosen by ``benchmarks/multi_objective.py`` (BENCHMARKS.md,
#: "Multi-objective").
DEFAULT_MULTI_SAMPLER = "auto"
DEFAULT_MULTI_STRATEGY = "none"
DEFAULT_MULTI_WHY = ("for several objectives: the highest hypervolume at 100 trials on the "
                     "ZDT/DTLZ and MLP problems; no pruning, which would judge the first "
                     "objective alone; see BENCHMARKS.md")


def first_rung(space: SearchSpace) -> int:
    """Return the epochs before a pruner first judges a trial: a third of the shortest
    training the space allows (one epoch says little about a slow-starting learning rate)."""
    from hyperknob.distributions import IntDistribution

    epochs = space.dimensions["epochs"]
    shortest = epochs.low if isinstance(epochs, IntDistribution) else int(epochs)
    return max(1, round(shortest / 3))


def make_sampler(name: str, seed: int | None,
                 constraints_func: ConstraintsFunc | None = None,
                 transfer: Sequence[Source] = ()) -> BaseSampler:
    """Return the sampler ``name`` (one of :data:`SAMPLERS`) with ``seed`` (and the
    ``constraints_func``, for the samplers that model constraints; the ``transfer`` sources,
    for the GP: ``gp`` and ``auto``)."""
    from hyperknob import samplers

    classes: dict[str, Any] = {"random": samplers.RandomSampler, "qmc": samplers.QMCSampler,
                               "tpe": samplers.TPESampler, "gp": samplers.GPSampler,
                               "auto": samplers.AutoSampler, "nsga2": samplers.NSGAIISampler}
    if name not in classes:
        raise ValueError(f"sampler must be one of {SAMPLERS} or a sampler object, got "
                         f"sampler={name!r}")
    kwargs: dict[str, Any] = {"seed": seed}
    if constraints_func is not None and name not in ("random", "qmc"):
        kwargs["constraints_func"] = constraints_func
    if transfer and name in ("gp", "auto"):
        kwargs["transfer"] = tuple(transfer)
    if transfer and name == "tpe":
        # TPE keeps its ten start-up trials: the rules of thumb and the queued configurations
        # of the earlier studies fill most of them, Sobol points the rest. Modelling after
        # three (v14) let a misleading source narrow the search: over 24 targets and 15
        # seeds, 5 slower than 1.2x without transfer against 3 with ten (v18), at a cost
        # within the noise where the sources are right (BENCHMARKS.md, "Transfer").
        # Fitted to other data sets, the priors are weighed by how well they rank this one's
        # trials: a source that misleads loses its say after a few trials.
        kwargs["adaptive_priors"] = True
    sampler: BaseSampler = classes[name](**kwargs)
    return sampler


def search_plan(sampler: str | BaseSampler | None, strategy: str | None, space: SearchSpace,
                seed: int, *, multi_objective: bool = False,
                constraints_func: ConstraintsFunc | None = None,
                transfer: Sequence[Source] = (),
                ) -> tuple[BaseSampler, BasePruner, str]:
    """Return the sampler and pruner of a ``sampler`` and ``strategy`` choice, and a
    description; None picks the measured defaults (for several objectives, their own)."""
    from hyperknob import pruners, strategies
    from hyperknob.distributions import IntDistribution

    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got strategy={strategy!r}")
    if strategy == "bohb" and sampler is not None:
        raise ValueError("strategy 'bohb' brings its own sampler (TPE fitted at Hyperband's "
                         "budgets); leave sampler unset")
    if multi_objective and strategy in ("bohb", "progressive"):
        raise ValueError(f"strategy {strategy!r} ranks trials by one value; with several "
                         "objectives use 'none', 'median', 'asha' or 'hyperband'")
    chosen = strategy is None and sampler is None
    if strategy is None:
        strategy = DEFAULT_MULTI_STRATEGY if multi_objective else DEFAULT_STRATEGY
    if sampler is None:
        sampler = ("tpe" if strategy == "progressive" else
                   DEFAULT_MULTI_SAMPLER if multi_objective else DEFAULT_SAMPLER)
    name = sampler if isinstance(sampler, str) else type(sampler).__name__
    made = make_sampler(sampler, seed, constraints_func, transfer) if isinstance(
        sampler, str) else sampler
    why = (f" (the default: {DEFAULT_MULTI_WHY if multi_objective else DEFAULT_WHY})"
           if chosen else "")
    if strategy == "none":
        return made, pruners.NopPruner(), f"{name} sampler, no pruning{why}"
    if strategy == "progressive":
        pruner = pruners.SuccessiveHalvingPruner(min_resource=first_rung(space),
                                                 reduction_factor=REDUCTION_FACTOR)
        return made, pruner, (f"{name} sampler with asynchronous successive halving, in two "
                              f"stages{why}")
    epochs = space.dimensions["epochs"]
    top = epochs.high if isinstance(epochs, IntDistribution) else int(epochs)
    plan = strategies.strategy(strategy, seed=seed, min_resource=first_rung(space),
                               max_resource=top, reduction_factor=REDUCTION_FACTOR)
    if strategy != "bohb":  # the strategy's own sampler is replaced: keep its pruning words
        pruning = plan.description.split("; ", 1)[-1]
        return made, plan.pruner, f"{name} sampler; {pruning}{why}"
    return plan.sampler, plan.pruner, f"{plan.description}{why}"
