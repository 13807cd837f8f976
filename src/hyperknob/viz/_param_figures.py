"""Plotly figures over parameters: parallel coordinates, slices, contour. plotly loads lazily."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hyperknob._direction import StudyDirection
from hyperknob.viz._data import StudyOrTrials, complete_trials, direction_of, trials_of
from hyperknob.viz._figures import (
    STATE_COLORS,
    VALUE_COLORSCALE,
    Figure,
    column,
    empty_figure,
    graph_objects,
    metric_label,
    scatter_class,
    title_for,
)
from hyperknob.viz._params import ParamAxis, contour_data, parallel_data, slice_data

NOT_SET = "not set"


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Return tick positions (log10 units) and labels for a log axis over [low, high]."""
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    if last > first:
        powers = list(range(first, last + 1))
        return [float(p) for p in powers], [f"{10.0 ** p:g}" for p in powers]
    positions = np.unique(np.linspace(low, high, 4)).tolist()
    return positions, [f"{10.0 ** p:.3g}" for p in positions]


def _dimension(axis: ParamAxis, column: Sequence[float | None]) -> dict[str, Any]:
    """Return a parcoords dimension; trials without the parameter sit below the axis range
    at a "not set" tick (parcoords cannot leave a line out of one axis)."""
    ticks: tuple[list[float], list[str]] | None = None
    if axis.kind == "categorical":
        low, high = axis.low, axis.high
        ticks = ([float(i) for i in range(len(axis.labels))], list(axis.labels))
        values = list(column)
    elif axis.log:
        low, high = math.log10(axis.low), math.log10(axis.high)
        ticks = log_ticks(low, high)
        values = [None if v is None else math.log10(v) for v in column]
    else:
        low, high = axis.low, axis.high
        values = list(column)
    span = high - low if high > low else 1.0
    if high == low:
        low, high = low - 0.5, high + 0.5
    dimension: dict[str, Any] = {"label": axis.name, "range": [low, high]}
    if any(v is None for v in values):
        gap = low - 0.15 * span
        if ticks is None:
            positions = np.linspace(low, high, 5).tolist()
            ticks = (positions, [f"{p:.3g}" for p in positions])
        ticks = ([*ticks[0], gap], [*ticks[1], NOT_SET])
        values = [gap if v is None else v for v in values]
        dimension["range"] = [gap, high]
    if ticks is not None:
        dimension["tickvals"], dimension["ticktext"] = ticks
    dimension["values"] = values
    return dimension


def plot_parallel_coordinate(
    source: StudyOrTrials,
    params: Sequence[str] | None = None,
    *,
    direction: str | StudyDirection | None = None,
    metric: str | None = None,
) -> Figure:
    """Plot every COMPLETE trial as a line across its value and its parameters.

    Categorical axes show the choices; log parameters are drawn in log10 units with their
    values as tick labels; a trial without a (conditional) parameter crosses that axis at
    "not set". Lines are coloured by value, darker for better.
    """
    data = parallel_data(source, params, direction)
    title = title_for("Parallel coordinates", source)
    if not data.values:
        return empty_figure(title, "No COMPLETE trial yet")
    go = graph_objects()
    label = metric_label(source, metric)
    value_range = [min(data.values), max(data.values)]
    if value_range[0] == value_range[1]:
        value_range = [value_range[0] - 0.5, value_range[1] + 0.5]
    dimensions = [{"label": label, "values": data.values, "range": value_range}]
    dimensions += [_dimension(a, c) for a, c in zip(data.axes, data.encoded, strict=True)]
    fig = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": data.values, "colorscale": VALUE_COLORSCALE, "showscale": True,
              "reversescale": data.direction == "minimize",
              "colorbar": {"title": {"text": label}}}))
    fig.update_layout(title={"text": title}, template="plotly_white")
    if not data.axes:
        fig.add_annotation(text="The trials have no parameters", xref="paper", yref="paper",
                           x=0.5, y=-0.1, showarrow=False)
    return fig


def _style_axis(fig: Figure, axis: ParamAxis, which: str, **where: Any) -> None:
    """Title an x or y axis with the parameter, on a log scale or with choice ticks."""
    update = fig.update_xaxes if which == "x" else fig.update_yaxes
    style: dict[str, Any] = {"title_text": axis.name}
    if axis.log:
        style["type"] = "log"
    if axis.kind == "categorical":
        style.update(tickvals=list(range(len(axis.labels))), ticktext=list(axis.labels),
                     range=[-0.5, len(axis.labels) - 0.5])
    update(**style, **where)


