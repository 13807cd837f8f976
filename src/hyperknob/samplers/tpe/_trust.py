"""How far TPE trusts the priors: by how well they rank the study's own trials.

A prior fitted to earlier studies of other data sets (``hyperknob.transfer``) may point the
wrong way. TPE's prior component already fades as good trials accumulate, but a wrong belief
still draws candidates where the data says not to look for several trials. With
``TPESampler(adaptive_priors=True)`` the prior's confidence is multiplied by a *trust* in
[0, 1] read off the finished trials, as RGPE weighs a source model by its ranking loss
([F18] in ``samplers/gp/_rgpe``):

- the prior's log density at each finished trial (over the dimensions that have a prior, the
  belief of ``samplers/_prior``) is a guess of how good the trial is;
- ``c`` = the share of pairs of trials the guess orders as the outcomes do (COMPLETE trials by
  value; a PRUNED trial is worse than every COMPLETE one; two PRUNED ones, or two guesses
  that tie, are no pair), shrunk towards 0.5 by ``PSEUDO_PAIRS`` pairs;
- trust = ``clip((c - 0.25) / 0.25, 0, 1)``: a prior that ranks no worse than chance keeps its
  full confidence, one that ranks the trials backwards loses it (trust 0: no prior at all).

Shapes: ``u`` (n, d) unit coordinates of n finished trials; ``center``, ``confidence`` (d,),
NaN where a dimension has no prior.
"""

from __future__ import annotations

import numpy as np

from hyperknob.samplers._prior import categorical_probabilities, log_gaussian, prior_sigma
from hyperknob.samplers.tpe._space import FloatArray, Space, to_unit

#: Neutral pairs (c = 0.5) added to the observed ones: a few trials cannot withdraw a prior.
PSEUDO_PAIRS = 6.0
#: Below this share of pairs ordered right, the prior gets no trust.
NO_TRUST = 0.25
#: The trust reads the latest this many finished trials: the pairs of all of them would take
#: O(n^2) memory on every suggestion (800 MB at 10,000 trials); a thousand give the share of
#: pairs ordered right to within about a percent, and say how the prior does now.
LATEST = 1000


def prior_log_density(space: Space, values: FloatArray, center: FloatArray,
                      confidence: FloatArray) -> FloatArray:
    """Return the (n,) log density of the priors at internal ``values`` (n, d)."""
    has = ~np.isnan(center)
    numerical = space.numerical
    u = to_unit(space, values)
    unit_center = to_unit(space, np.where(has, center, space.low)[None, :])[0]
    total = np.zeros(len(values))
    num = has & numerical
    if np.any(num):
        total += log_gaussian(u[:, num], unit_center[num],
                              prior_sigma(confidence[num])).sum(axis=1)
    for dim in np.flatnonzero(has & ~numerical):
        probabilities = categorical_probabilities(int(space.n_choices[dim]), int(center[dim]),
                                                  float(confidence[dim]))
        total += np.log(probabilities[values[:, dim].astype(np.int64)])
    return total


def prior_trust(space: Space, values: FloatArray, outcome: FloatArray, center: FloatArray,
                confidence: FloatArray) -> float:
    """Return the trust in [0, 1] the priors earn from finished trials at internal ``values``
    (n, d) with ``outcome`` (n,): lower is better, ``inf`` for a PRUNED trial. Rows are in
    trial order; the last :data:`LATEST` count."""
    values, outcome = values[-LATEST:], outcome[-LATEST:]
    if len(values) < 2 or not np.any(~np.isnan(center)):
        return 1.0
    guess = prior_log_density(space, values, center, confidence)
    better = outcome[:, None] < outcome[None, :]  # i did better than j
    pair = better & np.isfinite(outcome)[:, None]  # i COMPLETE (j may be PRUNED)
    pair &= guess[:, None] != guess[None, :]
    agreed = pair & (guess[:, None] > guess[None, :])
    n_pairs = float(pair.sum())
    share = (float(agreed.sum()) + 0.5 * PSEUDO_PAIRS) / (n_pairs + PSEUDO_PAIRS)
    return float(np.clip((share - NO_TRUST) / (0.5 - NO_TRUST), 0.0, 1.0))
