"""Run the sampler contract against RandomSampler and QMCSampler (GridSampler: test_grid.py)."""

from __future__ import annotations

from hyperknob.samplers import BaseSampler, QMCSampler, RandomSampler
from hyperknob.testing import SamplerContract


class TestRandomSamplerContract(SamplerContract):
    """RandomSampler must pass every check."""

    def make_sampler(self, seed: int | None) -> BaseSampler:
        return RandomSampler(seed=seed)






class TestQMCSamplerContract(SamplerContract):
    """QMCSampler (scrambled Sobol) must pass every check."""

    def make_sampler(self, seed: int | None) -> BaseSampler:
        return QMCSampler(seed=seed)





class TestHaltonSamplerContract(TestQMCSamplerContract):
    """QMCSampler with a scrambled Halton sequence."""

    def make_sampler(self, seed: int | None) -> BaseSampler:
        return QMCSampler(qmc_type="halton", seed=seed)
