"""GPSampler: Bayesian optimization with a GP and log-EI; a thin adapter over ``_gp`` and
``_acquisition``.

The GP is refit to the stored trials every trial, with randomness from ``(seed,
trial.number)``. The one state kept between trials is the last fitted hyperparameters, a warm
start from 100 completed trials on (``warm_start=False`` drops it): without it one worker, many
processes and a restarted study all make the same suggestion from the same history; with it
they agree up to the fit's tolerance.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import weakref
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob._checks import check_bool, check_int, check_number
from hyperknob._losses import signed_losses
from hyperknob.distributions import (
    BaseDistribution,
)
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._constraints import (
    ConstraintsFunc,
    check_constraints_func,
    constraint_matrix,
    has_constraints,
    violations,
)
from hyperknob.samplers._random import RandomSampler
from hyperknob.samplers._rng import check_seed
from hyperknob.samplers._search_space import IntersectionSearchSpace
from hyperknob.samplers.gp._encoding import Encoding
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.samplers.gp._gp import GPModel
    from hyperknob.samplers.gp._maximize import Acquisition, Region
    from hyperknob.samplers.gp._rgpe import EnsembleLogEI
    from hyperknob.study._view import StudyView
    from hyperknob.transfer import Source

# The math modules (and scipy.optimize / scipy.linalg with them) load on first use, so that
# exporting GPSampler from ``hyperknob.samplers`` keeps ``import hyperknob`` free of scipy.

#: Completed trials from which a fit starts from the previous one (``warm_start``). Below, a
#: cold fit costs a few ms, and the likelihood of few points can have several optima that a
#: warm start would never leave (on Branin at 12 trials the two fits led to different points).
WARM_START_AFTER = 100
#: The most trials of a transfer source its base model is fitted to.
MAX_SOURCE_TRIALS = 200


# -- the sampler ------------------------------------------------------------------------------
def _single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread where threadpoolctl is importable.

    The GP's matrices are a few hundred rows: thread start-up costs more than it saves there,
    and oversubscribes the cores when several workers sample at once.
    """
    try:
        import threadpoolctl  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # optional: without it BLAS keeps its own setting
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = threadpoolctl.threadpool_limits(
        limits=1, user_api="blas")
    return limits


def _has_space(trial: FrozenTrial, space: Mapping[str, BaseDistribution]) -> bool:
    return all(trial.distributions.get(name) == dist for name, dist in space.items())


