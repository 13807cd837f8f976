"""Gaussian-process Bayesian optimization: the math in ``_gp`` / ``_acquisition``, the adapter
in ``_sampler``."""

from hyperknob.samplers.gp._sampler import GPSampler

__all__ = ["GPSampler"]
