"""Plotly figures drawn from the plot-data records: history, EDF, importance, curves, timeline.

plotly is imported inside the functions, so importing this module costs nothing without it.
Every name that becomes text (study, parameters, labels, metric) goes to plotly as a plain
string property; no markup is built here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._direction import StudyDirection
from hyperknob.analysis import Importance, param_importances
from hyperknob.study import Study
from hyperknob.viz._curves import CurvesData, curves_data
from hyperknob.viz._data import (
    StudyOrTrials,
    complete_trials,
    direction_of,
    edf_data,
    history_data,
    importance_data,
    timeline_data,
    trials_of,
)

if TYPE_CHECKING:
    import datetime

Figure = Any  # plotly.graph_objects.Figure; plotly ships no type information

#: One colour per trial state, the same in every figure.
STATE_COLORS: dict[str, str] = {
    "COMPLETE": "#1f77b4",
    "PRUNED": "#ff7f0e",
    "FAIL": "#d62728",
    "RUNNING": "#17becf",
    "WAITING": "#7f7f7f",
}
#: One colour per curve diagnosis (the analysis' pathology names, and short forms; matched
#: case-insensitively); other labels take :data:`EXTRA_COLORS` in turn, trials without a
#: label :data:`NO_DIAGNOSIS_COLOR`.
DIAGNOSIS_COLORS: dict[str, str] = {
    "healthy": "#2ca02c",
    "diverged": "#d62728",
    "unstable": "#ff7f0e",
    "too_slow": "#9467bd",
    "underfitting": "#8c564b",
    "overfitting": "#e377c2",
    "slow": "#9467bd",
    "underfit": "#8c564b",
    "overfit": "#e377c2",
}
EXTRA_COLORS = ("#17becf", "#bcbd22", "#1f77b4", "#7f7f7f", "#aec7e8", "#ffbb78")
NO_DIAGNOSIS = "no diagnosis"
NO_DIAGNOSIS_COLOR = "#c7c7c7"
VALUE_COLORSCALE = "Blues"
WEBGL_ABOVE = 1000  # points; beyond this scatter plots use WebGL (scattergl)

_CURVE_NAMES = {"train_loss": "training loss", "val_loss": "validation loss"}


def graph_objects() -> Any:
    """Return ``plotly.graph_objects``, or raise an ImportError that says how to install it."""
    try:
        import plotly.graph_objects as go
    except ImportError as error:  # pragma: no cover - plotly is in the dev environment
        raise ImportError("hyperknob's figures need plotly: pip install 'hyperknob[viz]'"
                          ) from error
    return go


def scatter_class(n_points: int) -> Any:
    """Return ``go.Scattergl`` for many points (WebGL), else ``go.Scatter`` (SVG)."""
    go = graph_objects()
    return go.Scattergl if n_points > WEBGL_ABOVE else go.Scatter


def column(values: Sequence[Any]) -> Any:
    """Return a numeric column as a NumPy array (plotly checks a list item by item, 35 ms
    for 10,000 values, an array at once); any other column (category labels) as it is."""
    import numpy as np

    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float)
    return values


def title_for(text: str, source: StudyOrTrials) -> str:
    """Return a figure title: ``text``, and the study's name when there is a study."""
    return f"{text}: {source.study_name}" if isinstance(source, Study) else text


def metric_label(source: StudyOrTrials, metric: str | None) -> str:
    """Return the name of the objective: ``metric``, else the study's ``user_attrs["metric"]``
    (e.g. "validation accuracy", set by :mod:`hyperknob.nn`), else "objective value"."""
    if metric is not None:
        return str(metric)
    if isinstance(source, Study):
        stored = source.user_attrs.get("metric")
        if isinstance(stored, str) and stored.strip():
            return stored
    return "objective value"


def empty_figure(title: str, message: str) -> Figure:
    """Return a figure with no data, hidden axes and ``message`` in the middle."""
    go = graph_objects()
    fig = go.Figure()
    fig.update_layout(title={"text": title}, xaxis={"visible": False},
                      yaxis={"visible": False}, template="plotly_white")
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5,
                       showarrow=False, font={"size": 14})
    return fig


def add_note(fig: Figure, text: str) -> None:
    """Write a small note in the figure's top-right corner."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=1.0, y=1.06, xanchor="right",
                       showarrow=False, font={"size": 11, "color": "#555555"})


def _without_value_note(n_pruned: int, n_failed: int, n_running: int) -> str | None:
    parts = [f"{n} {name}" for n, name in ((n_pruned, "pruned"), (n_failed, "failed"),
                                          (n_running, "running")) if n]
    return ", ".join(parts) + " (no value)" if parts else None


# -- history -------------------------------------------------------------------------------
def plot_optimization_history(
    source: StudyOrTrials,
    *,
    direction: str | StudyDirection | None = None,
    metric: str | None = None,
) -> Figure:
    """Plot each COMPLETE trial's value by trial number and the best value so far."""
    data = history_data(source, direction)
    title = title_for("Optimization history", source)
    note = _without_value_note(data.n_pruned, data.n_failed, data.n_running + data.n_waiting)
    if not data.values:
        return empty_figure(title, "No COMPLETE trial yet" + (f": {note}" if note else ""))
    go = graph_objects()
    scatter = scatter_class(len(data.values))
    fig = go.Figure()
    numbers = column(data.numbers)
    fig.add_trace(scatter(
        x=numbers, y=column(data.values), mode="markers", name=metric_label(source, metric),
        marker={"color": STATE_COLORS["COMPLETE"]}))
    fig.add_trace(scatter(
        x=numbers, y=column(data.best_values), mode="lines", name="best value",
        line={"color": STATE_COLORS["FAIL"], "shape": "hv"}))
    fig.update_layout(title={"text": title}, template="plotly_white",
                      xaxis={"title": {"text": "trial"}},
                      yaxis={"title": {"text": metric_label(source, metric)}})
    if note:
        add_note(fig, note)
    return fig


