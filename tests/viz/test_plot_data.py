"""Plot data: the numbers each ``*_data`` function extracts, without plotly."""

from __future__ import annotations

import datetime
import enum
import json
import math
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

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
    contour_data,
    curves_data,
    edf_data,
    history_data,
    importance_data,
    parallel_data,
    slice_data,
    timeline_data,
)
from hyperknob.viz._data import assign_lanes
from hyperknob.viz._params import interpolate

T0 = datetime.datetime(2024, 1, 1, 12, 0, 0)
LR = FloatDistribution(1e-4, 1e-1, log=True)
LAYERS = IntDistribution(1, 5)
ACT = CategoricalDistribution(("relu", "tanh", "gelu"))
DROPOUT = FloatDistribution(0.0, 0.5)


def trial(
    number: int,
    state: TrialState = TrialState.COMPLETE,
    value: float | None = None,
    params: Mapping[str, Any] | None = None,
    dists: Mapping[str, BaseDistribution] | None = None,
    *,
    start: float | None = None,
    end: float | None = None,
    **fields: Any,
) -> FrozenTrial:
    """Build a trial; ``start``/``end`` in seconds after T0 (default: number, number + 1)."""
    begin = T0 + datetime.timedelta(seconds=number if start is None else start)
    finish = None if state is TrialState.RUNNING else T0 + datetime.timedelta(
        seconds=number + 1 if end is None else end)
    return FrozenTrial(number=number, trial_id=number, state=state, value=value,
                       params=params or {}, distributions=dists or {},
                       datetime_start=begin, datetime_complete=finish, **fields)


def round_trips(record: Any) -> None:
    data = record.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data


# -- history -------------------------------------------------------------------------------
def mixed_trials() -> list[FrozenTrial]:
    return [trial(0, value=3.0), trial(1, TrialState.PRUNED), trial(2, value=1.0),
            trial(3, TrialState.FAIL), trial(4, value=2.0), trial(5, TrialState.RUNNING),
            trial(6, value=5.0)]


def test_history_best_so_far_in_each_direction() -> None:
    minimize = history_data(mixed_trials())
    assert minimize.numbers == [0, 2, 4, 6] and minimize.values == [3.0, 1.0, 2.0, 5.0]
    assert minimize.best_values == [3.0, 1.0, 1.0, 1.0] and minimize.best_number == 2
    assert (minimize.n_pruned, minimize.n_failed, minimize.n_running) == (1, 1, 1)
    maximize = history_data(mixed_trials(), "maximize")
    assert maximize.best_values == [3.0, 3.0, 3.0, 5.0] and maximize.best_number == 6
    round_trips(maximize)


def test_history_takes_the_study_direction_and_orders_by_number() -> None:
    study = hyperknob.create_study(direction="maximize")
    for value in (1.0, 4.0, 2.0):
        study.tell(study.ask(), value)
    data = history_data(study)
    assert data.direction == "maximize" and data.best_values == [1.0, 4.0, 4.0]
    assert history_data(list(reversed(study.trials))).numbers == [0, 1, 2]


@pytest.mark.parametrize("trials", [[], [trial(0, TrialState.FAIL), trial(1, TrialState.FAIL)]])
def test_history_without_complete_trials(trials: list[FrozenTrial]) -> None:
    data = history_data(trials)
    assert data.values == [] and data.best_values == [] and data.best_number is None
    assert data.n_failed == len(trials)
    round_trips(data)


def test_a_bad_source_is_refused() -> None:
    with pytest.raises(TypeError, match="Study or a sequence"):
        history_data("study")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="FrozenTrial"):
        history_data([1.0])  # type: ignore[list-item]


# -- parameters ----------------------------------------------------------------------------
def space_trials() -> list[FrozenTrial]:
    """lr (log), layers (int), act (categorical); dropout only for relu (conditional)."""
    rows = [(1e-3, 2, "relu", 0.1, 0.5), (1e-2, 3, "tanh", None, 0.3),
            (1e-4, 1, "gelu", None, 0.9), (1e-1, 5, "relu", 0.4, 0.7)]
    trials = []
    for number, (lr, layers, act, dropout, value) in enumerate(rows):
        params: dict[str, Any] = {"lr": lr, "layers": layers, "act": act}
        dists: dict[str, BaseDistribution] = {"lr": LR, "layers": LAYERS, "act": ACT}
        if dropout is not None:
            params["dropout"], dists["dropout"] = dropout, DROPOUT
        trials.append(trial(number, value=value, params=params, dists=dists))
    trials.append(trial(4, TrialState.PRUNED, params={"lr": 0.05}, dists={"lr": LR}))
    return trials


