"""Contract test suites that every storage, sampler, pruner and executor must pass.

Subclass a suite in a pytest module and implement its factory hook; pytest collects the
subclass (name it ``Test...``) and runs every check against your implementation::

    from hyperknob.samplers import RandomSampler
    from hyperknob.testing import SamplerContract

    class TestMySampler(SamplerContract):
        def make_sampler(self, seed):
            return RandomSampler(seed=seed)

The suites need pytest (and hypothesis for a few sampler checks); they are imported on first
use, so ``import hyperknob.testing`` alone does not require either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperknob.testing._executor_contract import ExecutorContract
    from hyperknob.testing._pruner_contract import PrunerContract
    from hyperknob.testing._sampler_contract import SamplerContract
    from hyperknob.testing._storage_contract import StorageContract

__all__ = ["ExecutorContract", "PrunerContract", "SamplerContract", "StorageContract"]

#: The modules the suites are made of; pytest rewrites their asserts.
_SUITE_MODULES = (
    "hyperknob.testing._executor_contract",
    "hyperknob.testing._storage_contract",
    "hyperknob.testing._storage_contract_base",
    "hyperknob.testing._storage_contract_studies",
    "hyperknob.testing._storage_contract_trials",
    "hyperknob.testing._storage_contract_sharing",
    "hyperknob.testing._sampler_contract",
    "hyperknob.testing._sampler_contract_base",
    "hyperknob.testing._sampler_contract_values",
    "hyperknob.testing._sampler_contract_seeds",
    "hyperknob.testing._sampler_contract_storage",
    "hyperknob.testing._pruner_contract",
)


def _rewrite_asserts() -> None:
    """Let pytest explain failed asserts of the suites, as it does for test modules."""
    import pytest

    pytest.register_assert_rewrite(*_SUITE_MODULES)


def __getattr__(name: str) -> Any:
    if name in __all__:
        _rewrite_asserts()
    if name == "ExecutorContract":
        from hyperknob.testing._executor_contract import ExecutorContract

        return ExecutorContract
    if name == "StorageContract":
        from hyperknob.testing._storage_contract import StorageContract

        return StorageContract
    if name == "SamplerContract":
        from hyperknob.testing._sampler_contract import SamplerContract

        return SamplerContract
    if name == "PrunerContract":
        from hyperknob.testing._pruner_contract import PrunerContract

        return PrunerContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
