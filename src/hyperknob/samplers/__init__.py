"""Samplers: algorithms that suggest hyperparameter values from a study's history."""

from hyperknob.samplers._base import BaseSampler
from hyperknob.samplers._grid import GridSampler
from hyperknob.samplers._qmc import QMCSampler
from hyperknob.samplers._random import RandomSampler
from hyperknob.samplers._search_space import IntersectionSearchSpace
from hyperknob.samplers.gp import GPSampler
from hyperknob.samplers.tpe import TPESampler

__all__ = ["BaseSampler", "GPSampler", "GridSampler", "IntersectionSearchSpace", "QMCSampler",
           "RandomSampler", "TPESampler"]
