"""NSGAIISampler: the elitist genetic algorithm of Deb et al. (2002) over a study's history.

Trial ``n`` belongs to generation ``n // population_size``. Its parents are chosen from the
population of its generation: the ``population_size`` best COMPLETE trials of every earlier
generation, best by non-dominated rank (constrained domination where the trials carry
constraint values) and then by crowding distance ([D02] sec. III). Two binary tournaments
pick two parents; uniform crossover (or simulated binary crossover, [DA95]) and polynomial
mutation ([DG96]) make the child in the unit box of the numeric parameters, uniform
crossover and random resets handle categorical ones. Generation 0 is drawn at random.

Everything is derived from the stored trials and ``(seed, trial number)``: one worker,
many processes and a restarted study breed the same children from the same history.

References:
    [D02] Deb, Pratap, Agarwal and Meyarivan, "A Fast and Elitist Multiobjective Genetic
    Algorithm: NSGA-II", IEEE Trans. Evol. Comput. 2002.
    [DA95] Deb and Agrawal, "Simulated Binary Crossover for Continuous Search Space",
    Complex Systems 1995 (SBX, eq. 3-4; the bounded form of Deb's NSGA-II code).
    [DG96] Deb and Goyal, "A Combined Genetic Adaptive Search (GeneAS) for Engineering
    Design", Comput. Sci. Inform. 1996 (polynomial mutation, bounded form).
"""

from __future__ import annotations

import random
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob._checks import check_choice, check_int, check_number
from hyperknob._losses import signed_losses
from hyperknob._pareto import constrained_ranks, crowding_distance
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._constraints import (
    check_constraints_func,
    violations,
)
from hyperknob.samplers._random import RandomSampler
from hyperknob.samplers._rng import check_seed
from hyperknob.samplers._search_space import IntersectionSearchSpace
from hyperknob.samplers.gp._encoding import BOUND_STEP, unit_of, value_at
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.samplers._constraints import ConstraintsFunc
    from hyperknob.study._view import StudyView


def _is_continuous(dist: BaseDistribution) -> bool:
    return type(dist) is FloatDistribution and dist.step is None


class _Population:
    """The parents of one generation: trials and their (rank, crowding) fitness."""

    def __init__(self, trials: list[FrozenTrial], rank: np.ndarray, crowding: np.ndarray
                 ) -> None:
        self.trials = trials
        self.rank = rank
        self.crowding = crowding
        self.space = {name: dist for name, dist in
                      IntersectionSearchSpace().calculate(trials).items()
                      if not dist.is_single()}

    def better(self, a: int, b: int) -> int:
        """Return the winner of a binary tournament between members ``a`` and ``b``."""
        if self.rank[a] != self.rank[b]:
            return a if self.rank[a] < self.rank[b] else b
        return a if self.crowding[a] >= self.crowding[b] else b


def select_population(trials: list[FrozenTrial], losses: np.ndarray, violation: np.ndarray,
                      size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the indices of the ``size`` best of ``trials`` ([D02] sec. III-C: whole
    fronts in rank order, the last one cut by decreasing crowding distance), with the ranks
    and crowding distances of the chosen ones."""
    ranks = constrained_ranks(losses, violation)
    chosen: list[int] = []
    crowding = np.zeros(len(trials))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        distance = crowding_distance(losses[members])
        crowding[members] = distance
        if len(chosen) + len(members) <= size:
            chosen.extend(members.tolist())
        else:
            order = np.argsort(-distance, kind="stable")
            chosen.extend(members[order[: size - len(chosen)]].tolist())
        if len(chosen) >= size:
            break
    index = np.array(chosen, dtype=int)
    return index, ranks[index], crowding[index]


def sbx(a: float, b: float, u: float, side: float, eta: float) -> float:
    """Return one child of parents ``a`` and ``b`` in [0, 1] by bounded simulated binary
    crossover with distribution index ``eta`` ([DA95]): ``u`` draws the spread, ``side``
    (uniform too) which side of the parents' centre the child lands on."""
    if abs(a - b) < 1e-14:
        return a
    low, high = min(a, b), max(a, b)
    # The spread factor's density is cut where the child would leave the box on its side
    # (Deb's bounded SBX): beta = 1 + 2 (distance to that bound) / (high - low).
    below = side < 0.5
    beta = 1.0 + 2.0 * (low if below else 1.0 - high) / (high - low)
    alpha = 2.0 - beta ** -(eta + 1.0)
    if u <= 1.0 / alpha:
        beta_q = (u * alpha) ** (1.0 / (eta + 1.0))
    else:
        beta_q = (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0))
    centre, half = 0.5 * (low + high), 0.5 * (high - low)
    child = float(centre - beta_q * half if below else centre + beta_q * half)
    return min(max(child, 0.0), 1.0)