def test_parallel_encodes_categorical_log_and_conditional_parameters() -> None:
    data = parallel_data(space_trials())
    assert data.numbers == [0, 1, 2, 3] and data.values == [0.5, 0.3, 0.9, 0.7]
    axes = {a.name: a for a in data.axes}
    assert [a.name for a in data.axes] == ["act", "dropout", "layers", "lr"]
    encoded = dict(zip([a.name for a in data.axes], data.encoded, strict=True))
    assert encoded["act"] == [0.0, 1.0, 2.0, 0.0]
    assert axes["act"].kind == "categorical" and axes["act"].labels == ["relu", "tanh", "gelu"]
    assert (axes["act"].low, axes["act"].high) == (0.0, 2.0)
    assert encoded["dropout"] == [0.1, None, None, 0.4]
    assert encoded["lr"] == [1e-3, 1e-2, 1e-4, 1e-1] and axes["lr"].log
    assert (axes["lr"].low, axes["lr"].high) == (1e-4, 1e-1)
    assert axes["layers"].kind == "int" and not axes["layers"].log
    round_trips(data)


def test_parallel_selects_parameters_and_names_unknown_ones() -> None:
    data = parallel_data(space_trials(), params=["lr", "act"])
    assert [a.name for a in data.axes] == ["lr", "act"]
    with pytest.raises(ValueError, match="'nope'"):
        parallel_data(space_trials(), params=["nope"])
    assert parallel_data([], params=["nope"]).axes == []


def test_a_parameter_with_another_distribution_counts_as_missing() -> None:
    other = CategoricalDistribution(("relu", "sigmoid"))
    trials = [*space_trials()[:4],
              trial(5, value=0.2, params={"act": "sigmoid"}, dists={"act": other})]
    data = parallel_data(trials, params=["act"])
    assert data.encoded[0] == [0.0, 1.0, 2.0, 0.0, None]


def test_slice_keeps_only_the_trials_that_have_the_parameter() -> None:
    data = slice_data(space_trials())
    by_name = {p.axis.name: p for p in data.params}
    assert by_name["dropout"].x == [0.1, 0.4] and by_name["dropout"].numbers == [0, 3]
    assert by_name["dropout"].values == [0.5, 0.7]
    assert by_name["act"].x == [0.0, 1.0, 2.0, 0.0] and data.n_complete == 4
    round_trips(data)


def grid_trials(xs: list[float], ys: list[float], value: Callable[[float, float], float],
                x_dist: BaseDistribution, y_dist: BaseDistribution) -> list[FrozenTrial]:
    return [trial(i, value=value(x, y), params={"x": x, "y": y},
                  dists={"x": x_dist, "y": y_dist}) for i, (x, y) in enumerate(zip(xs, ys,
                                                                                   strict=True))]


def test_contour_grid_passes_through_the_points() -> None:
    trials = grid_trials([0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0], lambda x, y: x + 10 * y,
                         FloatDistribution(0, 1), FloatDistribution(0, 1))
    data = contour_data(trials, "x", "y", grid=3)
    assert data.grid_x == [0.0, 0.5, 1.0] and data.grid_y == [0.0, 0.5, 1.0]
    z = np.array(data.grid_z)
    assert z.shape == (3, 3) and data.note is None
    assert z[0, 0] == 0.0 and z[0, 2] == 1.0 and z[2, 0] == 10.0 and z[2, 2] == 11.0
    assert z[1, 1] == pytest.approx(5.5)  # equidistant from all four points
    round_trips(data)


def test_contour_log_and_categorical_axes() -> None:
    xs = [1e-4, 1e-3, 1e-2, 1e-1]
    ys = ["relu", "tanh", "gelu", "relu"]
    trials = grid_trials(xs, ys, lambda x, y: math.log10(x), LR, ACT)  # type: ignore[arg-type]
    data = contour_data(trials, "x", "y", grid=4)
    assert data.x_axis.log and data.grid_x == pytest.approx(xs)
    assert data.grid_y == [0.0, 1.0, 2.0] and data.y_axis.labels == ["relu", "tanh", "gelu"]
    z = np.array(data.grid_z)
    assert z.shape == (3, 4) and z[0, 0] == pytest.approx(-4.0) and z[1, 1] == -3.0


def test_inverse_distance_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    points, values, nodes = rng.random((30, 2)), rng.random(30), rng.random((50, 2))
    distances = np.linalg.norm(nodes[:, None, :] - points[None, :, :], axis=2)
    weights = 1.0 / distances**2
    expected = (weights * values).sum(axis=1) / weights.sum(axis=1)
    assert interpolate(points, values, nodes, k=30) == pytest.approx(expected)


