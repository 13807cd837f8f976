"""The Pareto front of a study with several objectives: its data, and its figure.

``pareto_data`` reads the COMPLETE trials and marks which are on the front (no other
feasible trial is at least as good in every objective and better in one) and which break
their constraints; ``plot_pareto_front`` draws two objectives as a scatter with the front as
a staircase, three as a 3-D scatter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob._losses import signed_losses
from hyperknob._pareto import nondominated_mask
from hyperknob.samplers._constraints import is_feasible
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.viz._data import _Record

if TYPE_CHECKING:
    from hyperknob.study import Study

Targets = Callable[[FrozenTrial], Sequence[float]]


@dataclasses.dataclass(frozen=True)
class ParetoData(_Record):
    """The COMPLETE trials of a study in objective space.

    Attributes:
        names: One name per objective shown.
        directions: ``"minimize"`` / ``"maximize"`` per objective shown.
        numbers: Trial numbers.
        values: One list of values per trial (one per objective).
        on_front: Whether each trial is on the Pareto front.
        feasible: Whether each trial meets its stored constraints.
    """

    names: list[str]
    directions: list[str]
    numbers: list[int]
    values: list[list[float]]
    on_front: list[bool]
    feasible: list[bool]

    def front(self) -> list[int]:
        """Return the numbers of the trials on the front."""
        return [n for n, keep in zip(self.numbers, self.on_front, strict=True) if keep]


def pareto_data(study: Study, *, targets: Targets | None = None,
                target_names: Sequence[str] | None = None,
                target_directions: Sequence[str] | None = None) -> ParetoData:
    """Return the Pareto front data of ``study``.

    ``targets``: ``trial -> values`` to show instead of the trial's values (e.g. two of three
    objectives), with ``target_directions`` (``"minimize"`` / ``"maximize"`` each; default:
    the study's, when there are as many); ``target_names`` names them (default: the study's
    metric names, else ``Objective 0``, ``Objective 1``, ...). The front is computed over
    the values shown.
    """
    from hyperknob._direction import StudyDirection

    directions = list(study.directions)
    complete = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
                if t.values is not None]
    if targets is None:
        values = [list(t.values or ()) for t in complete]
    else:
        values = [[float(v) for v in targets(t)] for t in complete]
    width = len(values[0]) if values else len(directions)
    if target_directions is not None:
        directions = [StudyDirection.parse(d) for d in target_directions]
    if len(directions) != width:
        raise ValueError(f"the values shown have {width} objectives and the directions "
                         f"{len(directions)}: give target_directions")
    names = list(target_names or (study.metric_names if targets is None else None)
                 or [f"Objective {k}" for k in range(width)])
    if any(len(row) != len(names) for row in values):
        raise ValueError(f"every trial needs {len(names)} values for {names}")
    feasible = [is_feasible(t) for t in complete]
    on_front = [False] * len(complete)
    rows = [i for i, ok in enumerate(feasible) if ok]
    if rows:
        shown = [complete[i].replace(values=tuple(values[i])) for i in rows]
        mask = nondominated_mask(signed_losses(shown, directions))
        for i, keep in zip(rows, mask, strict=True):
            on_front[i] = bool(keep)
    return ParetoData(names=names, directions=[d.name.lower() for d in directions],
                      numbers=[t.number for t in complete], values=values,
                      on_front=on_front, feasible=feasible)


def _staircase(points: np.ndarray, directions: Sequence[str]) -> tuple[list[float], ...]:
    """Return x, y of the front's staircase (points (k, 2) on the front)."""
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    order = np.lexsort((points[:, 1] * signs[1], points[:, 0] * signs[0]))
    x: list[float] = []
    y: list[float] = []
    for a, b in points[order]:
        if x:
            x.append(float(a))
            y.append(y[-1])
        x.append(float(a))
        y.append(float(b))
    return x, y


def plot_pareto_front(study: Study, *, targets: Targets | None = None,
                      target_names: Sequence[str] | None = None,
                      target_directions: Sequence[str] | None = None,
                      include_dominated_trials: bool = True) -> Any:
    """Draw the COMPLETE trials in objective space, the Pareto front highlighted (two
    objectives: with its staircase; three: a 3-D scatter). Trials that break their
    constraints are drawn as crosses. Needs plotly (the ``viz`` extra).

    Example:
        >>> fig = plot_pareto_front(study, target_names=["accuracy", "params"])  # doctest: +SKIP
    """
    import plotly.graph_objects as go

    data = pareto_data(study, targets=targets, target_names=target_names,
                       target_directions=target_directions)
    m = len(data.names)
    if m not in (2, 3):
        raise ValueError(f"plot_pareto_front draws 2 or 3 objectives, the study shows {m}: "
                         "pass targets=lambda t: (t.values[i], t.values[j])")
    fig = go.Figure()
    if not data.numbers:
        fig.update_layout(title="Pareto front: no COMPLETE trial yet")
        return fig
    values = np.array(data.values, dtype=float)
    groups = [("Pareto front", np.array(data.on_front), "#d62728", "circle"),
              ("dominated", ~np.array(data.on_front) & np.array(data.feasible), "#9aa5b1",
               "circle"),
              ("infeasible", ~np.array(data.feasible), "#bbbbbb", "x")]
    numbers = np.array(data.numbers)
    for label, mask, color, symbol in groups:
        if not mask.any() or (label != "Pareto front" and not include_dominated_trials):
            continue
        text = [f"trial #{n}" for n in numbers[mask]]
        marker = {"color": color, "symbol": symbol, "size": 8 if label == "Pareto front" else 6}
        if m == 2:
            fig.add_trace(go.Scatter(x=values[mask, 0], y=values[mask, 1], mode="markers",
                                     name=label, text=text, marker=marker))
        else:
            fig.add_trace(go.Scatter3d(x=values[mask, 0], y=values[mask, 1], z=values[mask, 2],
                                       mode="markers", name=label, text=text,
                                       marker={**marker, "size": 4}))
    front = values[np.array(data.on_front)]
    if m == 2 and len(front) > 1:
        x, y = _staircase(front, data.directions)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="front",
                                 line={"color": "#d62728", "width": 1}, hoverinfo="skip"))
    axes = [f"{name} ({direction})" for name, direction in zip(data.names, data.directions,
                                                               strict=True)]
    if m == 2:
        fig.update_layout(xaxis_title=axes[0], yaxis_title=axes[1])
    else:
        fig.update_layout(scene={"xaxis_title": axes[0], "yaxis_title": axes[1],
                                 "zaxis_title": axes[2]})
    fig.update_layout(title=f"Pareto front ({int(sum(data.on_front))} of "
                            f"{len(data.numbers)} COMPLETE trials)")
    return fig
