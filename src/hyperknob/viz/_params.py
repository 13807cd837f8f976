"""Plot data over parameters: parallel coordinates, slices and contours. No plotly here.

A parameter becomes a number on its axis: a float or int parameter its own value (``log``
flags axes to draw on a log scale), a categorical one the index of its choice, with the choices
as tick labels. A trial whose value of a parameter has another kind of distribution than the
parameter's most common one (another type, scale or set of choices) counts as not having it,
as does a trial that never suggested it (a conditional parameter).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from hyperknob._direction import StudyDirection
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.viz._data import (
    StudyOrTrials,
    _Record,
    complete_trials,
    direction_of,
    finite_value,
    trials_of,
)


@dataclasses.dataclass(frozen=True)
class ParamAxis(_Record):
    """How one parameter is drawn.

    Attributes:
        name: The parameter's name.
        kind: ``"float"``, ``"int"`` or ``"categorical"``.
        log: Whether to draw the axis on a log scale.
        low, high: The axis range on the encoded scale: the distribution's bounds widened to
            every value seen; ``0`` and ``len(labels) - 1`` for a categorical parameter.
        labels: Tick labels of a categorical parameter, one per choice index; else empty.
    """

    name: str
    kind: str
    log: bool
    low: float
    high: float
    labels: list[str]


def _compatible(a: BaseDistribution, b: BaseDistribution) -> bool:
    if isinstance(a, CategoricalDistribution) or isinstance(b, CategoricalDistribution):
        return a == b
    return type(a) is type(b) and getattr(a, "log", False) == getattr(b, "log", False)


def _encode(dist: BaseDistribution, value: object) -> float | None:
    try:
        number = dist.to_internal(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _axes_and_columns(
    complete: Sequence[FrozenTrial], params: Sequence[str] | None
) -> tuple[list[ParamAxis], list[list[float | None]]]:
    """Return each parameter's axis and its encoded value in every trial (None: not set)."""
    counts: dict[str, Counter[BaseDistribution]] = {}
    for trial in complete:
        for name, dist in trial.distributions.items():
            counts.setdefault(name, Counter())[dist] += 1
    if params is None:
        names = sorted(counts)
    else:
        if isinstance(params, str):
            raise TypeError(f"params must be a sequence of names, got {params!r}")
        names = list(params)
        unknown = [n for n in names if n not in counts]
        if unknown and complete:
            raise ValueError(f"no COMPLETE trial has parameter(s) {unknown}; "
                             f"known: {sorted(counts)}")
        names = [n for n in names if n in counts]
    axes: list[ParamAxis] = []
    columns: list[list[float | None]] = []
    for name in names:
        dist = counts[name].most_common(1)[0][0]
        column: list[float | None] = []
        for trial in complete:
            own = trial.distributions.get(name)
            ok = own is not None and _compatible(own, dist) and name in trial.params
            column.append(_encode(dist, trial.params[name]) if ok else None)
        seen = [v for v in column if v is not None]
        if isinstance(dist, CategoricalDistribution):
            axes.append(ParamAxis(name, "categorical", False, 0.0,
                                  float(len(dist.choices) - 1), [str(c) for c in dist.choices]))
        else:
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            kind = "float" if isinstance(dist, FloatDistribution) else "int"
            axes.append(ParamAxis(name, kind, dist.log, float(min([dist.low, *seen])),
                                  float(max([dist.high, *seen])), []))
        columns.append(column)
    return axes, columns


# -- parallel coordinates ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ParallelData(_Record):
    """One row per COMPLETE trial: its parameters encoded to numbers, and its value.

    Attributes:
        numbers, values: The COMPLETE trials and their values, by number.
        axes: One :class:`ParamAxis` per parameter.
        encoded: ``encoded[j][i]``: trial ``i``'s value of parameter ``axes[j]`` on its axis
            (the choice index for a categorical one), None where the trial does not have it.
        direction: ``"minimize"`` or ``"maximize"``.
    """

    numbers: list[int]
    values: list[float]
    axes: list[ParamAxis]
    encoded: list[list[float | None]]
    direction: str