# -- empirical distribution function -------------------------------------------------------
def plot_edf(
    source: StudyOrTrials,
    *,
    metric: str | None = None,
) -> Figure:
    """Plot the empirical distribution function of the COMPLETE trials' values."""
    data = edf_data(source)
    title = title_for("Empirical distribution of values", source)
    if not data.values:
        return empty_figure(title, "No COMPLETE trial yet")
    go = graph_objects()
    name = source.study_name if isinstance(source, Study) else "trials"
    fig = go.Figure(scatter_class(len(data.values))(
        x=column(data.values), y=column(data.probabilities),
        mode="lines+markers" if len(data.values) == 1
        else "lines", name=name, line={"color": STATE_COLORS["COMPLETE"], "shape": "hv"}))
    fig.update_layout(title={"text": title}, template="plotly_white",
                      xaxis={"title": {"text": metric_label(source, metric)}},
                      yaxis={"title": {"text": "cumulative probability"}, "range": [0, 1.02]})
    return fig


# -- importance ----------------------------------------------------------------------------
def plot_param_importances(
    source: StudyOrTrials | Importance,
    *,
    evaluator: str = "fanova",
    params: Sequence[str] | None = None,
    seed: int = 0,
    direction: str | StudyDirection | None = None,
) -> Figure:
    """Plot hyperparameter importances as horizontal bars, the largest on top.

    ``source`` is a study, its trials, or an :class:`~hyperknob.analysis.Importance` already
    computed; otherwise :func:`~hyperknob.analysis.param_importances` computes one with
    ``evaluator`` (fANOVA bars carry the spread over its trees as error bars; PED-ANOVA ranks
    trials by ``direction``, the study's by default).
    """
    if isinstance(source, Importance):
        importance = source
        title = "Hyperparameter importance"
    else:
        title = title_for("Hyperparameter importance", source)
        trials = trials_of(source)
        if len(complete_trials(trials)) < 2:
            return empty_figure(title, "Importance needs at least 2 COMPLETE trials")
        minimize = direction_of(source, direction) is StudyDirection.MINIMIZE
        importance = param_importances(trials, evaluator=evaluator, params=params, seed=seed,
                                       minimize=minimize)
    data = importance_data(importance)
    if not data.names:
        return empty_figure(title, "No parameter varies between the COMPLETE trials")
    go = graph_objects()
    spreads = [s if s is not None else 0.0 for s in data.spreads]
    error_bars = ({"type": "data", "array": spreads[::-1], "visible": True}
                  if any(s is not None for s in data.spreads) else None)
    fig = go.Figure(go.Bar(
        x=data.importances[::-1], y=data.names[::-1], orientation="h", name="importance",
        marker={"color": STATE_COLORS["COMPLETE"]}, error_x=error_bars))
    label = {"fanova": "fANOVA", "ped_anova": "PED-ANOVA"}.get(data.evaluator, data.evaluator)
    fig.update_layout(title={"text": f"{title} ({label}, {data.n_trials} trials)"},
                      template="plotly_white", xaxis={"title": {"text": "importance"}},
                      yaxis={"title": {"text": "hyperparameter"}})
    return fig


# -- learning curves -----------------------------------------------------------------------
def _curve_label(key: str | None, source: StudyOrTrials, metric: str | None) -> str:
    if key is None:
        return f"{metric_label(source, metric)} (reported)"
    if key == "val_metric":
        return metric_label(source, metric)
    return _CURVE_NAMES.get(key, key)


