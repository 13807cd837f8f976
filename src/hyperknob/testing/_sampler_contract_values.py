"""The sampler contract, checks that suggestions lie in their distributions."""

from __future__ import annotations

import decimal
from typing import Any

import pytest

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.study._functions import create_study
from hyperknob.testing._sampler_contract_base import (
    SamplerContractBase,
    check_in_distribution,
    objective_for,
)
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial


def _decimal_float(units: int, step: float) -> float:
    return float(decimal.Decimal(units) * decimal.Decimal(repr(step)))


class SamplerValueChecks(SamplerContractBase):
    """Checks that suggestions lie in their distributions, generated and conditional ones too."""

    # -- values lie in their distributions -------------------------------------------------
    def test_suggestions_lie_in_distributions(self) -> None:
        """Every suggestion of the default space lies in its distribution, with its type."""
        space = self.search_space()
        study = create_study(sampler=self.make_sampler(0))
        study.optimize(objective_for(space), n_trials=self.n_trials)
        assert len(study.trials) == self.n_trials
        self._check_trials(study.trials, space)

    def test_generated_distributions(self) -> None:
        """Suggestions lie in hypothesis-generated float, log, step, int and categorical spaces."""
        self._require_any_space()
        pytest.importorskip("hypothesis")
        import hypothesis
        from hypothesis import strategies as st

        def floats(draw: Any) -> FloatDistribution:
            kind = draw(st.sampled_from(["plain", "log", "step"]))
            if kind == "log":
                low = draw(st.floats(1e-8, 1e4))
                return FloatDistribution(low, low * draw(st.floats(1.0001, 1e6)), log=True)
            if kind == "step":
                step = draw(st.sampled_from([0.001, 0.1, 0.25, 0.5, 1.0, 3.0]))
                start = draw(st.integers(-1000, 1000))
                n = draw(st.integers(0, 40))
                return FloatDistribution(_decimal_float(start, step),
                                         _decimal_float(start + n, step), step=step)
            low = draw(st.floats(-1e6, 1e6))
            return FloatDistribution(low, low + draw(st.floats(0.0, 1e6)))

        def ints(draw: Any) -> IntDistribution:
            if draw(st.booleans()):
                low = draw(st.integers(1, 10_000))
                return IntDistribution(low, low + draw(st.integers(0, 100_000)), log=True)
            low, step = draw(st.integers(-10_000, 10_000)), draw(st.integers(1, 7))
            return IntDistribution(low, low + step * draw(st.integers(0, 50)), step=step)

        choice = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                           st.floats(-10, 10, allow_nan=False), st.text(max_size=3))
        categoricals = st.lists(choice, min_size=1, max_size=6,
                                unique_by=lambda c: (type(c).__name__, c)).map(
            lambda cs: CategoricalDistribution(tuple(cs)))

        @st.composite
        def spaces(draw: Any) -> dict[str, BaseDistribution]:
            n = draw(st.integers(1, 4))
            kinds = [draw(st.sampled_from(["float", "int", "categorical"])) for _ in range(n)]
            space: dict[str, BaseDistribution] = {}
            for i, kind in enumerate(kinds):
                if kind == "float":
                    space[f"p{i}"] = floats(draw)
                elif kind == "int":
                    space[f"p{i}"] = ints(draw)
                else:
                    space[f"p{i}"] = draw(categoricals)
            return space

        @hypothesis.settings(max_examples=self.max_examples, deadline=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(space=spaces(), seed=st.integers(0, 2**32))
        def check(space: dict[str, BaseDistribution], seed: int) -> None:
            study = create_study(sampler=self.make_sampler(seed))
            study.optimize(objective_for(space), n_trials=4)
            self._check_trials(study.trials, space)

        check()

    def test_single_value_distributions(self) -> None:
        """Distributions with one value (``low == high``) always give that value."""
        self._require_any_space()
        space: dict[str, BaseDistribution] = {
            "float": FloatDistribution(0.1, 0.1),
            "float_log": FloatDistribution(1e-5, 1e-5, log=True),
            "float_step": FloatDistribution(0.3, 0.3, step=0.1),
            "int": IntDistribution(3, 3),
            "int_log": IntDistribution(7, 7, log=True),
            "categorical": CategoricalDistribution(("only",)),
        }
        study = create_study(sampler=self.make_sampler(0))
        study.optimize(objective_for(space), n_trials=3)
        self._check_trials(study.trials, space)
        for trial in study.trials:
            assert trial.params == {"float": 0.1, "float_log": 1e-5, "float_step": 0.3,
                                    "int": 3, "int_log": 7, "categorical": "only"}

    def test_conditional_search_space(self) -> None:
        """Parameters suggested only on some branches (define-by-run) are handled."""
        self._require_any_space()
        kinds = CategoricalDistribution(("linear", "tree", "none"))
        lr = FloatDistribution(1e-4, 1e-1, log=True)
        depth = IntDistribution(1, 8)
        leaf = CategoricalDistribution((1, 2, 4))

        def objective(trial: Trial) -> float:
            kind = trial.suggest_categorical("kind", kinds.choices)
            if kind == "linear":
                return trial.suggest_float("lr", lr.low, lr.high, log=True)
            if kind == "tree":
                d = trial.suggest_int("depth", depth.low, depth.high)
                if d > 4:
                    return d * float(trial.suggest_categorical("leaf", leaf.choices) or 0)
                return float(d)
            return 0.0

        study = create_study(sampler=self.make_sampler(0))
        study.optimize(objective, n_trials=3 * self.n_trials)
        expected_names = {"linear": {"kind", "lr"}, "none": {"kind"}}
        seen = set()
        for trial in study.trials:
            assert trial.state is TrialState.COMPLETE, trial.system_attrs.get("fail_reason")
            kind = trial.params["kind"]
            seen.add(kind)
            if kind == "tree":
                names = {"kind", "depth"} | ({"leaf"} if trial.params["depth"] > 4 else set())
            else:
                names = expected_names[kind]
            assert set(trial.params) == names, trial.params
            for name, dist in (("kind", kinds), ("lr", lr), ("depth", depth), ("leaf", leaf)):
                if name in trial.params:
                    check_in_distribution(name, trial.params[name], dist)
        assert len(seen) >= 2, f"only the branch(es) {seen} were ever taken"