def parallel_data(
    source: StudyOrTrials,
    params: Sequence[str] | None = None,
    direction: str | StudyDirection | None = None,
) -> ParallelData:
    """Return the COMPLETE trials as rows of encoded parameters (default: every parameter)."""
    complete = complete_trials(trials_of(source))
    axes, columns = _axes_and_columns(complete, params)
    return ParallelData(
        numbers=[t.number for t in complete],
        values=[float(t.value) for t in complete],  # type: ignore[arg-type]
        axes=axes, encoded=columns, direction=direction_of(source, direction).name.lower())


# -- slices --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SliceParam(_Record):
    """The value of every COMPLETE trial that has one parameter, against that parameter.

    Attributes:
        axis: How the parameter is drawn.
        x: The parameter's encoded value in each trial.
        values, numbers: Those trials' values and numbers.
    """

    axis: ParamAxis
    x: list[float]
    values: list[float]
    numbers: list[int]


@dataclasses.dataclass(frozen=True)
class SliceData(_Record):
    """One :class:`SliceParam` per parameter, and how many COMPLETE trials there are."""

    params: list[SliceParam]
    n_complete: int
    direction: str


def slice_data(
    source: StudyOrTrials,
    params: Sequence[str] | None = None,
    direction: str | StudyDirection | None = None,
) -> SliceData:
    """Return, per parameter, the (value of the parameter, objective value, number) points."""
    complete = complete_trials(trials_of(source))
    axes, columns = _axes_and_columns(complete, params)
    slices = []
    for axis, column in zip(axes, columns, strict=True):
        rows = [(x, t) for x, t in zip(column, complete, strict=True) if x is not None]
        slices.append(SliceParam(
            axis=axis, x=[x for x, _ in rows],
            values=[float(t.value) for _, t in rows],  # type: ignore[arg-type]
            numbers=[t.number for _, t in rows]))
    return SliceData(params=slices, n_complete=len(complete),
                     direction=direction_of(source, direction).name.lower())


# -- contour -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ContourData(_Record):
    """The trials over two parameters and an interpolated grid of values.

    The grid spans the range of the points on numeric axes (every choice on categorical ones)
    and is interpolated by inverse-distance weighting over the ``k`` nearest points (weights
    ``1 / distance**2``; a grid node on a point takes that point's value), with distances
    taken in the unit square: each axis scaled to [0, 1] over its grid span, on a log scale
    for log parameters, choice indices spread evenly. It shows where the trials looked and
    what they found, not a model of the objective.

    Attributes:
        x_axis, y_axis: How the two parameters are drawn.
        x, y, values, numbers: The COMPLETE trials that have both parameters.
        grid_x, grid_y: The grid's node coordinates on each axis (values, not logs).
        grid_z: ``grid_z[j][i]``: the interpolated value at ``(grid_x[i], grid_y[j])``; empty
            when there is no grid.
        note: Why there is no grid (too few trials, a parameter with one value), else None.
        direction: ``"minimize"`` or ``"maximize"``.
    """

    x_axis: ParamAxis
    y_axis: ParamAxis
    x: list[float]
    y: list[float]
    values: list[float]
    numbers: list[int]
    grid_x: list[float]
    grid_y: list[float]
    grid_z: list[list[float]]
    note: str | None
    direction: str


