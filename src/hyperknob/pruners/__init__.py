"""Pruners: decide from reported intermediate values whether a trial should stop early.

Every pruner derives its decision from the study's stored trials only (no state of its own),
so it decides the same in every worker process and after a restart.
"""

from hyperknob.pruners._base import BasePruner, NopPruner
from hyperknob.pruners._halving import HyperbandPruner, SuccessiveHalvingPruner
from hyperknob.pruners._percentile import MedianPruner, PercentilePruner
from hyperknob.pruners._threshold import PatientPruner, ThresholdPruner

__all__ = ["BasePruner", "HyperbandPruner", "MedianPruner", "NopPruner", "PatientPruner",
           "PercentilePruner", "SuccessiveHalvingPruner", "ThresholdPruner"]