def polynomial_mutation(x: float, u: float, eta: float) -> float:
    """Return ``x`` in [0, 1] mutated by the bounded polynomial mutation with distribution
    index ``eta`` and uniform number ``u`` ([DG96])."""
    power = 1.0 / (eta + 1.0)
    if u < 0.5:
        delta = (2.0 * u + (1.0 - 2.0 * u) * (1.0 - x) ** (eta + 1.0)) ** power - 1.0
    else:
        delta = 1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * x ** (eta + 1.0)) ** power
    return min(max(x + float(delta), 0.0), 1.0)


class NSGAIISampler(BaseSampler):
    """NSGA-II: evolve a population toward the Pareto front (works for one objective too).

    Args:
        population_size: Trials per generation, and parents kept from one to the next.
        mutation_prob: Probability that a parameter of a child is mutated; default
            1 / (number of parameters).
        crossover_prob: Probability that a child is bred from two parents (else it is a
            mutated copy of one).
        swapping_prob: Probability that a parameter comes from the second parent in a
            uniform crossover (categorical parameters: in every crossover).
        crossover_eta: SBX distribution index: larger keeps children nearer their parents.
        mutation_eta: Polynomial-mutation distribution index: larger makes smaller steps.
        crossover: ``"uniform"``: each numeric parameter from either parent; ``"sbx"``:
            simulated binary crossover ([DA95]), a child between and around its parents.
            Uniform scored higher on ZDT1-3 and DTLZ2 at 300 trials (4 seeds; BENCHMARKS.md,
            "Multi-objective").
        mutation: ``"polynomial"`` ([DG96]) or ``"uniform"`` (a fresh value in the range).
        seed: Seed of every random choice; a child depends on (seed, trial number) and the
            stored trials only.
        constraints_func: ``trial -> sequence of floats``, feasible when all are <= 0: its
            values are stored with each finished trial, and constrained domination ranks
            feasible trials first, infeasible ones by their total violation.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(directions=["minimize", "minimize"],
        ...                                sampler=NSGAIISampler(seed=0))
    """

    def __init__(
        self,
        *,
        population_size: int = 50,
        mutation_prob: float | None = None,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        crossover_eta: float = 15.0,
        mutation_eta: float = 20.0,
        seed: int | None = None,
        constraints_func: ConstraintsFunc | None = None,
        crossover: str = "uniform",
        mutation: str = "polynomial",
    ) -> None:
        self.crossover = check_choice("crossover", crossover, ("uniform", "sbx"))
        self.mutation = check_choice("mutation", mutation, ("polynomial", "uniform"))
        check_int("population_size", population_size, least=2)
        if mutation_prob is not None:
            check_number("mutation_prob", mutation_prob, least=0.0, most=1.0)
        check_number("crossover_prob", crossover_prob, least=0.0, most=1.0)
        check_number("swapping_prob", swapping_prob, least=0.0, most=1.0)
        check_number("crossover_eta", crossover_eta, least=0.0)
        check_number("mutation_eta", mutation_eta, least=0.0)
        self.population_size = population_size
        self.mutation_prob = mutation_prob
        self.crossover_prob = float(crossover_prob)
        self.swapping_prob = float(swapping_prob)
        self.crossover_eta = float(crossover_eta)
        self.mutation_eta = float(mutation_eta)
        self.seed = check_seed(seed)
        self.constraints_func = check_constraints_func(constraints_func)
        self._random = RandomSampler(seed=self.seed)
        # The population of the latest generation asked for, per study: (key, population).
        self._populations: weakref.WeakKeyDictionary[
            StudyView, tuple[tuple[int, ...], _Population]] = weakref.WeakKeyDictionary()

    def _population(self, study: StudyView, generation: int) -> _Population | None:
        """Return the parents of ``generation``: the best COMPLETE trials of the earlier
        ones (None before two exist).

        Once every trial of the earlier generations has finished, the population can no
        longer change: it is kept and the history is not read again for this generation.
        """
        memo = self._populations.get(study)
        if memo is not None and memo[0] == (generation, -1):
            return memo[1]  # final: computed when every earlier trial had finished
        below = generation * self.population_size
        earlier = study.get_trials(from_number=0)
        earlier = [t for t in earlier if t.number < below]
        pool = [t for t in earlier if t.state is TrialState.COMPLETE]
        if len(pool) < 2:
            return None
        final = all(t.state.is_finished() for t in earlier) and len(earlier) == below
        key = (generation, -1) if final else (generation, len(pool), pool[-1].number)
        if memo is not None and memo[0] == key:
            return memo[1]
        losses = signed_losses(pool, study.directions)
        index, rank, crowding = select_population(pool, losses, violations(pool),
                                                  self.population_size)
        population = _Population([pool[i] for i in index], rank, crowding)
        self._populations[study] = (key, population)
        return population

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        population = self._population(study, trial.number // self.population_size)
        return {} if population is None else dict(population.space)

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        population = self._population(study, trial.number // self.population_size)
        if population is None:
            return {}
        # Python's generator: seeded in microseconds, where numpy's costs a tenth of a trial.
        rng = random.Random((self.seed << 32) + trial.number)
        n = len(population.trials)
        picks = [rng.randrange(n) for _ in range(5)]
        partners = [(a + 1 + rng.randrange(n - 1)) % n for a in picks]  # never a itself

        def tournament(k: int) -> int:
            return population.better(picks[k], partners[k])

        first = population.trials[tournament(0)]
        second = first
        for k in range(1, 5):  # a second parent other than the first, where the draw allows
            second = population.trials[tournament(k)]
            if second.number != first.number:
                break
        # Every draw of the child at once: a row of five per parameter.
        draws = [[rng.random() for _ in range(5)] for _ in search_space]
        cross = rng.random() < self.crossover_prob
        mutation = self.mutation_prob if self.mutation_prob is not None else (
            1.0 / max(len(search_space), 1))
        return {name: self._gene(name, dist, first, second, cross, mutation, row)
                for (name, dist), row in zip(search_space.items(), draws, strict=True)}

    def _gene(self, name: str, dist: BaseDistribution, first: FrozenTrial,
              second: FrozenTrial, cross: bool, mutation: float, u: list[float]) -> Any:
        """Return the child's value of one parameter (external) from five uniform draws
        ``u``: crossing over, the crossover's own draws, mutating, the mutation's."""
        if type(dist) is CategoricalDistribution:
            value = second.params[name] if cross and u[0] < self.swapping_prob else (
                first.params[name])
            if u[3] < mutation:
                value = dist.choices[min(int(u[4] * len(dist.choices)), len(dist.choices) - 1)]
            return value
        assert isinstance(dist, (FloatDistribution, IntDistribution))
        a = unit_of(dist.to_internal(first.params[name]), dist)
        b = unit_of(dist.to_internal(second.params[name]), dist)
        if self.crossover == "uniform":
            x = b if cross and u[0] < self.swapping_prob else a
        else:  # each variable crosses with probability 1/2, as in Deb's reference code
            x = a if not cross or u[0] >= 0.5 else sbx(a, b, u[1], u[2], self.crossover_eta)
        if u[3] < mutation:
            x = u[4] if self.mutation == "uniform" else polynomial_mutation(
                x, u[4], self.mutation_eta)
        if _is_continuous(dist) and (x <= 0.0 or x >= 1.0) and x not in (a, b):
            # The operators clip to the box; a bound is kept only where a parent has it (it
            # is often a value the objective cannot take, such as a rate of exactly 0).
            x = min(max(x, BOUND_STEP), 1.0 - BOUND_STEP)
        return value_at(x, dist)

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, name, distribution)
