"""Tree-structured Parzen Estimator: the sampler and its pure-numpy Parzen estimators."""

from hyperknob.samplers.tpe._bohb import BOHBSampler
from hyperknob.samplers.tpe._sampler import TPESampler, default_gamma

__all__ = ["BOHBSampler", "TPESampler", "default_gamma"]
