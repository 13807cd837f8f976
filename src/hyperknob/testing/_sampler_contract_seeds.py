"""The sampler contract, checks of seeding and of hidden state between trials and studies."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hyperknob.distributions import FloatDistribution
from hyperknob.study._functions import create_study
from hyperknob.testing._sampler_contract_base import (
    SamplerContractBase,
    _as_json,
    objective_for,
    run_suggestions,
    suggest,
)


class SamplerSeedChecks(SamplerContractBase):
    """Checks that seeds reproduce suggestions and that no hidden state changes them."""

    # -- seeds -----------------------------------------------------------------------------
    def test_same_seed_same_suggestions(self) -> None:
        """Two samplers with the same seed suggest the same values."""
        assert self._run(seed=3) == self._run(seed=3)

    def test_different_seeds_differ(self) -> None:
        """Samplers with different seeds suggest different values."""
        runs = [_as_json(self._run(seed=seed)) for seed in (0, 1, 2)]
        assert len(set(runs)) == 3

    def test_same_seed_in_fresh_process(self, tmp_path: Path) -> None:
        """A fresh Python process with the same seed suggests the same values."""
        cls = type(self)
        module_file = inspect.getsourcefile(cls)
        if module_file is None or "<locals>" in cls.__qualname__:
            pytest.skip(f"{cls.__qualname__} cannot be imported in another process")
        seed, n_trials = 11, self.n_trials
        here = _as_json(self._run(seed=seed, n_trials=n_trials))
        script = tmp_path / "fresh_process.py"
        script.write_text(textwrap.dedent(f"""
            import functools, importlib.util, sys
            spec = importlib.util.spec_from_file_location("_hk_contract_subject",
                                                          {str(module_file)!r})
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            cls = functools.reduce(getattr, {cls.__qualname__!r}.split("."), module)
            case = cls()
            from hyperknob.testing._sampler_contract import _as_json, run_suggestions
            print(_as_json(run_suggestions(case.make_sampler({seed}), case.search_space(),
                                           {n_trials})))
        """))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if isinstance(p, str) and p)
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                env=env, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == here

    def test_seed_none_works(self) -> None:
        """A sampler without seed still suggests values in the distributions."""
        space = self.search_space()
        study = create_study(sampler=self.make_sampler(None))
        study.optimize(objective_for(space), n_trials=self.n_trials)
        self._check_trials(study.trials, space)

    # -- no hidden state -------------------------------------------------------------------
    def _check_interleaving(self, n_history: int) -> None:
        space = self.search_space()
        results = []
        for round_robin in (False, True):
            study = create_study(sampler=self.make_sampler(5))
            study.optimize(objective_for(space), n_trials=n_history)
            trials = [study.ask() for _ in range(3)]
            if round_robin:  # trial 0, 1, 2 for each parameter in turn
                for name, dist in space.items():
                    for trial in trials:
                        suggest(trial, name, dist)
            else:  # every parameter of trial 0, then of trial 1, then of trial 2
                for trial in trials:
                    for name, dist in space.items():
                        suggest(trial, name, dist)
            results.append([trial.params for trial in trials])
        assert results[0] == results[1]

    def test_interleaved_trials_without_history(self) -> None:
        """Suggestions of pending trials do not depend on the order they are asked in."""
        self._check_interleaving(n_history=0)

    def test_interleaved_trials_with_history(self) -> None:
        """The same after some trials completed (samplers that learn from history)."""
        self._check_interleaving(n_history=3)

    def test_reuse_for_another_study_is_like_fresh(self) -> None:
        """A sampler used on one study behaves like a fresh one on the next study."""
        space = self.search_space()
        shifted = {  # same names, other ranges: stale state would suggest out of range
            name: (FloatDistribution(dist.low + 1000.0, dist.high + 1000.0, step=dist.step)
                   if isinstance(dist, FloatDistribution) and not dist.log
                   and self.supports_any_search_space else dist)
            for name, dist in space.items()
        }
        sampler = self.make_sampler(7)
        run_suggestions(sampler, shifted, 1)
        run_suggestions(sampler, shifted, 1)
        assert run_suggestions(sampler, space, self.n_trials) == self._run(seed=7)
