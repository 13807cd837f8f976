"""Gaussian-process Bayesian optimization: the GP in ``_gp``; the acquisitions in
``_acquisition`` (log EI, the prior) and ``_ehvi`` (log EHVI, log P(feasible)), chosen in
``_multi`` and maximized in ``_maximize``; the unit box in ``_encoding``; the adapter in
``_sampler``."""

from hyperknob.samplers.gp._sampler import GPSampler

__all__ = ["GPSampler"]
