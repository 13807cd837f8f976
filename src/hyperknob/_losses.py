"""Objective values as losses: every objective turned into one to minimize."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hyperknob._direction import StudyDirection
from hyperknob.trial._frozen import FrozenTrial


def signs(directions: Sequence[StudyDirection]) -> np.ndarray:
    """Return (m,) +1 for each minimized objective, -1 for each maximized one."""
    return np.array([1.0 if d is StudyDirection.MINIMIZE else -1.0 for d in directions])


def signed_losses(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]
                  ) -> np.ndarray:
    """Return the (n, m) values of ``trials`` (each must have m values), negated where the
    objective is maximized, so that lower is better in every column."""
    m = len(directions)
    if not trials:
        return np.empty((0, m))
    values: np.ndarray = np.array([t.values for t in trials], dtype=float)
    if values.ndim != 2 or values.shape[1] != m:
        raise ValueError(f"every trial needs {m} values, got values of shape {values.shape}")
    losses: np.ndarray = values * signs(directions)
    return losses


def objective_trials(trials: Sequence[FrozenTrial], objective: int) -> list[FrozenTrial]:
    """Return ``trials`` with every value but objective ``objective``'s dropped: a study with
    several objectives seen as a one-objective study of that one (for the plots and analyses
    made for one value)."""
    return [t if t.values is None else t.replace(values=(t.values[objective],))
            for t in trials]