def plot_slice(
    source: StudyOrTrials,
    params: Sequence[str] | None = None,
    *,
    direction: str | StudyDirection | None = None,
    metric: str | None = None,
    columns: int = 4,
) -> Figure:
    """Plot the value against each parameter, one panel per parameter, points coloured by
    trial number (later trials darker)."""
    data = slice_data(source, params, direction)
    title = title_for("Slice plot", source)
    if not data.n_complete:
        return empty_figure(title, "No COMPLETE trial yet")
    if not data.params:
        return empty_figure(title, "The COMPLETE trials have no parameters")
    from plotly.subplots import make_subplots

    n_cols = max(1, min(columns, len(data.params)))
    n_rows = math.ceil(len(data.params) / n_cols)
    fig = make_subplots(rows=n_rows, cols=n_cols, horizontal_spacing=0.06,
                        vertical_spacing=min(0.15, 0.9 / max(n_rows - 1, 1)))
    label = metric_label(source, metric)
    for i, item in enumerate(data.params):
        row, col = i // n_cols + 1, i % n_cols + 1
        numbers = column(item.numbers)
        fig.add_trace(scatter_class(len(item.x))(
            x=column(item.x), y=column(item.values), customdata=numbers, mode="markers",
            name=item.axis.name, showlegend=False,
            marker={"color": numbers, "colorscale": VALUE_COLORSCALE,
                    "cmin": 0, "cmax": max(max(item.numbers, default=0), 1),
                    "showscale": i == 0, "colorbar": {"title": {"text": "trial"}},
                    "line": {"width": 0.5, "color": "#333333"}},
            hovertemplate="trial %{customdata}<br>%{x}<br>%{y}<extra></extra>"),
            row=row, col=col)
        _style_axis(fig, item.axis, "x", row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text=label, row=row, col=col)
    fig.update_layout(title={"text": title}, template="plotly_white",
                      height=max(400, 320 * n_rows), width=max(500, 300 * n_cols))
    return fig


def plot_contour(
    source: StudyOrTrials,
    x_param: str | None = None,
    y_param: str | None = None,
    *,
    grid: int = 50,
    direction: str | StudyDirection | None = None,
    metric: str | None = None,
) -> Figure:
    """Plot the value over two parameters: an interpolated contour and the trials as points.

    Without ``x_param``/``y_param`` the first two parameters by name are taken. The contour
    interpolates between trials (see :class:`~hyperknob.viz.ContourData`); darker is better.
    """
    trials = trials_of(source)
    complete = complete_trials(trials)
    if x_param is None or y_param is None:
        names = sorted({name for t in complete for name in t.params})
        free = iter([name for name in names if name not in (x_param, y_param)])
        x_param = x_param if x_param is not None else next(free, None)
        y_param = y_param if y_param is not None else next(free, None)
    title = title_for("Contour", source)
    if not complete:
        return empty_figure(title, "No COMPLETE trial yet")
    if x_param is None or y_param is None:
        return empty_figure(title, "A contour needs two parameters")
    data = contour_data(trials, x_param, y_param, grid=grid,
                        direction=direction_of(source, direction))
    go = graph_objects()
    label = metric_label(source, metric)
    fig = go.Figure()
    if data.grid_z:
        fig.add_trace(go.Contour(
            x=data.grid_x, y=data.grid_y, z=data.grid_z, colorscale=VALUE_COLORSCALE,
            reversescale=data.direction == "minimize", name=label,
            colorbar={"title": {"text": label}}, contours={"coloring": "heatmap"},
            hoverinfo="skip"))
    fig.add_trace(scatter_class(len(data.x))(
        x=column(data.x), y=column(data.y), customdata=column(data.numbers), mode="markers",
        name="trials",
        marker={"color": "#ffffff", "size": 6,
                "line": {"width": 1, "color": STATE_COLORS["COMPLETE"]}},
        hovertemplate="trial %{customdata}<br>%{x}<br>%{y}<extra></extra>", showlegend=False))
    _style_axis(fig, data.x_axis, "x")
    _style_axis(fig, data.y_axis, "y")
    fig.update_layout(title={"text": title}, template="plotly_white")
    if data.note:
        fig.add_annotation(text=data.note, xref="paper", yref="paper", x=0.5, y=0.5,
                           showarrow=False, font={"size": 14})
    return fig
