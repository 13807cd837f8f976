"""AutoSampler: the default of ``create_study()`` — GP while it pays, TPE after and elsewhere.

The choice is made per trial from what is stored, so every worker and a restarted study make
the same one. Why these rules: BENCHMARKS.md, "Optimization quality" (the GP scores highest
at 16 and 64 trials on the synthetic, bayesmark-MLP and torch-MLP suites; its cost per trial
grows with the history while TPE's barely does; it models only the parameters every trial
shares, so a space made mostly of conditional parameters is left to TPE).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int
from hyperknob.distributions import BaseDistribution
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._constraints import (
    ConstraintsFunc,
    check_constraints_func,
)
from hyperknob.samplers._rng import check_seed
from hyperknob.samplers._search_space import IntersectionSearchSpace
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView
    from hyperknob.transfer import Source

#: Choices remembered (trial id -> sampler name), oldest dropped first: enough for every
#: trial a study can have running at once.
_REMEMBERED = 4096


class AutoSampler(BaseSampler):
    """Gaussian-process BO for the first ``gp_trials`` trials, TPE from then on.

    A trial numbered below ``gp_trials`` uses :class:`~hyperknob.samplers.GPSampler`, unless
    more than ``gp_parallel`` trials are running when it starts (the GP conditions on each
    running trial as a constant lie: with hundreds, as a batch of ``nn.optimize_batched``
    asks, every suggestion would refit a large GP), or fewer than half of the parameters the
    completed trials used are shared by all of them (a mostly conditional, define-by-run
    space: the GP would model only the shared ones and draw the rest at random). Every other
    trial uses
    :class:`~hyperknob.samplers.TPESampler`, which models conditional parameters and whose
    cost per trial stays in milliseconds at thousands of trials. Both run with their
    defaults and ``seed``; TPE picks up the whole history the GP built. Parallel workers:
    both treat running trials as constant lies.

    Args:
        seed: Seed of both samplers.
        gp_trials: Trials (by number) that may use the GP. The default, 200, keeps the GP's
            cost per trial near 0.05 s (BENCHMARKS.md, "Overhead"); 0 makes this TPE.
        gp_parallel: The most running trials (this one included) with which a trial may
            still use the GP.
        constraints_func: ``trial -> sequence of floats``, feasible when all are <= 0, given
            to both samplers (see theirs); its values are stored with each finished trial.
        transfer: Earlier studies (:class:`hyperknob.transfer.Source`) for the GP's
            ranking-weighted ensemble (see :class:`~hyperknob.samplers.GPSampler`).

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(sampler=AutoSampler(seed=0))
    """

    def __init__(
        self, *, seed: int | None = None, gp_trials: int = 200, gp_parallel: int = 16,
        constraints_func: ConstraintsFunc | None = None,
        transfer: Sequence[Source] = (),
    ) -> None:
        from hyperknob.samplers.gp import GPSampler
        from hyperknob.samplers.tpe import TPESampler

        for name, value, least in (("gp_trials", gp_trials, 0), ("gp_parallel", gp_parallel, 1)):
            check_int(name, value, least=least)
        self.seed = check_seed(seed)
        self.gp_trials = gp_trials
        self.gp_parallel = gp_parallel
        self.constraints_func = check_constraints_func(constraints_func)
        self._samplers: dict[str, BaseSampler] = {
            "gp": GPSampler(seed=self.seed, constraints_func=self.constraints_func,
                            transfer=transfer),
            "tpe": TPESampler(seed=self.seed, constraints_func=self.constraints_func)}
        self._choices: collections.OrderedDict[int, str] = collections.OrderedDict()

    def choice(self, study: StudyView, trial: FrozenTrial) -> str:
        """Return ``"gp"`` or ``"tpe"``: the sampler of ``trial`` (fixed at its first call)."""
        known = self._choices.get(trial.trial_id)
        if known is not None:
            return known
        use_tpe = (trial.number >= self.gp_trials
                   or study.count_trials((TrialState.RUNNING,)) > self.gp_parallel
                   or _mostly_conditional(study))
        name = "tpe" if use_tpe else "gp"
        self._choices[trial.trial_id] = name
        while len(self._choices) > _REMEMBERED:
            self._choices.popitem(last=False)
        return name

    def finish_attrs(self, study: StudyView, trial: FrozenTrial) -> Mapping[str, Any]:
        # The sampler that chose the trial's values says what to keep (constraint values,
        # the GP's transfer weights); one that never sampled it keeps the constraints alone.
        known = self._choices.get(trial.trial_id)
        if known is None:
            return super().finish_attrs(study, trial)
        return self._samplers[known].finish_attrs(study, trial)

    def infer_relative_search_space(
        self, study: StudyView, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        sampler = self._samplers[self.choice(study, trial)]
        return sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: StudyView, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        sampler = self._samplers[self.choice(study, trial)]
        return sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: StudyView, trial: FrozenTrial, name: str, distribution: BaseDistribution
    ) -> Any:
        sampler = self._samplers[self.choice(study, trial)]
        return sampler.sample_independent(study, trial, name, distribution)


def _mostly_conditional(study: StudyView) -> bool:
    """Return True when the parameters all completed trials share are fewer than half of
    those any of them used (never before a trial has completed)."""
    complete = study.get_trials((TrialState.COMPLETE,))
    if not complete:
        return False
    used = {name for trial in complete for name in trial.params}
    shared = IntersectionSearchSpace().calculate(complete)
    return 2 * len(shared) < len(used)
