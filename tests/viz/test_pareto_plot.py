"""The Pareto front: its data, its figure, its place in the report and the dashboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.dashboard._api import summary
from hyperknob.trial import FrozenTrial, Trial
from hyperknob.viz import build_report, pareto_data, plot_pareto_front, write_report


def _constraints(trial: FrozenTrial) -> tuple[float]:
    return (trial.params["x"] - 0.9,)  # x above 0.9 breaks it


def two_objective_study(n_objectives: int = 2) -> hyperknob.Study:
    sampler = hyperknob.samplers.NSGAIISampler(seed=0, population_size=8,
                                               constraints_func=_constraints)
    study = hyperknob.create_study(directions=["minimize", "maximize", "minimize"][
        :n_objectives], sampler=sampler)

    def objective(trial: Trial) -> tuple[float, ...]:
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        for step in range(3):
            trial.report(x * step, step)
        return (x + y, x * (1 - y), y)[:n_objectives]

    study.optimize(objective, n_trials=30)
    return study


def test_pareto_data_marks_the_front_and_the_infeasible() -> None:
    study = two_objective_study()
    data = pareto_data(study)
    assert data.names == ["Objective 0", "Objective 1"]
    assert data.directions == ["minimize", "maximize"]
    assert sorted(data.front()) == [t.number for t in study.best_trials]
    for number, feasible in zip(data.numbers, data.feasible, strict=True):
        assert feasible == (study.trials[number].params["x"] <= 0.9)
    assert not any(f and not ok for f, ok in zip(data.on_front, data.feasible, strict=True))
    study.set_metric_names(["cost", "gain"])
    assert pareto_data(study).names == ["cost", "gain"]
    picked = pareto_data(study, targets=lambda t: (t.values[1],),  # type: ignore[index]
                         target_directions=["maximize"], target_names=["gain"])
    assert len(picked.front()) >= 1 and picked.names == ["gain"]
    assert pareto_data(study).to_dict()["numbers"] == data.numbers


def test_the_figure_draws_front_dominated_and_infeasible_trials() -> None:
    pytest.importorskip("plotly")
    study = two_objective_study()
    fig = plot_pareto_front(study)
    names = {trace.name for trace in fig.data}
    assert {"Pareto front", "dominated", "front"} <= names
    front_trace = next(t for t in fig.data if t.name == "Pareto front")
    assert len(front_trace.x) == len(study.best_trials)
    only_front = plot_pareto_front(study, include_dominated_trials=False)
    assert {t.name for t in only_front.data} <= {"Pareto front", "front"}
    three = plot_pareto_front(two_objective_study(3))
    assert any(t.type == "scatter3d" for t in three.data)
    with pytest.raises(ValueError, match="2 or 3 objectives"):
        plot_pareto_front(study, targets=lambda t: (1.0, 2.0, 3.0, 4.0),
                          target_directions=["minimize"] * 4)


def test_the_report_of_a_multi_objective_study(browser: Any, tmp_path: Path,
                                               screenshots: str) -> None:
    study = two_objective_study()
    study.set_metric_names(["cost", "gain"])
    html = build_report(study)
    assert "Pareto front" in html and "objectives cost (minimize), gain (maximize)" in html
    assert f"{len(study.best_trials)} trials are on the front" in html
    path = write_report(study, tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.figure .main-svg').length >= 5")
    assert page.locator("[data-title='Pareto front'] .main-svg").count() >= 1
    assert page.inner_text("#pareto-count").startswith(f"{len(study.best_trials)} trials")
    page.screenshot(path=os.path.join(screenshots, "report-pareto.png"), full_page=True)
    page.close()


def test_dashboard_summary_of_a_multi_objective_study() -> None:
    study = two_objective_study()
    data = summary(study.storage, study.study_name)
    assert data["direction"] == "minimize, maximize" and data["best"] is None
    assert sorted(data["pareto"]["number"]) == [t.number for t in study.best_trials]
    assert all(len(v) == 2 for v in data["pareto"]["values"])
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert data["history"]["n_points"] == sum(t.params["x"] <= 0.9 for t in complete)
