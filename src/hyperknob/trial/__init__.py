"""Trials: the live :class:`Trial` an objective receives, and the :class:`FrozenTrial` record."""

from hyperknob.trial._frozen import FrozenTrial, create_trial
from hyperknob.trial._host import TrialHost
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial

__all__ = ["FrozenTrial", "Trial", "TrialHost", "TrialState", "create_trial"]