def test_contour_without_enough_trials_explains_why() -> None:
    one = grid_trials([0.5], [0.5], lambda x, y: 1.0, DROPOUT, DROPOUT)
    data = contour_data(one, "x", "y")
    assert data.grid_z == [] and "2 trials" in (data.note or "") and data.x == [0.5]
    flat = grid_trials([0.2, 0.2], [0.1, 0.3], lambda x, y: y, DROPOUT, DROPOUT)
    assert "'x'" in (contour_data(flat, "x", "y").note or "")
    assert contour_data([], "x", "y").note == "no COMPLETE trial yet"
    with pytest.raises(ValueError, match="grid"):
        contour_data(one, "x", "y", grid=1)


# -- importance, EDF -----------------------------------------------------------------------
def test_importance_bars_are_ordered_with_their_spread() -> None:
    importance = Importance(importances={"b": 0.25, "a": 0.75}, raw={"b": 1.0, "a": 3.0},
                            spread={"a": 0.05, "b": 0.01}, evaluator="fanova", n_trials=40,
                            explained=0.9)
    data = importance_data(importance)
    assert data.names == ["a", "b"] and data.importances == [0.75, 0.25]
    assert data.spreads == [0.05, 0.01] and data.n_trials == 40
    ped = importance_data(Importance({"a": 1.0}, {"a": 2.0}, {}, "ped_anova", 10, None))
    assert ped.spreads == [None]
    round_trips(ped)
    with pytest.raises(TypeError, match="Importance"):
        importance_data({"a": 1.0})  # type: ignore[arg-type]


def test_edf_of_the_complete_values() -> None:
    data = edf_data(mixed_trials())
    assert data.values == [1.0, 2.0, 3.0, 5.0]
    assert data.probabilities == [0.25, 0.5, 0.75, 1.0]
    assert edf_data([]).values == []
    round_trips(data)


# -- learning curves -----------------------------------------------------------------------
def curve_trials() -> list[FrozenTrial]:
    curves = {"train_loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, None],
              "val_metric": [0.5, 0.7, 0.8]}
    return [
        trial(0, value=0.8, intermediate_values={1: 0.5, 3: 0.8, 2: 0.7},
              user_attrs={"curves": curves}),
        trial(1, TrialState.PRUNED, intermediate_values={1: 0.2, 2: float("nan")},
              user_attrs={"curves": {"val_metric": [0.2]}}),
        trial(2, TrialState.FAIL),
    ]


def test_curves_from_intermediate_values_with_state_and_label() -> None:
    data = curves_data(curve_trials(), labels={0: "healthy", 7: "overfit"})
    assert data.numbers == [0, 1] and data.states == ["COMPLETE", "PRUNED"]
    assert data.steps == [[1, 2, 3], [1, 2]]
    assert data.values == [[0.5, 0.7, 0.8], [0.2, None]]
    assert data.labels == ["healthy", None]
    assert (data.n_left_out, data.n_without_curve) == (0, 1)
    round_trips(data)


class Pathology(str, enum.Enum):
    OVERFITTING = "overfitting"


def test_a_label_that_is_a_str_enum_counts_as_its_value() -> None:
    data = curves_data(curve_trials(), labels={1: Pathology.OVERFITTING})
    assert data.labels == [None, "overfitting"]
    round_trips(data)


def test_curves_from_user_attrs() -> None:
    data = curves_data(curve_trials(), key="val_loss")
    assert data.numbers == [0] and data.steps == [[1, 2, 3]]
    assert data.values == [[1.1, 0.7, None]] and data.n_without_curve == 2
    assert curves_data(curve_trials(), key="val_metric").numbers == [0, 1]


def test_curves_keep_the_best_and_an_even_sample() -> None:
    trials = [trial(i, value=float(i), intermediate_values={1: float(i)}) for i in range(100)]
    data = curves_data(trials, max_lines=10)
    assert len(data.numbers) == 10 and data.n_left_out == 90
    assert data.numbers[:5] == [0, 1, 2, 3, 4]  # the best five (minimize)
    assert data.numbers[-1] == 99 and data.numbers == sorted(data.numbers)
    best_of_maximize = curves_data(trials, max_lines=10, direction="maximize").numbers
    assert best_of_maximize == [0, 24, 47, 70, 94, 95, 96, 97, 98, 99]
    with pytest.raises(ValueError, match="max_lines"):
        curves_data(trials, max_lines=0)


