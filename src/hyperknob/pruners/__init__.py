"""Pruners: decide from reported intermediate values whether a trial should stop early."""

from hyperknob.pruners._base import BasePruner, NopPruner

__all__ = ["BasePruner", "NopPruner"]
