"""The sampler contract: tests that every :class:`~hyperknob.samplers.BaseSampler` must pass.

Subclass :class:`SamplerContract` in a test module and implement :meth:`make_sampler`. Samplers
that only handle some spaces (a grid) override :meth:`search_space` with a space they handle and
set ``supports_any_search_space = False``, which skips the checks over arbitrary spaces.

Example:
    >>> from hyperknob.samplers import RandomSampler
    >>> class TestRandom(SamplerContract):
    ...     def make_sampler(self, seed):
    ...         return RandomSampler(seed=seed)
"""

from hyperknob.testing._sampler_contract_base import _as_json, objective_for, run_suggestions
from hyperknob.testing._sampler_contract_objectives import SamplerObjectiveChecks
from hyperknob.testing._sampler_contract_seeds import SamplerSeedChecks
from hyperknob.testing._sampler_contract_storage import SamplerStorageChecks
from hyperknob.testing._sampler_contract_values import SamplerValueChecks

# Re-exported: tests and the fresh-process check import these from this module.
__all__ = ["SamplerContract", "_as_json", "objective_for", "run_suggestions"]


# pytest runs inherited tests in reverse MRO order, so the mixins are listed last-first:
# the tests run values, then seeds, then storage, then objectives, as they are defined.
class SamplerContract(SamplerObjectiveChecks, SamplerStorageChecks, SamplerSeedChecks,
                      SamplerValueChecks):
    """Pytest test class: the guarantees of :class:`~hyperknob.samplers.BaseSampler`.

    Subclasses implement :meth:`make_sampler`. Every test builds its own studies (in memory
    unless it says otherwise) from :meth:`search_space` with :func:`objective_for`.
    """
