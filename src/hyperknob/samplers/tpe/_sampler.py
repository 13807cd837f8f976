"""TPESampler: a thin adapter from a study's history to the Parzen estimators of ``_parzen``.

The algorithm of [B11] section 4, with the multivariate kernels of [F18] and the defaults
studied in [W23] (references in ``_parzen``):

1. rank the observations (COMPLETE by value, then PRUNED, then RUNNING ones as constant-liar
   "worst" values) and take the best ``gamma(n)`` COMPLETE ones as "good", the rest as "bad";
2. fit ``l(x)`` to the good and ``g(x)`` to the bad observations (each with a prior component;
   the one of ``l`` is centred at the user's :class:`~hyperknob.distributions.Prior` in the
   dimensions that have one, as in BOPrO [S21] -- references in ``_parzen``);
3. draw ``n_ei_candidates`` points from ``l`` and keep the one maximizing
   ``log l(x) - log g(x)``, which maximizes expected improvement ([B11] §4).

With several objectives the good trials are the best non-dominated fronts (MOTPE [O22]);
with a ``constraints_func``, feasible trials come first ([W23b]): see ``_good_mask``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hyperknob._checks import check_bool, check_int, check_number
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._constraints import (
    ConstraintsFunc,
    check_constraints_func,
)
from hyperknob.samplers._prior import internal_prior
from hyperknob.samplers._qmc import QMCSampler
from hyperknob.samplers._random import RandomSampler
from hyperknob.samplers._rng import check_seed
from hyperknob.samplers.tpe import _parzen
from hyperknob.samplers.tpe._history import (
    TIER_COMPLETE,
    TIER_RUNNING,
    Observations,
    StudyHistory,
)
from hyperknob.samplers.tpe._trust import prior_trust
from hyperknob.study._view import StudyView
from hyperknob.trial._frozen import FrozenTrial


def hyperopt_gamma(n: int) -> int:
    """Return hyperopt's number of good observations: ``min(ceil(0.25 sqrt(n)), 25)``."""
    return min(math.ceil(0.25 * math.sqrt(n)), 25)


def default_gamma(n: int) -> int:
    """Return how many of ``n`` observations are "good": ``min(ceil(0.1 n), 25)`` (see [W23])."""
    return min(math.ceil(0.1 * n), 25)


def space_of(distributions: Sequence[BaseDistribution]) -> _parzen.Space:
    """Return the :class:`~_parzen.Space` of distributions (none of them single-valued)."""
    low, high, step, log, n_choices = [], [], [], [], []
    for dist in distributions:
        if isinstance(dist, CategoricalDistribution):
            low.append(0.0)
            high.append(len(dist.choices) - 1.0)
            step.append(0.0)
            log.append(False)
            n_choices.append(len(dist.choices))
        elif isinstance(dist, (FloatDistribution, IntDistribution)):
            low.append(float(dist.low))
            high.append(float(dist.high))
            step.append(float(dist.step or 0.0))
            log.append(dist.log)
            n_choices.append(0)
        else:
            raise TypeError(f"TPESampler cannot handle {dist!r}")
    return _parzen.Space(low=np.array(low), high=np.array(high), step=np.array(step),
                         log=np.array(log, dtype=bool), n_choices=np.array(n_choices))


