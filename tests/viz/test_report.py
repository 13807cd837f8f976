"""The HTML report: self-contained, escaped, and in headless Chromium every plot draws and the
numbers match the study."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import hyperknob
from hyperknob import TrialPruned
from hyperknob.cli import main
from hyperknob.trial import Trial
from hyperknob.viz import build_report, layer_parameters, write_report

PAYLOAD = "<script>window.pwned=1</script>"


def planted_study(storage: str | None = None) -> hyperknob.Study:
    study = hyperknob.create_study(study_name=f"s {PAYLOAD}", storage=storage,
                                   direction="maximize",
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.set_user_attr("note", f"<img src=x onerror=window.pwned=2> {PAYLOAD}")
    study.set_user_attr("metric", "validation accuracy")

    def objective(trial: Trial) -> float:
        x = trial.suggest_float(f"x{PAYLOAD}", 0.0, 1.0)
        kind = trial.suggest_categorical("kind", ["a", PAYLOAD])
        trial.set_user_attr("label", PAYLOAD)
        for step in range(1, 6):
            trial.report(x * step / 5, step)
            if x < 0.15 and step == 3:
                raise TrialPruned(f"too low {PAYLOAD}")
        return x + (0.1 if kind == "a" else 0.0)

    study.optimize(objective, n_trials=25)
    return study


def test_the_report_is_self_contained_and_escaped() -> None:
    text = build_report(planted_study())
    assert PAYLOAD not in text  # anywhere: markup, attributes or figure JSON
    assert "<img src=x" not in text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in text  # shown as text
    assert text.count("Plotly.newPlot(") >= 8
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs()
    assert text.count(library) == 1  # plotly.js embedded once
    rest = text.replace(library, "")
    assert "cdn.plot.ly" not in rest and "<script src=" not in rest  # nothing to download


def test_layer_parameters_from_recorded_widths() -> None:
    trial = hyperknob.trial.FrozenTrial(0, 0, hyperknob.TrialState.COMPLETE, 0.9, user_attrs={
        "curves": {"val_loss": [1.0]}, "config": {"hidden_layers": [16, 8]}})
    rows = layer_parameters(trial, {"n_features": 4, "n_classes": 3})
    assert rows == [("hidden 1", "16 x 4", 64, 16), ("hidden 2", "8 x 16", 128, 8),
                    ("output", "3 x 8", 24, 3)]
    assert layer_parameters(trial, None) == []


def test_the_report_in_a_browser(browser: Any, tmp_path: Path, screenshots: str) -> None:
    study = planted_study()
    path = write_report(study, tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.figure .main-svg').length >= 8")
    figures = page.locator(".figure")
    assert figures.count() >= 8
    for index in range(figures.count()):  # every figure drew something
        assert figures.nth(index).locator(".main-svg").count() >= 1
    # Long columns travel as NumPy arrays (plotly's binary form): the browser decodes them
    # and draws a point per COMPLETE trial in the history.
    history = "document.querySelector('.js-plotly-plot')"
    complete = [t.number for t in study.trials if t.state.name == "COMPLETE"]
    assert page.evaluate(f"Array.from({history}._fullData[0].x)") == complete
    assert page.evaluate(f"{history}.querySelectorAll('.scatterlayer .point').length") == len(
        complete)
    assert page.inner_text("#study-name") == f"s {PAYLOAD}"
    best = study.best_trial
    assert page.inner_text("#best-number") == f"#{best.number}"
    assert float(page.inner_text("#best-value")) == pytest.approx(best.value, rel=1e-5)
    assert page.evaluate("window.pwned === undefined") and dialogs == []
    page.screenshot(path=os.path.join(screenshots, "report.png"), full_page=True)
    page.close()


def test_the_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    planted_study(url)
    out = tmp_path / "out" / "r.html"
    assert main(["report", f"s {PAYLOAD}", "-o", str(out), "--storage", url]) == 0
    assert out.exists() and "Wrote" in capsys.readouterr().out
    assert main(["report", "nope", "--storage", url]) == 1