def diagnosis_colors(
    labels: Sequence[str | None], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return a colour for each distinct label (None -> :data:`NO_DIAGNOSIS`)."""
    colors: dict[str, str] = {}
    extra = 0
    for label in sorted({label for label in labels if label is not None}):
        if overrides and label in overrides:
            colors[label] = overrides[label]
        elif label.lower() in DIAGNOSIS_COLORS:
            colors[label] = DIAGNOSIS_COLORS[label.lower()]
        else:
            colors[label] = EXTRA_COLORS[extra % len(EXTRA_COLORS)]
            extra += 1
    if any(label is None for label in labels):
        colors[NO_DIAGNOSIS] = NO_DIAGNOSIS_COLOR
    return colors


def _groups(data: CurvesData, color_by: str,
            overrides: Mapping[str, str] | None) -> dict[str, tuple[str, list[int]]]:
    """Return group name -> (colour, indices of its curves), in legend order."""
    if color_by == "state":
        names = [state for state in STATE_COLORS if state in data.states]
        colors = {state: (overrides or {}).get(state, STATE_COLORS[state]) for state in names}
        keys: Sequence[str] = data.states
    else:
        colors = diagnosis_colors(data.labels, overrides)
        keys = [NO_DIAGNOSIS if label is None else label for label in data.labels]
    order = {name: i for i, name in enumerate(colors)}
    groups: dict[str, tuple[str, list[int]]] = {}
    for index, name in sorted(enumerate(keys), key=lambda row: order[row[1]]):
        groups.setdefault(name, (colors[name], []))[1].append(index)
    return groups


def plot_learning_curves(
    source: StudyOrTrials,
    key: str | None = None,
    *,
    color_by: str = "state",
    labels: Mapping[int, str] | None = None,
    colors: Mapping[str, str] | None = None,
    max_lines: int = 200,
    direction: str | StudyDirection | None = None,
    metric: str | None = None,
) -> Figure:
    """Plot one learning curve per trial, coloured by state or by diagnosis.

    ``key``: None for the reported intermediate values, or ``"train_loss"``, ``"val_loss"``,
    ``"val_metric"`` for the curves :mod:`hyperknob.nn` records. ``color_by="diagnosis"``
    colours by ``labels`` (trial number -> label, e.g. from the curve diagnosis); ``colors``
    overrides the colour of a state or label. One trace per colour group; beyond
    ``max_lines`` trials the best and an even sample are drawn (see :func:`curves_data`).
    """
    if color_by not in ("state", "diagnosis"):
        raise ValueError(f"color_by must be 'state' or 'diagnosis', got color_by={color_by!r}")
    if color_by == "diagnosis" and labels is None:
        raise ValueError("color_by='diagnosis' needs labels: a mapping of trial number to "
                         "diagnosis label, got labels=None")
    data = curves_data(source, key, labels=labels, max_lines=max_lines, direction=direction)
    title = title_for("Learning curves", source)
    if not data.numbers:
        what = "reported intermediate values" if key is None else f"a {key!r} curve"
        return empty_figure(title, f"No trial has {what} yet")
    go = graph_objects()
    n_points = sum(len(steps) for steps in data.steps)
    scatter = scatter_class(n_points)
    fig = go.Figure()
    for name, (color, indices) in _groups(data, color_by, colors).items():
        xs: list[int | None] = []
        ys: list[float | None] = []
        numbers: list[int | None] = []
        for i in indices:  # one trace per group: lines separated by None gaps
            xs += [*data.steps[i], None]
            ys += [*data.values[i], None]
            numbers += [data.numbers[i]] * len(data.steps[i]) + [None]
        fig.add_trace(scatter(
            x=xs, y=ys, customdata=numbers, mode="lines", name=name, legendgroup=name,
            line={"color": color, "width": 1.5}, opacity=0.8,
            hovertemplate="trial %{customdata}<br>step %{x}<br>%{y}<extra></extra>"))
    fig.update_layout(
        title={"text": title}, template="plotly_white",
        legend={"title": {"text": color_by}},
        xaxis={"title": {"text": "step" if key is None else "epoch"}},
        yaxis={"title": {"text": _curve_label(key, source, metric)}})
    if data.n_left_out:
        add_note(fig, f"{data.n_left_out} more trials not drawn (the best and an even sample "
                      f"of {len(data.numbers)} are)")
    return fig


# -- timeline ------------------------------------------------------------------------------
def plot_timeline(
    source: StudyOrTrials, *, now: datetime.datetime | None = None
) -> Figure:
    """Plot when each trial ran, one bar per trial, one row per lane of overlapping trials
    (no storage records the worker; see :class:`~hyperknob.viz.TimelineData`)."""
    data = timeline_data(source, now=now)
    title = title_for("Timeline", source)
    if not data.numbers:
        return empty_figure(title, "No trial has started yet")
    go = graph_objects()
    fig = go.Figure()
    for state, color in STATE_COLORS.items():
        rows = [i for i, s in enumerate(data.states) if s == state]
        if not rows:
            continue
        fig.add_trace(go.Bar(
            base=[data.starts[i].isoformat() for i in rows],
            x=[(data.ends[i] - data.starts[i]).total_seconds() * 1000.0 for i in rows],
            y=[data.lanes[i] for i in rows], customdata=[data.numbers[i] for i in rows],
            orientation="h", name=state, marker={"color": color},
            hovertemplate="trial %{customdata}<extra></extra>"))
    fig.update_layout(
        title={"text": title}, template="plotly_white", barmode="overlay",
        xaxis={"type": "date", "title": {"text": "time"}},
        yaxis={"title": {"text": "lane (trials running at once)"}, "dtick": 1,
               "range": [-0.6, data.n_lanes - 0.4]})
    if data.n_not_started:
        add_note(fig, f"{data.n_not_started} waiting (not started)")
    return fig