def prior_arrays(
    distributions: Sequence[BaseDistribution],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the ``[d]`` internal prior centres and confidences (NaN: none), or None if no
    distribution has a prior."""
    priors = [internal_prior(dist) for dist in distributions]
    if all(prior is None for prior in priors):
        return None
    center = np.array([np.nan if p is None else p[0] for p in priors])
    confidence = np.array([np.nan if p is None else p[1] for p in priors])
    return center, confidence


@functools.lru_cache(maxsize=256)
def _space_and_priors(
    distributions: tuple[BaseDistribution, ...],
) -> tuple[_parzen.Space, tuple[np.ndarray, np.ndarray] | None]:
    """Return :func:`space_of` and :func:`prior_arrays` of distributions, computed once per
    search space (both are pure functions of the distributions)."""
    return space_of(distributions), prior_arrays(distributions)


def _single_value(dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[0]
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    return dist.to_external(dist.low)


def _stream(names: Sequence[str]) -> int:
    """Return a stable 64-bit number for a set of parameter names (not ``hash()``, which is
    salted per process)."""
    digest = hashlib.blake2b("\0".join(names).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclasses.dataclass
class _GroupMemo:
    """Kept from trial to trial for one group of parameters (rows and keys: trial numbers):
    the fit cache, and the last good model with the trials it was fitted to."""

    cache: _parzen.FitCache
    below_key: bytes | None = None
    below: _parzen.ParzenEstimator | None = None


def _good_weights(obs: Observations, good: np.ndarray) -> np.ndarray:
    """Return the weights of the good observations in ``l(x)``: equal with one objective;
    with several, each one's share of the good set's hypervolume (its exclusive contribution,
    floored so that none is ignored), as MOTPE weights them [O22] -- the ends of the front,
    which extend it, count more than points crowded in its middle."""
    n = int(good.sum())
    if obs.losses is None or n < 2:
        return np.ones(n)
    from hyperknob._pareto import hypervolume_contributions, nadir_reference

    points = obs.losses[good]
    if not np.all(np.isfinite(points)):
        return np.ones(n)
    contributions = hypervolume_contributions(points, nadir_reference(points))
    total = float(contributions.sum())
    if not total > 0.0:
        return np.ones(n)
    shares = contributions / total
    weights: np.ndarray = np.maximum(shares, 0.1 / n) * n  # mean about 1, none below 0.1
    return weights


@functools.lru_cache(maxsize=64)
def _cached_subset(front_bytes: bytes, m: int, k: int) -> tuple[int, ...]:
    from hyperknob._pareto import nadir_reference, select_by_hypervolume

    front = np.frombuffer(front_bytes).reshape(-1, m)
    return tuple(select_by_hypervolume(front, k, nadir_reference(front)).tolist())


def _subset(front: np.ndarray, k: int) -> np.ndarray:
    """Return the ``k`` rows of ``front`` (q, m) greedy hypervolume subset selection picks
    against the front's nadir widened by a tenth of its range; remembered, as a study's last
    front that does not fit changes seldom from one trial to the next."""
    chosen = _cached_subset(np.ascontiguousarray(front, dtype=np.float64).tobytes(),
                            front.shape[1], k)
    return np.array(chosen, dtype=int)


def best_by_pareto(losses: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Return the ``k`` best of ``rows`` (indices into ``losses``, (n, m), lower is better):
    whole non-dominated fronts in rank order, the front that does not fit cut by greedy
    hypervolume subset selection against its nadir widened by a tenth of its range [O22]."""
    from hyperknob._pareto import nondominated_ranks

    if k <= 0 or len(rows) == 0:
        return np.empty(0, dtype=int)
    points = losses[rows]
    ranks = nondominated_ranks(points, n_below=k)
    chosen: list[np.ndarray] = []
    taken = 0
    for rank in range(int(ranks.max()) + 1):
        members = np.flatnonzero(ranks == rank)
        if taken + len(members) <= k:
            chosen.append(members)
            taken += len(members)
        else:
            chosen.append(members[_subset(points[members], k - taken)])
            taken = k
        if taken >= k:
            break
    best: np.ndarray = rows[np.concatenate(chosen)]
    return best


class TPESampler(BaseSampler):
    """Tree-structured Parzen Estimator: model good and bad regions, sample where good wins.

    Args:
        seed: Seed of every random draw; each trial's draws depend only on (seed, trial
            number, parameter names), so workers and restarts agree.
        n_startup_trials: Finished (COMPLETE or PRUNED) trials drawn by ``startup`` before TPE.
        n_ei_candidates: Candidates drawn from ``l(x)`` per suggestion.
        multivariate: Model parameters jointly (product kernels [F18]); else each on its own.
        group: With ``multivariate``, split the space into groups of parameters that always
            appear together (conditional spaces) and model each group on the trials having it;
            else model jointly only the parameters every finished trial has.
        constant_liar: Count other workers' RUNNING trials as the worst observations, so
            parallel workers spread out.
        prior_weight: Weight of the prior component against one observation. Where a
            distribution carries a :class:`~hyperknob.distributions.Prior`, the prior
            component of the good model is that belief, so a larger weight trusts it longer.
        consider_endpoints: Univariate bandwidths count the range ends as neighbours.
        gamma: ``n -> number of good observations``; default :func:`default_gamma`.
        startup: ``"qmc"`` (scrambled Sobol, as :class:`QMCSampler`) or ``"random"``.
        constraints_func: ``trial -> sequence of floats``, feasible when all are <= 0: its
            values are stored with each finished trial; feasible trials are preferred as
            "good", infeasible ones ranked by total violation.
        adaptive_priors: Weigh the priors by how well they rank the finished trials
            (``_trust``): a prior that orders them backwards -- one fitted to earlier studies
            of another data set that does not fit this one -- loses its confidence. Off: a
            prior keeps its confidence (its share of ``l(x)`` still fades with the data).

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(sampler=TPESampler(seed=0))
        >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=30)
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 64,
        multivariate: bool = True,
        group: bool = True,
        constant_liar: bool = True,
        prior_weight: float = 1.0,
        consider_endpoints: bool = False,
        gamma: Callable[[int], int] | None = None,
        startup: str = "qmc",
        constraints_func: ConstraintsFunc | None = None,
        adaptive_priors: bool = False,
    ) -> None:
        for name, value, least in (("n_startup_trials", n_startup_trials, 0),
                                   ("n_ei_candidates", n_ei_candidates, 1)):
            check_int(name, value, least=least)
        check_number("prior_weight", prior_weight, above=0.0)
        if gamma is not None and not callable(gamma):
            raise TypeError(f"gamma must be a callable int -> int or None, got {gamma!r}")
        if startup not in ("qmc", "random"):
            raise ValueError(f"startup must be 'qmc' or 'random', got startup={startup!r}")
        self.seed = check_seed(seed)
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.multivariate = multivariate
        self.group = group
        self.constant_liar = constant_liar
        self.prior_weight = float(prior_weight)
        self.consider_endpoints = consider_endpoints
        self.gamma = gamma if gamma is not None else default_gamma
        self.startup = startup
        self.constraints_func = check_constraints_func(constraints_func)
        self.adaptive_priors = check_bool("adaptive_priors", adaptive_priors)
        self._startup_sampler: BaseSampler = (
            QMCSampler(seed=self.seed) if startup == "qmc" else RandomSampler(seed=self.seed))
        self._random = RandomSampler(seed=self.seed)
        # One memo per study: a sampler may serve several studies in turn.
        self._histories: weakref.WeakKeyDictionary[StudyView, StudyHistory] = (
            weakref.WeakKeyDictionary())
        self._memos: weakref.WeakKeyDictionary[StudyView, dict[tuple[Any, ...], _GroupMemo]] = (
            weakref.WeakKeyDictionary())

    @staticmethod
    def hyperopt_parameters() -> dict[str, Any]:
        """Return the arguments that make this sampler behave as hyperopt's TPE does (Optuna
        offers the same): ``TPESampler(**TPESampler.hyperopt_parameters())``."""
        return {"n_startup_trials": 20, "n_ei_candidates": 24, "gamma": hyperopt_gamma,
                "multivariate": False, "prior_weight": 1.0, "consider_endpoints": False}

    # -- the BaseSampler interface ---------------------------------------------------------
    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if not self.multivariate:
            return {}
        history, _ = self._sync(study, trial)
        if self._in_startup(history):
            return self._startup_sampler.infer_relative_search_space(study, trial)
        if self.group:
            space = {name: dist for group in history.decomposition.groups()
                     for name, dist in group.items()}
        else:
            space = history.intersection()
        return {name: dist for name, dist in space.items() if not dist.is_single()}

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        history, running = self._sync(study, trial)
        if self._in_startup(history):
            return self._startup_sampler.sample_relative(study, trial, search_space)
        if self.group:
            groups = [{name: dist for name, dist in group.items()
                       if search_space.get(name) == dist}
                      for group in history.decomposition.groups()]
        else:
            groups = [search_space]
        params: dict[str, Any] = {}
        for group in groups:
            if group:  # names left out (a trial finished meanwhile) go to sample_independent
                params.update(self._suggest(study, history, running, trial, group,
                                            multivariate=True))
        return params

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        if distribution.is_single():
            return _single_value(distribution)
        history, running = self._sync(study, trial)
        if self._in_startup(history):
            return self._startup_sampler.sample_independent(study, trial, name, distribution)
        return self._suggest(study, history, running, trial, {name: distribution},
                             multivariate=False)[name]

    # -- the algorithm ---------------------------------------------------------------------
    def _in_startup(self, history: StudyHistory) -> bool:
        return history.n_finished < self.n_startup_trials

    def _sync(
        self, study: StudyView, trial: FrozenTrial
    ) -> tuple[StudyHistory, list[FrozenTrial]]:
        """Return the study's history and its RUNNING trials, read once per trial: every
        parameter of a trial is drawn from the same snapshot of the study."""
        history = self._histories.get(study)
        if history is None:
            history = self._histories[study] = StudyHistory(study.directions)
        running = history.running_seen_by(trial.trial_id)
        if running is None:
            running = history.update(study.get_trials(from_number=history.watermark),
                                     trial.trial_id)
        return history, running if self.constant_liar else []

    def _suggest(
        self,
        study: StudyView,
        history: StudyHistory,
        running: list[FrozenTrial],
        trial: FrozenTrial,
        space: dict[str, BaseDistribution],
        *,
        multivariate: bool,
    ) -> dict[str, Any]:
        names = list(space)
        dists = list(space.values())
        obs = self._model_observations(
            history.observations(list(space.items()), running, trial.trial_id), history,
            running, len(space))
        if obs.n_finished == 0:  # e.g. a conditional parameter no finished trial has yet
            return {name: self._random.sample_independent(study, trial, name, dist)
                    for name, dist in space.items()}
        good = self._good_mask(obs)
        parzen_space, priors = _space_and_priors(tuple(dists))
        trust = 1.0
        if priors is not None and self.adaptive_priors:
            trust = self._trust(obs, parzen_space, priors)
            priors = None if trust == 0.0 else (priors[0], priors[1] * trust)
        fit_args: dict[str, Any] = dict(prior_weight=self.prior_weight,
                                        multivariate=multivariate,
                                        consider_endpoints=self.consider_endpoints)
        # Uniform observation weights: the model depends on the set of observations only,
        # not on their age or arrival order, so every worker builds the same model from the
        # same history. (The older-trial down-weighting of hyperopt/Optuna is not used; [W23]
        # discusses both choices.)
        memo = self._group_memo(study, (multivariate, *space.items()), parzen_space)
        # l(x) changes only when the set of good trials does (rarely, once there are many
        # trials): the last one is kept.
        below_key = obs.number[good].tobytes() + np.float64(trust).tobytes()
        below = memo.below if memo.below_key == below_key else None
        if below is None:
            below = _parzen.fit(obs.values[good], _good_weights(obs, good), parzen_space,
                                prior_center=None if priors is None else priors[0],
                                prior_confidence=None if priors is None else priors[1],
                                cache=memo.cache, keys=obs.number[good], **fit_args)
            memo.below, memo.below_key = below, below_key
        above = _parzen.fit(obs.values[~good], np.ones(int((~good).sum())), parzen_space,
                            cache=memo.cache, keys=obs.number[~good], **fit_args)
        rng = np.random.default_rng(
            np.random.SeedSequence([self.seed, trial.number, _stream(names)]))
        candidates = _parzen.sample(below, rng, self.n_ei_candidates)
        # [B11] §4: EI grows with l(x) / g(x); compare in logs for stability.
        score = _parzen.log_ratio(below, above, candidates)
        best = candidates[int(np.argmax(score))]
        return {name: dist.to_external(float(value))
                for name, dist, value in zip(names, dists, best, strict=True)}

    @staticmethod
    def _trust(obs: Observations, space: _parzen.Space,
               priors: tuple[np.ndarray, np.ndarray]) -> float:
        """Return the trust the priors earn from the finished trials (``_trust``)."""
        finished = obs.tier != TIER_RUNNING
        outcome = np.where(obs.tier == TIER_COMPLETE, obs.score, np.inf)[finished]
        return prior_trust(space, obs.values[finished], outcome, *priors)

    def _group_memo(
        self, study: StudyView, key: tuple[Any, ...], space: _parzen.Space
    ) -> _GroupMemo:
        """Return what is kept from trial to trial for one group of parameters of a study."""
        memos = self._memos.get(study)
        if memos is None:
            memos = self._memos[study] = {}
        memo = memos.get(key)
        if memo is None or memo.cache.space is not space:
            memo = memos[key] = _GroupMemo(_parzen.FitCache(space))
        return memo

    def _model_observations(
        self, obs: Observations, history: StudyHistory, running: list[FrozenTrial], d: int
    ) -> Observations:
        """Return the observations the models are fitted to (a multi-fidelity subclass picks
        a budget here); TPE uses the trials' final values."""
        return obs

    def _good_mask(self, obs: Observations) -> np.ndarray:
        """Return the mask of the good observations: the best gamma(n) COMPLETE ones.

        Best: feasible before infeasible (these by total violation, as c-TPE's split does
        [W23b]); among feasible ones by value, or with several objectives by non-dominated
        rank, the last front taken cut by greedy hypervolume subset selection (MOTPE [O22]).
        """
        n = obs.tier.shape[0]
        complete = obs.tier == TIER_COMPLETE
        n_good = self.gamma(n)
        if isinstance(n_good, bool) or not isinstance(n_good, (int, np.integer)):
            raise TypeError(f"gamma({n}) must return an int, got {n_good!r}")
        n_good = min(max(int(n_good), 0), int(complete.sum()))
        good = np.zeros(n, dtype=bool)
        feasible = complete if obs.violation is None else complete & (obs.violation <= 0.0)
        if obs.losses is None:
            # Rank by score, ties by trial number (obs is sorted by number and the sort is
            # stable); PRUNED and RUNNING ones are never good.
            order = np.argsort(np.where(feasible, obs.score, np.inf), kind="stable")
            chosen = order[:min(n_good, int(feasible.sum()))]
        else:
            chosen = best_by_pareto(obs.losses, np.flatnonzero(feasible), n_good)
        good[chosen] = True
        short = n_good - len(chosen)
        if short > 0 and obs.violation is not None:  # fill with the least infeasible
            infeasible = complete & ~feasible
            order = np.argsort(np.where(infeasible, obs.violation, np.inf), kind="stable")
            good[order[:short]] = True
        return good