class GPSampler(BaseSampler):
    """Bayesian optimization: a Matérn-5/2 Gaussian process and log expected improvement.

    The first ``n_startup_trials`` trials are random. After that each trial fits a GP (ARD
    Matérn 5/2, MAP hyperparameters) to the completed trials of the parameters they all share,
    and suggests the point of highest log-EI (Ament et al. 2023). Running trials that hold
    their parameters count as observations of the mean value (constant liar, Ginsbourger et
    al. 2010), so parallel workers spread out. Once the search stalls, the acquisition is
    confined to a trust region around the best point (TuRBO, Eriksson et al. 2019). Parameters
    outside the shared space are drawn at random.

    Several objectives: one GP per objective and log expected hypervolume improvement (three
    objectives at most; ParEGO's random scalarizations from four on). Constraints (a
    ``constraints_func``): one GP per constraint, the acquisition times the probability of
    feasibility (``_multi``); the trust region is then not used.

    Args:
        seed: Seed of every random choice; suggestions depend on (seed, trial number) only.
        n_startup_trials: Completed trials to wait for before the GP is used.
        deterministic_objective: Fix the noise near zero (the objective repeats exactly).
        n_restarts: L-BFGS-B runs that refine the best candidates of the acquisition.
        n_candidates: Sobol points screened before those runs (a power of two).
        constant_liar: Treat running trials as fake observations. Off, a suggestion depends
            only on the completed trials, so it is the same whatever the order in which
            pending trials take their parameters; parallel workers may then suggest alike.
        warm_start: From 100 completed trials on, start each hyperparameter fit from this
            sampler's previous fit on the study (or the prior mode, whichever fits better)
            instead of from the prior mode and 4 prior draws: 3-6x fewer likelihood
            evaluations at 200 trials (Optuna's GPSampler also reuses its last fit). The fit
            then depends on what this sampler object fitted before, so a new process (a
            restarted study, another worker) can suggest slightly differently from the same
            history; off, every suggestion is a function of the stored trials, the seed and
            the trial number.
        trust_region: Confine the acquisition to a TuRBO trust region around the best point
            once the search stalls (max(4, D) trials in a row without an improvement) or
            runs (3 improvements in a row), halving it on further stalls and doubling it on
            improvements (``_trust_region``; Eriksson et al. 2019). Its size is replayed from
            the stored values, so it is the same in every worker. Off, EI is maximized over
            the whole box every trial, and in many dimensions drifts to its corners.
        prior_beta: πBO's ``beta`` (Hvarfner et al. 2022): where parameters carry a
            :class:`~hyperknob.distributions.Prior`, the acquisition is
            ``log EI + (prior_beta / n) log pi`` after ``n`` completed trials; larger values
            trust the belief longer.
        constraints_func: ``trial -> sequence of floats``, feasible when all are <= 0: its
            values are stored with each finished trial and modelled, so suggestions favour
            points likely to be feasible.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(sampler=GPSampler(seed=0, n_startup_trials=5))
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        deterministic_objective: bool = False,
        n_restarts: int = 5,
        n_candidates: int = 2048,
        constant_liar: bool = True,
        prior_beta: float = 10.0,
        warm_start: bool = True,
        trust_region: bool = True,
        constraints_func: ConstraintsFunc | None = None,
        transfer: Sequence[Source] = (),
    ) -> None:
        for name, value, minimum in (("n_startup_trials", n_startup_trials, 0),
                                     ("n_restarts", n_restarts, 0),
                                     ("n_candidates", n_candidates, 1)):
            check_int(name, value, least=minimum)
        for name, flag in (("deterministic_objective", deterministic_objective),
                           ("constant_liar", constant_liar), ("warm_start", warm_start),
                           ("trust_region", trust_region)):
            check_bool(name, flag)
        check_number("prior_beta", prior_beta, least=0.0)
        self.seed = check_seed(seed)
        self.n_startup_trials = n_startup_trials
        self.deterministic_objective = deterministic_objective
        self.n_restarts = n_restarts
        self.n_candidates = n_candidates
        self.constant_liar = constant_liar
        self.prior_beta = float(prior_beta)
        self.warm_start = warm_start
        self.trust_region = trust_region
        self.constraints_func = check_constraints_func(constraints_func)
        from hyperknob.transfer import Source

        if isinstance(transfer, (str, bytes)) or not all(
                isinstance(source, Source) for source in transfer):
            raise TypeError(f"transfer must be a sequence of hyperknob.transfer.Source, got "
                            f"transfer={transfer!r}")
        self.transfer = tuple(transfer)
        # Base models of the transfer sources, by (source, space): fitted once, as the
        # sources never change; and the last ensemble weights per study, for finish_attrs.
        self._bases: dict[tuple[Any, ...], GPModel | None] = {}
        self._weights: weakref.WeakKeyDictionary[StudyView, dict[int, dict[str, float]]] = (
            weakref.WeakKeyDictionary())
        self._random = RandomSampler(seed=self.seed)
        # The last fitted hyperparameters per study, by (space, model name): one model per
        # objective and per constraint.
        self._fits: weakref.WeakKeyDictionary[StudyView, dict[Any, np.ndarray]] = (
            weakref.WeakKeyDictionary())

    def finish_attrs(self, study: StudyView, trial: FrozenTrial) -> Mapping[str, Any]:
        attrs = dict(super().finish_attrs(study, trial))
        weights = self._weights.get(study, {}).pop(trial.number, None)
        if weights is not None:  # what each earlier study weighed in this trial's choice
            attrs["transfer_weights"] = weights
        return attrs

    def _startup(self) -> int:
        """Return the completed trials the GP waits for: fewer with transfer sources, whose
        models guide it from the start (the ensemble weights need a few trials of its own)."""
        return max(min(self.n_startup_trials, 3) if self.transfer else self.n_startup_trials,
                   1)

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        # Computed afresh each time (no memo): stateless, and cheap next to the GP fit.
        if study.count_trials((TrialState.COMPLETE,)) < self._startup():
            return {}
        space = IntersectionSearchSpace().calculate(study.get_trials((TrialState.COMPLETE,)))
        return {name: dist for name, dist in space.items() if not dist.is_single()}

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        complete = [t for t in study.get_trials((TrialState.COMPLETE,))
                    if t.values is not None and all(math.isfinite(v) for v in t.values)
                    and _has_space(t, search_space)]
        if len(complete) < self._startup():
            return {}
        # Pending trials that already hold the whole space: the constant liar's fake points.
        pending = [t for t in study.get_trials((TrialState.RUNNING,))
                   if t.number != trial.number and _has_space(t, search_space)
                   ] if self.constant_liar else []
        with _single_threaded_blas():
            return self._suggest(study, trial, search_space, complete, pending)

    def _suggest(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution],
        complete: list[FrozenTrial], pending: list[FrozenTrial],
    ) -> dict[str, Any]:
        from hyperknob.samplers.gp._acquisition import LogEI, PriorTerm
        from hyperknob.samplers.gp._maximize import Sum, maximize_acquisition, step_off_bounds
        from hyperknob.samplers.gp._multi import (
            feasibility,
            plan_multi,
            standardize_and_warp,
        )

        encoding = Encoding(search_space)
        x = encoding.encode_many([t.params for t in complete])
        losses = signed_losses(complete, study.directions)
        if not np.all(np.isfinite(losses)):
            return {}
        pending_x = encoding.encode_many([t.params for t in pending]) if pending else None
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, trial.number]))
        fits = self._fits.setdefault(study, {}) if self.warm_start else {}
        space_key = tuple(search_space.items())

        def fit(targets: np.ndarray, name: str) -> GPModel:
            return self._model(x, targets, pending_x, rng, fits, (space_key, name))

        constrained = has_constraints(complete)
        violation = violations(complete) if constrained else np.zeros(len(complete))
        feasible = violation <= 0.0
        try:
            parts: list[Acquisition] = []
            if constrained:
                # PRUNED trials with constraint values tell where the constraints hold too
                # (a configuration over a budget is pruned before it trains).
                others = [t for t in study.get_trials((TrialState.PRUNED,))
                          if has_constraints([t]) and _has_space(t, search_space)]
                x_constrained = np.vstack([x, encoding.encode_many([t.params for t in others])]
                                          ) if others else x

                def fit_constraint(targets: np.ndarray, name: str) -> GPModel:
                    return self._model(x_constrained, targets, None, rng, fits,
                                       (space_key, name))

                parts.append(feasibility(constraint_matrix([*complete, *others]),
                                         fit_constraint))
            region = None
            if not feasible.any():  # find the feasible region first
                incumbents = x[np.argsort(violation, kind="stable")[:3]]
            elif study.n_objectives > 1:
                plan = plan_multi(x, losses, feasible, fit, rng)
                if plan is None:
                    return {}
                parts.append(plan.acquisition)
                incumbents = plan.incumbents
            else:
                y = standardize_and_warp(losses[:, 0])
                if y is None:
                    return {}
                model = fit(y, "objective 0")
                order = np.argsort(np.where(feasible, y, np.inf), kind="stable")
                incumbents = x[order[: min(3, int(feasible.sum()))]]
                ensemble = self._ensemble(study, trial, search_space, encoding, x, y,
                                          feasible, model, fits[(space_key, "objective 0")],
                                          rng) if self.transfer else None
                parts.append(ensemble or LogEI(model, float(y[order[0]])))
                if not constrained:
                    region = self._region(encoding, model, incumbents[0], complete,
                                          losses[:, 0])
        except np.linalg.LinAlgError as error:  # not even jitter helped: fall back to random
            warnings.warn(f"GPSampler: trial {trial.number} is sampled at random: {error}",
                          RuntimeWarning, stacklevel=3)
            return {}
        # πBO: pi(x)^(beta / n), n the completed trials (pending lies are no evidence).
        prior = encoding.prior(self.prior_beta / len(complete)) if self.prior_beta else None
        if prior is not None:
            parts.append(PriorTerm(prior))
        acquisition = parts[0] if len(parts) == 1 else Sum(parts)
        seen = x if pending_x is None else np.vstack([x, pending_x])
        best_x, _ = maximize_acquisition(acquisition, encoding.box, rng, incumbents, seen=seen,
                                         n_candidates=self._candidates(study),
                                         n_restarts=self.n_restarts, region=region)
        best_x = step_off_bounds(acquisition, best_x, encoding.box.continuous)
        return encoding.decode(best_x)

    def _ensemble(self, study: StudyView, trial: FrozenTrial,
                  search_space: dict[str, BaseDistribution], encoding: Encoding,
                  x: np.ndarray, y: np.ndarray, feasible: np.ndarray, model: GPModel,
                  theta: np.ndarray, rng: np.random.Generator) -> EnsembleLogEI | None:
        """Return log EI under the ranking-weighted ensemble of the transfer sources' models
        and this study's (``_rgpe``), or None when no source covers the space."""
        from hyperknob.samplers.gp._gp import condition
        from hyperknob.samplers.gp._rgpe import EnsembleLogEI, rgpe_weights

        named = [(source.name, self._base_model(source, search_space, encoding))
                 for source in self.transfer]
        bases = [(name, base) for name, base in named if base is not None]
        if not bases:
            return None
        weights = rgpe_weights([base for _, base in bases], condition(theta, x, y), x, y, rng)
        self._weights.setdefault(study, {})[trial.number] = {
            **{name: round(float(w), 4) for (name, _), w in zip(bases, weights, strict=False)},
            study.study_name: round(float(weights[-1]), 4)}
        models = [*(base for _, base in bases), model]
        probe = EnsembleLogEI(models, weights, 0.0)
        best = float(np.min(probe.predict(x[feasible])[0]))
        return EnsembleLogEI(models, weights, best)

    def _base_model(self, source: Source, search_space: dict[str, BaseDistribution],
                    encoding: Encoding) -> GPModel | None:
        """Return the GP of a transfer source's trials mapped into this space (fitted once;
        None when fewer than 3 of its trials hold every parameter)."""
        from hyperknob.samplers.gp._gp import condition, fit_hyperparameters
        from hyperknob.samplers.gp._multi import standardize_and_warp
        from hyperknob.transfer._sources import map_params

        key = (source.name, len(source.trials), tuple(search_space.items()))
        if key in self._bases:
            return self._bases[key]
        # At most MAX_SOURCE_TRIALS, spread over the source's ranking (its best alone would
        # teach the model nothing of the bad regions).
        stride = max(1, math.ceil(len(source.trials) / MAX_SOURCE_TRIALS))
        rows: list[Mapping[str, Any]] = []
        losses = []
        for trial in source.trials[::stride]:
            params = map_params(trial, search_space)
            if len(params) == len(search_space):
                rows.append(params)
                losses.append(source.loss(trial))
        model = None
        targets = standardize_and_warp(np.array(losses)) if len(rows) >= 3 else None
        if targets is not None:
            xs = encoding.encode_many(rows)
            rng = np.random.default_rng(np.random.SeedSequence(
                [self.seed, zlib.crc32(source.name.encode())]))
            theta = fit_hyperparameters(xs, targets, rng,
                                        deterministic=self.deterministic_objective)
            model = condition(theta, xs, targets)
        self._bases[key] = model
        return model

    def _candidates(self, study: StudyView) -> int:
        """Return the Sobol points to screen: fewer with three objectives, whose log EHVI
        costs (front size)^2 boxes per point."""
        return self.n_candidates if study.n_objectives < 3 else max(self.n_candidates // 4, 1)

    def _model(self, x: np.ndarray, targets: np.ndarray, pending_x: np.ndarray | None,
               rng: np.random.Generator, fits: dict[Any, np.ndarray], key: Any) -> GPModel:
        """Return a GP fitted to ``targets`` (n,) at ``x`` (n, D), conditioned also on the
        pending points with the standardized mean (0) as their value (constant liar)."""
        from hyperknob.samplers.gp._gp import condition, fit_hyperparameters

        # Hyperparameters from real observations only; lies (the standardized mean, 0) only
        # condition the posterior, so they push the acquisition away without bending the fit.
        previous = fits.get(key) if len(targets) >= WARM_START_AFTER else None
        theta = fit_hyperparameters(x, targets, rng,
                                    deterministic=self.deterministic_objective,
                                    initial=previous)
        fits[key] = theta
        if pending_x is not None:
            x = np.vstack([x, pending_x])
            targets = np.concatenate([targets, np.zeros(len(pending_x))])
        return condition(theta, x, targets)

    def _region(self, encoding: Encoding, model: GPModel, center: np.ndarray,
                complete: list[FrozenTrial], losses: np.ndarray) -> Region | None:
        """Return the trust region (low, high) on the unit box around ``center`` (D,), the
        best observed point, or None while the search runs on the whole box. ``losses``
        (n,): the completed trials' values to minimize, in the order of ``complete``."""
        numeric = encoding.box.numeric
        if not self.trust_region or not len(numeric):
            return None
        from hyperknob.samplers.gp._trust_region import region_box, region_length

        order = np.argsort([t.number for t in complete], kind="stable")
        values = losses[order]
        length = region_length(values, self.n_startup_trials, len(numeric))
        if math.isinf(length):
            return None
        low, high = np.zeros(encoding.box.n_features), np.ones(encoding.box.n_features)
        low[numeric], high[numeric] = region_box(center[numeric],
                                                 model.lengthscales[numeric], length)
        return low, high

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, name, distribution)
