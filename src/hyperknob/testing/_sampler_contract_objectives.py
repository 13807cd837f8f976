"""The sampler contract, checks of studies with several objectives and of constraints."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from hyperknob.distributions import BaseDistribution
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._constraints import CONSTRAINTS_KEY, is_feasible
from hyperknob.study._functions import create_study
from hyperknob.testing._sampler_contract_base import SamplerContractBase, suggest, suggestions
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial

ConstraintsFunc = Callable[[FrozenTrial], Sequence[float]]


def objectives_for(space: Mapping[str, BaseDistribution]) -> Callable[[Trial], tuple[float, ...]]:
    """Return a two-objective function of ``space``: the sum of the internal values, and its
    distance to 1 (in conflict over most of the space)."""

    def objective(trial: Trial) -> tuple[float, float]:
        total = 0.0
        for name, distribution in space.items():
            total += distribution.to_internal(suggest(trial, name, distribution))
        return total, abs(total - 1.0) + 0.5 * math.sin(total)

    return objective


def first_param_constraint(trial: FrozenTrial) -> tuple[float, float]:
    """Feasible where the sum of the trial's internal values is at most its median-ish 1.0."""
    total = sum(d.to_internal(trial.params[n]) for n, d in trial.distributions.items())
    return total - 1.0, -1.0


class SamplerObjectiveChecks(SamplerContractBase):
    """Checks over multi-objective studies and ``constraints_func``.

    Samplers that cannot take several objectives set ``supports_multi_objective = False``;
    those that take a ``constraints_func`` implement :meth:`make_constrained_sampler`.
    """

    #: Whether the sampler works in studies with several objectives.
    supports_multi_objective: bool = True
    #: Trials per multi-objective study: past the model-based samplers' start-up.
    n_multi_objective_trials: int = 14

    def make_constrained_sampler(self, seed: int | None,
                                 constraints_func: ConstraintsFunc) -> BaseSampler | None:
        """Return a sampler with this ``constraints_func``, or None if it takes none."""
        return None

    def _require_multi_objective(self) -> None:
        if not self.supports_multi_objective:
            pytest.skip(f"{type(self).__name__} takes one objective only")

    def _run_multi(self, sampler: BaseSampler, n_trials: int | None = None) -> list[FrozenTrial]:
        study = create_study(directions=["minimize", "maximize"], sampler=sampler)
        study.optimize(objectives_for(self.search_space()),
                       n_trials=n_trials or self.n_multi_objective_trials)
        return study.trials

    def test_multi_objective_suggestions_lie_in_distributions(self) -> None:
        """In a two-objective study every trial completes with values inside its space."""
        self._require_multi_objective()
        trials = self._run_multi(self.make_sampler(0))
        self._check_trials(trials, self.search_space())
        assert all(t.values is not None and len(t.values) == 2 for t in trials)

    def test_multi_objective_same_seed_same_suggestions(self) -> None:
        """The same seed suggests the same values in a two-objective study."""
        self._require_multi_objective()
        first = suggestions(self._run_multi(self.make_sampler(5)))
        assert first == suggestions(self._run_multi(self.make_sampler(5)))

    def test_constraint_values_are_stored_with_each_finished_trial(self) -> None:
        """A ``constraints_func`` is evaluated once per finished trial and its values are
        stored with it; ``best_trial`` is feasible."""
        calls: list[int] = []

        def constraints(trial: FrozenTrial) -> tuple[float, float]:
            calls.append(trial.number)
            assert trial.state is TrialState.COMPLETE and trial.values is not None
            return first_param_constraint(trial)

        sampler = self.make_constrained_sampler(0, constraints)
        if sampler is None:
            pytest.skip(f"{type(self).__name__} takes no constraints_func")
        from hyperknob.testing._sampler_contract_base import objective_for

        study = create_study(sampler=sampler)
        study.optimize(objective_for(self.search_space()), n_trials=self.n_trials)
        trials = study.trials
        assert calls == [t.number for t in trials]
        for trial in trials:
            assert list(trial.system_attrs[CONSTRAINTS_KEY]) == list(
                first_param_constraint(trial))
        if any(is_feasible(t) for t in trials):
            assert is_feasible(study.best_trial)
        else:
            with pytest.raises(ValueError, match="constraints"):
                _ = study.best_trial

    @pytest.mark.parametrize("returned", [float("nan"), "a", None, ()])
    def test_bad_constraint_values_fail_the_trial(self, returned: Any) -> None:
        """A ``constraints_func`` returning no numbers (or NaN) fails its trial with an
        error naming the value; the trials before it are kept."""
        def constraints(trial: FrozenTrial) -> Any:
            return [returned] if trial.number == 2 and isinstance(returned, float) else (
                returned if trial.number == 2 else [0.0])

        sampler = self.make_constrained_sampler(0, constraints)
        if sampler is None:
            pytest.skip(f"{type(self).__name__} takes no constraints_func")
        from hyperknob.testing._sampler_contract_base import objective_for

        study = create_study(sampler=sampler)
        with pytest.raises(ValueError, match="constraints_func must return"):
            study.optimize(objective_for(self.search_space()), n_trials=4)
        states = [t.state for t in study.trials]
        assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]
        assert "constraints_func must return" in study.trials[2].system_attrs["fail_reason"]