def _grid_axis(axis: ParamAxis, points: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the grid nodes on an axis (as values), and the unit coordinates of ``points``
    followed by those of the nodes."""
    if axis.kind == "categorical":
        nodes = np.arange(len(axis.labels), dtype=float)
        scale = max(len(axis.labels) - 1, 1)
        return nodes, np.concatenate([points, nodes]) / scale
    transform = np.log if axis.log else (lambda a: a)
    t_points = transform(points)
    low, high = float(t_points.min()), float(t_points.max())
    t_nodes = np.linspace(low, high, n)
    nodes = np.exp(t_nodes) if axis.log else t_nodes
    return nodes, (np.concatenate([t_points, t_nodes]) - low) / (high - low)


def interpolate(points: np.ndarray, values: np.ndarray, nodes: np.ndarray,
                k: int = 8) -> np.ndarray:
    """Return inverse-distance-weighted values at ``nodes`` [m, 2] from ``points`` [n, 2].

    Weights ``1 / d**2`` over the ``k`` nearest points; a node on a point (or on several
    coincident ones) takes their mean value.
    """
    k = min(k, len(points))
    distances, index = cKDTree(points).query(nodes, k=k)
    distances = distances.reshape(len(nodes), k)
    near = values[index.reshape(len(nodes), k)]
    on_point = distances < 1e-12
    weights = np.where(on_point.any(axis=1, keepdims=True), on_point.astype(float),
                       1.0 / np.maximum(distances, 1e-12) ** 2)
    result: np.ndarray = (weights * near).sum(axis=1) / weights.sum(axis=1)
    return result


def contour_data(
    source: StudyOrTrials,
    x_param: str,
    y_param: str,
    *,
    grid: int = 50,
    neighbours: int = 8,
    direction: str | StudyDirection | None = None,
) -> ContourData:
    """Return the trials over ``x_param`` and ``y_param`` and a ``grid`` x ``grid`` contour
    grid (categorical axes: one node per choice); see :class:`ContourData`."""
    if not isinstance(grid, int) or isinstance(grid, bool) or grid < 2:
        raise ValueError(f"grid must be an int >= 2, got grid={grid!r}")
    if x_param == y_param:
        raise ValueError(f"x_param and y_param must differ, got {x_param!r} twice")
    complete = complete_trials(trials_of(source))
    sense = direction_of(source, direction).name.lower()
    axes, columns = _axes_and_columns(complete, [x_param, y_param])
    if len(axes) < 2:
        empty = ParamAxis(x_param, "float", False, 0.0, 1.0, [])
        return ContourData(empty, dataclasses.replace(empty, name=y_param), [], [], [], [],
                           [], [], [], "no COMPLETE trial yet", sense)
    rows = [(x, y, t) for x, y, t in zip(*columns, complete, strict=True)
            if x is not None and y is not None]
    px = np.array([r[0] for r in rows], dtype=float)
    py = np.array([r[1] for r in rows], dtype=float)
    values = np.array([finite_value(r[2]) for r in rows], dtype=float)
    note = None
    if len(rows) < 2:
        note = f"a contour needs 2 trials with both parameters, got {len(rows)}"
    else:
        for axis, p in ((axes[0], px), (axes[1], py)):
            if axis.kind != "categorical" and p.min() == p.max():
                note = f"every trial has the same value of {axis.name!r}"
    grid_x: list[float] = []
    grid_y: list[float] = []
    grid_z: list[list[float]] = []
    if note is None:
        nodes_x, unit_x = _grid_axis(axes[0], px, grid)
        nodes_y, unit_y = _grid_axis(axes[1], py, grid)
        n = len(rows)
        mesh_x, mesh_y = np.meshgrid(unit_x[n:], unit_y[n:])
        z = interpolate(np.column_stack([unit_x[:n], unit_y[:n]]), values,
                        np.column_stack([mesh_x.ravel(), mesh_y.ravel()]), k=neighbours)
        grid_x, grid_y = nodes_x.tolist(), nodes_y.tolist()
        grid_z = z.reshape(len(nodes_y), len(nodes_x)).tolist()
    return ContourData(
        x_axis=axes[0], y_axis=axes[1], x=px.tolist(), y=py.tolist(), values=values.tolist(),
        numbers=[r[2].number for r in rows], grid_x=grid_x, grid_y=grid_y, grid_z=grid_z,
        note=note, direction=sense)
