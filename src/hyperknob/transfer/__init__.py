"""Learning from earlier studies: a new data set tuned faster with what others taught.

- :class:`Source` / :func:`load_sources`: what an earlier study offers (its trials, best
  first); parameters move between spaces by their position in the range.
- :func:`queued_configurations`: the sources' best configurations, as far as they beat their
  own study's rules of thumb, to try first.
- :func:`fitted_priors`: a belief per parameter fitted to where the sources' optima lay, for
  the distributions' ``prior`` (TPE and the GP weigh it against the data;
  ``TPESampler(adaptive_priors=True)`` by how well it ranks the new study's trials).
- ``GPSampler(transfer=sources)``: a ranking-weighted ensemble of the sources' GPs and the
  study's own (RGPE), each weighted by how well it orders the new study's trials.

Example:
    >>> import hyperknob
    >>> from hyperknob import transfer
    >>> sources = transfer.load_sources(["wine-mlp"], "sqlite:///hk.db")  # doctest: +SKIP
    >>> sampler = hyperknob.samplers.GPSampler(transfer=sources)  # doctest: +SKIP
"""

from hyperknob.transfer._sources import Source, load_sources, map_params, map_value
from hyperknob.transfer._warm import FittedPrior, Queued, fitted_priors, queued_configurations

__all__ = ["FittedPrior", "Queued", "Source", "fitted_priors", "load_sources", "map_params",
           "map_value", "queued_configurations"]
