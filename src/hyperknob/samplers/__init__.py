"""Samplers: algorithms that suggest hyperparameter values from a study's history.

The model-based samplers (TPE, GP) load scipy's special functions and optimizers; they are
imported on first use so that ``import hyperknob`` and the CLI start fast (``AutoSampler``
imports them when one is built).
"""

from typing import TYPE_CHECKING, Any

from hyperknob.samplers._auto import AutoSampler
from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._grid import GridSampler
from hyperknob.samplers._qmc import QMCSampler
from hyperknob.samplers._random import RandomSampler
from hyperknob.samplers._search_space import IntersectionSearchSpace

if TYPE_CHECKING:
    from hyperknob.samplers._nsga2 import NSGAIISampler
    from hyperknob.samplers.gp import GPSampler
    from hyperknob.samplers.tpe import BOHBSampler, TPESampler

__all__ = ["AutoSampler", "BOHBSampler", "BaseSampler", "GPSampler", "GridSampler",
           "IntersectionSearchSpace", "NSGAIISampler", "QMCSampler", "RandomSampler",
           "TPESampler"]


def __getattr__(name: str) -> Any:
    if name == "TPESampler":
        from hyperknob.samplers.tpe import TPESampler

        return TPESampler
    if name == "BOHBSampler":
        from hyperknob.samplers.tpe import BOHBSampler

        return BOHBSampler
    if name == "NSGAIISampler":
        from hyperknob.samplers._nsga2 import NSGAIISampler

        return NSGAIISampler
    if name == "GPSampler":
        from hyperknob.samplers.gp import GPSampler

        return GPSampler
    raise AttributeError(f"module 'hyperknob.samplers' has no attribute {name!r}")
