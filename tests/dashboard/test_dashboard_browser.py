"""The dashboard in headless Chromium: it draws, shows the study's numbers, escapes names, and
shows a trial that finishes while the page is open."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import hyperknob
from hyperknob.dashboard import make_server
from hyperknob.storages import get_storage

NAME = 'digits <script>window.pwned = 1</script> & "quotes"'


@pytest.fixture
def live(tmp_path: Any) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path}/dash.db"
    study = hyperknob.create_study(study_name=NAME, storage=url, direction="maximize",
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.set_user_attr("note", "<img src=x onerror=window.pwned=2>")
    study.optimize(lambda t: t.suggest_float("x<b>", 0.0, 1.0), n_trials=8)
    server, app, _ = make_server(get_storage(url), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", url
    finally:
        app.closing.set()
        server.shutdown()
        server.server_close()


def test_the_dashboard_renders_and_follows_a_finishing_trial(
    browser: Any, live: tuple[str, str], screenshots: str
) -> None:
    address, url = live
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(address)
    page.wait_for_function("document.getElementById('counts').textContent.includes('8 trials')")
    assert page.inner_text("#title") == f"{NAME} (maximize)"  # as text, not markup
    assert page.inner_text("#counts") == "8 trials: COMPLETE 8"
    study = hyperknob.load_study(study_name=NAME, storage=url)
    best = study.best_trial
    assert page.inner_text("#best").startswith(f"best: trial #{best.number}, value ")
    assert float(page.inner_text("#best").rsplit(" ", 1)[1]) == pytest.approx(best.value,
                                                                                rel=1e-5)
    page.wait_for_selector("#history .main-svg")  # plotly drew the history
    assert page.locator("#history .scatterlayer .trace").count() >= 1
    assert page.locator("#trials tr").count() == 8
    assert "x<b>" in page.inner_text("#trials")
    path = os.path.join(screenshots, "dashboard.png")
    page.screenshot(path=path, full_page=True)
    # A trial finishes while the page is open: the server's event brings it in.
    study.optimize(lambda t: t.suggest_float("x<b>", 0.0, 1.0), n_trials=1)
    page.wait_for_function(
        "document.getElementById('counts').textContent.includes('9 trials')"
        " && document.querySelectorAll('#trials tr').length === 9", timeout=10_000)
    assert page.evaluate("window.pwned === undefined") and dialogs == []
    page.close()


def test_the_dashboard_shows_the_front_of_a_multi_objective_study(
    browser: Any, tmp_path: Any, screenshots: str
) -> None:
    url = f"sqlite:///{tmp_path}/mo.db"
    study = hyperknob.create_study(study_name="pareto", storage=url,
                                   directions=["minimize", "maximize"],
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.set_metric_names(["cost", "gain"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=12)
    server, app, _ = make_server(get_storage(url), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_function("document.getElementById('best').textContent.includes('Pareto')")
        assert page.inner_text("#best") == (
            f"Pareto front: {len(study.best_trials)} trials (cost vs gain)")
        assert page.inner_text("#title") == "pareto (minimize, maximize)"
        page.wait_for_selector("#history .main-svg")
        first = study.trials[0]
        assert f"{first.values[0]:.4g}"[:4] in page.inner_text("#trials")  # type: ignore[index]
        page.screenshot(path=os.path.join(screenshots, "dashboard-pareto.png"), full_page=True)
        page.close()
    finally:
        app.closing.set()
        server.shutdown()
        server.server_close()