# -- timeline ------------------------------------------------------------------------------
def test_lanes_reuse_the_first_free_slot() -> None:
    assert assign_lanes([(0, 10), (1, 3), (2, 4), (3, 5), (4, 6), (10, 11)]) == [
        0, 1, 2, 1, 2, 0]
    assert assign_lanes([]) == []


def test_timeline_starts_ends_lanes_and_running_trials() -> None:
    now = T0 + datetime.timedelta(seconds=100)
    trials = [trial(0, value=1.0, start=0, end=10), trial(1, TrialState.PRUNED, start=2, end=5),
              trial(2, TrialState.RUNNING, start=6),
              FrozenTrial(number=3, trial_id=3, state=TrialState.WAITING)]
    data = timeline_data(trials, now=now)
    assert data.numbers == [0, 1, 2] and data.lanes == [0, 1, 1] and data.n_lanes == 2
    assert data.states == ["COMPLETE", "PRUNED", "RUNNING"]
    assert data.ends[2] == now and data.starts[1] == T0 + datetime.timedelta(seconds=2)
    assert data.n_not_started == 1
    assert data.to_dict()["ends"][2] == now.isoformat()
    round_trips(data)
    assert timeline_data([]).n_lanes == 0


# -- scale ---------------------------------------------------------------------------------
N_BIG = 10_000


@pytest.fixture(scope="module")
def big_study() -> Study:
    return build_big_study()


def build_big_study() -> Study:
    """Return a study of 10,000 trials: log/int/categorical/conditional parameters, 20
    reported steps and stored curves each; one in ten pruned, one in fifty failed."""
    study = hyperknob.create_study(study_name="big")
    rng = np.random.default_rng(0)
    for i in range(N_BIG):
        lr, layers, act = 10 ** rng.uniform(-4, -1), int(rng.integers(1, 6)), ["relu", "tanh",
                                                                               "gelu"][i % 3]
        params: dict[str, Any] = {"lr": lr, "layers": layers, "act": act}
        dists: dict[str, BaseDistribution] = {"lr": LR, "layers": LAYERS, "act": ACT}
        if act == "relu":
            params["dropout"], dists["dropout"] = 0.5 * rng.random(), DROPOUT
        state = (TrialState.FAIL if i % 50 == 7 else TrialState.PRUNED if i % 10 == 3
                 else TrialState.COMPLETE)
        curve = (np.linspace(0.2, 0.9, 20) * rng.random()).tolist()
        study.add_trial(trial(
            i, state, curve[-1] if state is TrialState.COMPLETE else None, params, dists,
            start=i * 0.5, end=i * 0.5 + 2.0,
            intermediate_values=dict(enumerate(curve, start=1)),
            user_attrs={"curves": {"val_metric": curve}}))
    return study


BIG_CALLS: dict[str, Callable[[list[FrozenTrial]], Any]] = {
    "history_data": history_data,
    "edf_data": edf_data,
    "parallel_data": parallel_data,
    "slice_data": slice_data,
    "contour_data": lambda trials: contour_data(trials, "lr", "layers"),
    "curves_data": curves_data,
    "curves_data[val_metric]": lambda trials: curves_data(trials, "val_metric"),
    "timeline_data": timeline_data,
}


@pytest.mark.parametrize("name", list(BIG_CALLS))
def test_every_data_function_takes_10000_trials(big_study: Study, name: str) -> None:
    """What each data function returns at 10,000 trials (how fast: benchmarks/viz_speed.py,
    against Optuna)."""
    trials = big_study.trials
    assert len(trials) == N_BIG
    record = BIG_CALLS[name](trials)
    round_trips(record)
    if name.startswith("curves_data"):
        assert len(record.numbers) == 200 and record.n_left_out == N_BIG - 200
        assert len(json.dumps(record.to_dict())) < 200_000


def test_the_big_study_is_read_through_the_study_too(big_study: Study) -> None:
    data = history_data(big_study)
    assert len(data.values) == N_BIG - 1000 - 200
    assert data.n_pruned == 1000 and data.n_failed == 200
    assert timeline_data(big_study).n_lanes == 4  # each trial overlaps the next three


def test_data_functions_do_not_import_plotly() -> None:
    code = (
        "import sys, hyperknob\n"
        "from hyperknob import viz\n"
        "from hyperknob.trial import FrozenTrial, TrialState\n"
        "t = [FrozenTrial(number=0, trial_id=0, state=TrialState.COMPLETE, value=1.0)]\n"
        "viz.history_data(t); viz.edf_data(t); viz.parallel_data(t); viz.timeline_data(t)\n"
        "print('plotly' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
