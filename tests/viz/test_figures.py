"""Figures: what each ``plot_*`` function draws (traces, points, axes, colours, notes)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import pytest

pytest.importorskip("plotly")

import hyperknob
from hyperknob.analysis import Importance
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.study import Study
from hyperknob.trial import FrozenTrial, TrialState
from hyperknob.viz import (
    DIAGNOSIS_COLORS,
    STATE_COLORS,
    plot_contour,
    plot_edf,
    plot_learning_curves,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_slice,
    plot_timeline,
)
from hyperknob.viz._figures import EXTRA_COLORS, NO_DIAGNOSIS, NO_DIAGNOSIS_COLOR

T0 = datetime.datetime(2024, 1, 1, 12, 0, 0)
LR = FloatDistribution(1e-4, 1e-1, log=True)
LAYERS = IntDistribution(1, 4)
ACT = CategoricalDistribution(("relu", "tanh"))
DROPOUT = FloatDistribution(0.0, 0.5)
NAME = "digits <b>run</b> & co"


def frozen(number: int, state: TrialState = TrialState.COMPLETE, value: float | None = None,
           params: Mapping[str, Any] | None = None,
           dists: Mapping[str, BaseDistribution] | None = None, **fields: Any) -> FrozenTrial:
    return FrozenTrial(
        number=number, trial_id=number, state=state, value=value, params=params or {},
        distributions=dists or {}, datetime_start=T0 + datetime.timedelta(seconds=number),
        datetime_complete=T0 + datetime.timedelta(seconds=number + 1.5), **fields)


def nn_like_trials(n: int = 12) -> list[FrozenTrial]:
    """Accuracy-like values; lr log, layers int, act categorical, dropout only for relu;
    every fourth trial pruned, trial 5 failed; curves in intermediate values and user_attrs."""
    trials = []
    for i in range(n):
        act = ACT.choices[i % 2]
        params: dict[str, Any] = {"lr": 10 ** (-4 + 3 * i / (n - 1)), "layers": 1 + i % 4,
                                  "act": act}
        dists: dict[str, BaseDistribution] = {"lr": LR, "layers": LAYERS, "act": ACT}
        if act == "relu":
            params["dropout"], dists["dropout"] = 0.05 * (i % 10), DROPOUT
        state = (TrialState.FAIL if i == 5 else TrialState.PRUNED if i % 4 == 3
                 else TrialState.COMPLETE)
        curve = [0.5 + 0.03 * i * e / 3 for e in range(1, 4)]
        trials.append(frozen(
            i, state, curve[-1] if state is TrialState.COMPLETE else None, params, dists,
            intermediate_values={e: v for e, v in enumerate(curve, start=1)},
            user_attrs={"curves": {"val_metric": curve, "train_loss": [1.0, 0.5, 0.3]}}))
    return trials


def make_study(trials: list[FrozenTrial], direction: str = "maximize") -> Study:
    study = hyperknob.create_study(study_name=NAME, direction=direction)
    study.set_user_attr("metric", "validation accuracy")
    for t in trials:
        study.add_trial(t)
    return study


def n_points(trace: Any) -> int:
    return sum(1 for y in trace.y if y is not None)


# -- history -------------------------------------------------------------------------------
def test_history_draws_values_and_best_line_with_labels() -> None:
    study = make_study(nn_like_trials())
    fig = plot_optimization_history(study)
    assert [type(t).__name__ for t in fig.data] == ["Scatter", "Scatter"]
    values, best = fig.data
    assert len(values.x) == 8 and values.marker.color == STATE_COLORS["COMPLETE"]
    assert best.line.shape == "hv" and list(best.y) == sorted(best.y)  # maximize: rising
    assert fig.layout.title.text == f"Optimization history: {NAME}"  # the name, as is
    assert fig.layout.xaxis.title.text == "trial"
    assert fig.layout.yaxis.title.text == "validation accuracy"
    assert fig.layout.annotations[0].text == "3 pruned, 1 failed (no value)"


def test_history_of_many_trials_uses_webgl() -> None:
    trials = [frozen(i, value=float(i % 97)) for i in range(1500)]
    fig = plot_optimization_history(trials, metric="loss")
    assert [type(t).__name__ for t in fig.data] == ["Scattergl", "Scattergl"]
    assert len(fig.data[0].x) == 1500 and fig.layout.yaxis.title.text == "loss"
    assert fig.layout.title.text == "Optimization history"


# -- figures of a study with 0, 1 or only failed trials -----------------------------------
PLOTS: dict[str, Callable[[Any], Any]] = {
    "history": plot_optimization_history,
    "edf": plot_edf,
    "parallel": plot_parallel_coordinate,
    "slice": plot_slice,
    "contour": plot_contour,
    "importance": lambda s: plot_param_importances(s, evaluator="ped_anova"),
    "curves": plot_learning_curves,
    "timeline": plot_timeline,
}
NO_COMPLETE = {"history", "edf", "parallel", "slice", "contour", "importance"}


@pytest.mark.parametrize("name", list(PLOTS))
def test_an_empty_study_gives_an_empty_figure_that_says_so(name: str) -> None:
    fig = PLOTS[name](make_study([]))
    assert len(fig.data) == 0 and fig.layout.xaxis.visible is False
    text = fig.layout.annotations[0].text
    assert "COMPLETE" in text if name in NO_COMPLETE else text.startswith("No trial has")
    fig.to_json()


@pytest.mark.parametrize("name", list(PLOTS))
def test_only_failed_trials(name: str) -> None:
    fig = PLOTS[name](make_study([frozen(0, TrialState.FAIL), frozen(1, TrialState.FAIL)]))
    if name in NO_COMPLETE:
        assert len(fig.data) == 0
        text = fig.layout.annotations[0].text
        assert "COMPLETE" in text and (name != "history" or "2 failed" in text)
    elif name == "timeline":
        assert [t.name for t in fig.data] == ["FAIL"] and len(fig.data[0].x) == 2
    fig.to_json()


@pytest.mark.parametrize("name", list(PLOTS))
def test_a_single_complete_trial(name: str) -> None:
    fig = PLOTS[name](make_study(nn_like_trials(2)[:1]))
    fig.to_json()
    notes = [a.text for a in fig.layout.annotations]
    if name == "importance":
        assert notes == ["Importance needs at least 2 COMPLETE trials"]
    elif name == "contour":  # the one point, and why there is no contour
        assert [type(t).__name__ for t in fig.data] == ["Scatter"]
        assert "2 trials" in notes[0]
    else:
        assert len(fig.data) >= 1 and not notes


# -- parameters ----------------------------------------------------------------------------
def test_parallel_coordinates_axes() -> None:
    fig = plot_parallel_coordinate(make_study(nn_like_trials()))
    (trace,) = fig.data
    assert type(trace).__name__ == "Parcoords"
    dims = {d.label: d for d in trace.dimensions}
    assert list(dims) == ["validation accuracy", "act", "dropout", "layers", "lr"]
    assert len(dims["lr"].values) == 8
    assert list(dims["act"].ticktext) == ["relu", "tanh"]
    assert list(dims["lr"].ticktext) == ["0.0001", "0.001", "0.01", "0.1"]
    assert list(dims["lr"].tickvals) == [-4.0, -3.0, -2.0, -1.0]  # log10 units
    assert dims["lr"].values[0] == pytest.approx(-4.0)
    assert dims["dropout"].ticktext[-1] == "not set"  # tanh trials have no dropout
    gap = dims["dropout"].tickvals[-1]
    assert sum(v == gap for v in dims["dropout"].values) == 2  # trials 1 and 9
    assert trace.line.reversescale is False  # maximize: larger is darker
    assert fig.layout.title.text == f"Parallel coordinates: {NAME}"


def test_slice_panels_axes_and_points() -> None:
    fig = plot_slice(make_study(nn_like_trials()), params=["lr", "act", "dropout"])
    assert [t.name for t in fig.data] == ["lr", "act", "dropout"]
    assert [len(t.x) for t in fig.data] == [8, 8, 6]
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == "lr"
    assert list(fig.layout.xaxis2.ticktext) == ["relu", "tanh"]
    assert fig.layout.xaxis3.title.text == "dropout" and fig.layout.xaxis3.type != "log"
    assert fig.layout.yaxis.title.text == "validation accuracy"
    assert list(fig.data[0].marker.color) == list(fig.data[0].customdata)  # by trial number


def test_contour_grid_points_and_axes() -> None:
    fig = plot_contour(make_study(nn_like_trials()), "lr", "act", grid=20)
    contour, points = fig.data
    assert type(contour).__name__ == "Contour" and type(points).__name__ == "Scatter"
    assert len(contour.x) == 20 and len(contour.y) == 2 and len(contour.z) == 2
    assert len(points.x) == 8 and fig.layout.xaxis.type == "log"
    assert list(fig.layout.yaxis.ticktext) == ["relu", "tanh"]
    assert fig.layout.xaxis.title.text == "lr" and contour.colorbar.title.text == (
        "validation accuracy")
    default = plot_contour(make_study(nn_like_trials()))  # first two parameters by name
    assert (default.layout.xaxis.title.text, default.layout.yaxis.title.text) == (
        "act", "dropout")


def test_contour_needs_two_parameters() -> None:
    trials = [frozen(i, value=float(i), params={"x": 0.1 * i}, dists={"x": DROPOUT})
              for i in range(3)]
    fig = plot_contour(trials)
    assert fig.layout.annotations[0].text == "A contour needs two parameters"


# -- importance ----------------------------------------------------------------------------
def test_importance_bars_largest_on_top_with_spread() -> None:
    importance = Importance({"lr": 0.7, "act": 0.2, "layers": 0.1}, {}, {
        "lr": 0.05, "act": 0.02, "layers": 0.01}, "fanova", 30, 0.8)
    fig = plot_param_importances(importance)
    (bar,) = fig.data
    assert bar.orientation == "h" and list(bar.y) == ["layers", "act", "lr"]
    assert list(bar.x) == [0.1, 0.2, 0.7] and list(bar.error_x.array) == [0.01, 0.02, 0.05]
    assert "fANOVA" in fig.layout.title.text and "30 trials" in fig.layout.title.text


def test_importance_computed_from_a_study() -> None:
    fig = plot_param_importances(make_study(nn_like_trials()), evaluator="ped_anova")
    (bar,) = fig.data
    assert set(bar.y) <= {"lr", "act", "layers", "dropout"} and bar.error_x.array is None
    assert fig.layout.title.text.startswith(f"Hyperparameter importance: {NAME} (PED-ANOVA")


# -- learning curves -----------------------------------------------------------------------
def test_curves_coloured_by_state() -> None:
    fig = plot_learning_curves(make_study(nn_like_trials()), "val_metric")
    assert [t.name for t in fig.data] == ["COMPLETE", "PRUNED", "FAIL"]
    assert [t.line.color for t in fig.data] == [STATE_COLORS[s] for s in
                                                ("COMPLETE", "PRUNED", "FAIL")]
    assert [n_points(t) for t in fig.data] == [8 * 3, 3 * 3, 1 * 3]
    assert fig.layout.yaxis.title.text == "validation accuracy"
    assert fig.layout.xaxis.title.text == "epoch"
    assert plot_learning_curves(nn_like_trials(), "train_loss").layout.yaxis.title.text == (
        "training loss")


def test_curves_coloured_by_diagnosis() -> None:
    labels = {0: "healthy", 1: "overfitting", 2: "Overfitting", 3: "too_slow", 4: "plateau",
              6: "healthy"}
    fig = plot_learning_curves(nn_like_trials(), color_by="diagnosis", labels=labels)
    colors = {t.name: t.line.color for t in fig.data}
    assert colors == {"Overfitting": DIAGNOSIS_COLORS["overfitting"],
                      "healthy": DIAGNOSIS_COLORS["healthy"],
                      "overfitting": DIAGNOSIS_COLORS["overfitting"],
                      "plateau": EXTRA_COLORS[0], "too_slow": DIAGNOSIS_COLORS["too_slow"],
                      NO_DIAGNOSIS: NO_DIAGNOSIS_COLOR}
    assert len(set(colors.values())) == 5  # a label and its other case share a colour
    by_name = {t.name: t for t in fig.data}
    assert set(by_name["healthy"].customdata) - {None} == {0, 6}
    assert fig.layout.legend.title.text == "diagnosis"
    recoloured = plot_learning_curves(nn_like_trials(), color_by="diagnosis", labels=labels,
                                      colors={"plateau": "#000000"})
    assert {t.name: t.line.color for t in recoloured.data}["plateau"] == "#000000"
    with pytest.raises(ValueError, match="labels"):
        plot_learning_curves(nn_like_trials(), color_by="diagnosis")
    with pytest.raises(ValueError, match="color_by"):
        plot_learning_curves(nn_like_trials(), color_by="value")


def test_curves_beyond_max_lines_say_how_many_are_left_out() -> None:
    fig = plot_learning_curves(nn_like_trials(), max_lines=4)
    assert sum(n_points(t) for t in fig.data) == 4 * 3
    assert fig.layout.annotations[0].text.startswith("8 more trials not drawn")


# -- EDF and timeline ----------------------------------------------------------------------
def test_edf_steps_to_one() -> None:
    fig = plot_edf(make_study(nn_like_trials()))
    (line,) = fig.data
    assert len(line.x) == 8 and list(line.x) == sorted(line.x) and line.y[-1] == 1.0
    assert line.name == NAME and fig.layout.xaxis.title.text == "validation accuracy"


def test_timeline_bars_by_state_on_lanes() -> None:
    fig = plot_timeline(make_study(nn_like_trials()))
    assert [t.name for t in fig.data] == ["COMPLETE", "PRUNED", "FAIL"]
    assert [t.marker.color for t in fig.data] == [STATE_COLORS[t.name] for t in fig.data]
    assert [len(t.x) for t in fig.data] == [8, 3, 1]
    assert all(width == 1500.0 for t in fig.data for width in t.x)  # 1.5 s in ms
    lanes = sorted(y for t in fig.data for y in t.y)
    assert set(lanes) == {0, 1}  # each trial overlaps the next one only
    assert fig.layout.xaxis.type == "date"
    running = [frozen(0, value=1.0), FrozenTrial(
        number=1, trial_id=1, state=TrialState.RUNNING, datetime_start=T0)]
    fig = plot_timeline(running, now=T0 + datetime.timedelta(seconds=10))
    assert [t.name for t in fig.data] == ["COMPLETE", "RUNNING"]
    assert list(fig.data[1].x) == [10_000.0] and list(fig.data[1].y) == [1]
