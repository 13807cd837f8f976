"""Constraints: ``constraints_func(trial) -> values``, feasible when every value is <= 0.

A sampler given a ``constraints_func`` evaluates it as its study finishes a trial (COMPLETE or
PRUNED) and the study stores the values with the trial (``system_attrs["constraints"]``), so
every worker, a restart and ``Study.best_trial`` read the same answer. The models read them
back from the stored trials: feasible trials are preferred, infeasible ones tell how far off
they were (their total violation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hyperknob.trial._frozen import FrozenTrial

#: The system attribute that holds a trial's constraint values.
CONSTRAINTS_KEY = "constraints"

ConstraintsFunc = Callable[[FrozenTrial], Sequence[float]]


def check_constraints_func(func: Any) -> ConstraintsFunc | None:
    """Return ``func`` if it is None or callable, else raise naming it."""
    if func is not None and not callable(func):
        raise TypeError(f"constraints_func must be a callable trial -> sequence of floats or "
                        f"None, got constraints_func={func!r}")
    return func  # type: ignore[no-any-return]


def evaluate_constraints(func: ConstraintsFunc, trial: FrozenTrial) -> dict[str, Any]:
    """Return the system attributes that record ``func(trial)``; raise ``ValueError`` naming
    the value when it is not a non-empty sequence of numbers (NaN is refused: it would be
    neither feasible nor infeasible)."""
    returned = func(trial)
    try:
        if isinstance(returned, (str, bytes)):
            raise TypeError("a string")
        values = [float(v) for v in returned]
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"constraints_func must return a sequence of floats (<= 0: satisfied), got "
            f"{returned!r} for trial {trial.number}") from error
    if not values or any(math.isnan(v) for v in values):
        raise ValueError(
            f"constraints_func must return a non-empty sequence of numbers, none NaN "
            f"(<= 0: satisfied), got {returned!r} for trial {trial.number}")
    return {CONSTRAINTS_KEY: values}


def constraint_values(trial: FrozenTrial) -> tuple[float, ...] | None:
    """Return the stored constraint values of ``trial`` (None: none were evaluated)."""
    stored = trial.system_attrs.get(CONSTRAINTS_KEY)
    if stored is None:
        return None
    return tuple(float(v) for v in stored)


def violation(trial: FrozenTrial) -> float:
    """Return the total violation of ``trial``: the sum of its positive constraint values
    (0: feasible, or no constraints stored)."""
    values = constraint_values(trial)
    return 0.0 if values is None else float(sum(max(v, 0.0) for v in values))


def is_feasible(trial: FrozenTrial) -> bool:
    """Return whether ``trial`` meets its stored constraints (a trial without any does)."""
    return violation(trial) == 0.0


def violations(trials: Iterable[FrozenTrial]) -> np.ndarray:
    """Return the (n,) total violations of ``trials``."""
    return np.array([violation(t) for t in trials], dtype=float)


def constraint_matrix(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Return the (n, c) constraint values of ``trials``; a trial without any (or with fewer
    than the most any has) counts as satisfying the missing ones (0)."""
    rows = [constraint_values(t) or () for t in trials]
    width = max((len(r) for r in rows), default=0)
    out = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def has_constraints(trials: Iterable[FrozenTrial]) -> bool:
    """Return whether any of ``trials`` has stored constraint values."""
    return any(CONSTRAINTS_KEY in t.system_attrs for t in trials)


def finish_attrs_for(func: ConstraintsFunc | None, trial: FrozenTrial) -> Mapping[str, Any]:
    """Return what a sampler with ``func`` stores with a finishing ``trial`` (nothing without
    a function)."""
    return {} if func is None else evaluate_constraints(func, trial)
