"""``hyperknob report``: one self-contained HTML file about a study, readable offline.

plotly.js is embedded once (from the installed plotly package: no CDN); each figure is its
JSON and one ``Plotly.newPlot`` call. Every string that comes from the study -- its name,
parameter names, values, user attributes, reasons -- is HTML-escaped where it enters markup,
and figure JSON is made safe for a ``<script>`` element (``<``, ``>`` and ``&`` as ``\\u``
escapes), so a name such as ``</script><script>...`` stays text.
"""

from __future__ import annotations

import datetime
import html
import importlib
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperknob._training_record import read_record
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study import Study

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
td, th { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left;
         vertical-align: top; }
.figure { margin: 8px 0 24px; }
.muted { color: #666; } .advice li { margin: 4px 0; }
details.diagnosis { margin: 4px 0; } details.diagnosis summary { cursor: pointer; }
h2 { border-bottom: 2px solid #eee; padding-bottom: 4px; margin-top: 32px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _script_json(value: Any) -> str:
    """Return JSON that can sit inside a <script> element whatever strings it holds."""
    text = json.dumps(value, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.6g}"
    return str(value)


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...] | None = None) -> str:
    head = "" if header is None else (
        "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    body = "".join("<tr>" + "".join(f"<td>{_e(_fmt(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table>{head}{body}</table>"


def layer_parameters(trial: FrozenTrial, dataset: Mapping[str, Any] | None
                     ) -> list[tuple[str, str, int, int]]:
    """Return ``(layer, W shape, W count, b count)`` of an nn trial's MLP, from its recorded
    widths and the dataset's sizes (no torch needed); empty when they are not recorded."""
    record = read_record(trial)
    widths = record.hidden_layers if record is not None else None
    if not widths or not dataset:
        return []
    n_in = int(dataset.get("n_features") or 0)
    n_out = int(dataset.get("n_classes") or 1)
    rows = []
    for index, width in enumerate([*widths, n_out]):
        name = "output" if index == len(widths) else f"hidden {index + 1}"
        rows.append((name, f"{width} x {n_in}", int(width) * n_in, int(width)))
        n_in = int(width)
    return rows


def build_report(study: Study, *, now: datetime.datetime | None = None) -> str:
    """Return the report of a study as one HTML document."""
    from hyperknob import viz
    from hyperknob._losses import objective_trials
    from hyperknob.analysis import diagnose_study, param_importances, study_advice

    multi = study.is_multi_objective()
    names = study.metric_names or [f"objective {k}" for k in range(len(study.directions))]
    # Several objectives: the sections made for one value read the first (the metric).
    trials = objective_trials(study.trials, 0) if multi else study.trials
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    states = Counter(t.state.name for t in trials)
    attrs = study.user_attrs
    dataset = attrs.get("dataset") if isinstance(attrs.get("dataset"), dict) else None
    metric = str(attrs.get("metric", names[0] if multi else "objective value"))
    sections: list[str] = []
    figures: list[tuple[str, str, Any]] = []  # (id, title, figure)

    def figure(title: str, make: Callable[[], Any]) -> None:
        try:
            fig = make()
        except (ValueError, ImportError) as error:
            sections.append(f"<p class='muted'>{_e(title)}: not drawn ({_e(error)})</p>")
            return
        ident = f"fig{len(figures)}"
        figures.append((ident, title, fig))
        sections.append(f"<div class='figure' id='{ident}' data-title='{_e(title)}'></div>")

    # -- summary --------------------------------------------------------------------------
    when = (now or datetime.datetime.now()).strftime("%Y-%m-%d %H:%M")
    counts = ", ".join(f"{_e(k)} {v}" for k, v in sorted(states.items())) or "no trials"
    sections.append(f"<h1>Study <span id='study-name'>{_e(study.study_name)}</span></h1>")
    aims = ", ".join(f"{name} ({d.name.lower()})"
                     for name, d in zip(names, study.directions, strict=True))
    sections.append(f"<p class='muted'>{len(trials)} trials ({counts}); "
                    + (f"objectives {_e(aims)}" if multi else
                       f"direction {_e(study.direction.name.lower())}; {_e(metric)}")
                    + f"; report made {when}.</p>")
    tuned = attrs.get("tuned")
    if isinstance(tuned, dict):
        sections.append(_tuned(tuned))
    if multi:
        sections.append(_front(study, names))
        figure("Pareto front", lambda: viz.plot_pareto_front(study))
    # -- best trial -----------------------------------------------------------------------
    sections.append("<h2>Best trial</h2>" if not multi else
                    f"<h2>Best trial on {_e(names[0])}</h2><p class='muted'>The sections below "
                    f"read the first objective, {_e(names[0])}.</p>")
    if complete:
        best = _best(study, complete, multi)
        sections.append(f"<p>Trial <b id='best-number'>#{best.number}</b>: {_e(metric)} "
                        f"<b id='best-value'>{_e(_fmt(best.value))}</b></p>")
        left = _table([(k, v) for k, v in sorted(best.params.items())],
                      ("hyperparameter (set before training)", "value"))
        layers = layer_parameters(best, dataset)
        record = read_record(best)
        right = ""
        if layers:
            total = sum(w + b for _, _, w, b in layers)
            right = _table([*layers, ("total", "", total, "")],
                           ("layer", "W (out x in)", "W", "b")) + (
                f"<p>Learned parameters (W and b, set by training): <b id='n-parameters'>"
                f"{total:,}</b></p>")
        elif record is not None and record.n_parameters is not None:
            right = f"<p>Learned parameters: {_e(record.n_parameters)}</p>"
        sections.append(f"<div style='display:flex;gap:40px'><div>{left}</div>"
                        f"<div>{right}</div></div>")
    else:
        sections.append("<p>No COMPLETE trial yet.</p>")
    # -- diagnosis and advice -------------------------------------------------------------
    diagnoses = diagnose_study(trials)
    sections.append("<h2>Diagnosis of the training runs</h2>")
    if diagnoses:
        groups: dict[str, list[tuple[int, Any]]] = {}
        for number, found in sorted(diagnoses.items()):
            groups.setdefault(str(found.pathology.value), []).append((number, found))
        order = sorted(groups.items(), key=lambda kv: (kv[0] == "healthy", -len(kv[1])))
        sections.append("<p>" + "; ".join(f"{_e(label)}: {len(rows)} trials"
                                          for label, rows in order) + "</p>")
        for label, rows in order:
            sections.append(
                f"<details class='diagnosis' data-diagnosis='{_e(label)}'><summary>"
                f"{_e(label)} ({len(rows)} trials: "
                f"{_e(', '.join('#' + str(n) for n, _ in rows[:12]))}"
                f"{', ...' if len(rows) > 12 else ''})</summary>"
                + _table([(f"#{n}", d.summary, d.advice) for n, d in rows],
                         ("trial", "evidence", "next step")) + "</details>")
    else:
        sections.append("<p class='muted'>No trial recorded training curves.</p>")
    advice = study_advice(study) if len(complete) >= 2 else []  # (the first objective)
    sections.append("<h2>Advice on the search</h2>")
    sections.append("<ul class='advice'>" + "".join(
        f"<li><b>{_e(a.kind)}</b>: {_e(a.message)}</li>" for a in advice) + "</ul>"
        if advice else "<p class='muted'>Nothing to advise yet.</p>")
    # -- plots ----------------------------------------------------------------------------
    sections.append("<h2>Plots</h2>")
    figure("Optimization history", lambda: viz.plot_optimization_history(study))
    importance = None
    if len(complete) >= 2:
        try:
            importance = param_importances(study)
        except ValueError as error:
            sections.append(f"<p class='muted'>Importance: not computed ({_e(error)})</p>")
    if importance is not None:
        figure("Hyperparameter importance (fANOVA)",
               lambda: viz.plot_param_importances(importance))
    figure("Parallel coordinates", lambda: viz.plot_parallel_coordinate(study))
    figure("Slice", lambda: viz.plot_slice(study))
    if importance is not None and len(importance.importances) >= 2:
        x, y = list(importance.importances)[:2]
        figure(f"Contour of {x} and {y}", lambda: viz.plot_contour(study, x, y))
    labels = {n: str(d.pathology.value) for n, d in diagnoses.items()}
    if any(t.intermediate_values for t in trials):
        figure("Learning curves by state", lambda: viz.plot_learning_curves(study))
        if labels:
            figure("Learning curves by diagnosis", lambda: viz.plot_learning_curves(
                study, color_by="diagnosis", labels=labels))
    figure("Empirical distribution of the values", lambda: viz.plot_edf(study))
    figure("Timeline", lambda: viz.plot_timeline(study))
    if attrs:
        sections.append("<h2>Study attributes</h2>" + _table(
            [(k, json.dumps(v, default=str)) for k, v in sorted(attrs.items())]))
    return _document(study.study_name, sections, figures)


def _best(study: Study, complete: list[FrozenTrial], multi: bool) -> FrozenTrial:
    """Return the best trial (several objectives: the feasible one best on the first)."""
    if not multi:
        return study.best_trial
    from hyperknob.samplers._constraints import is_feasible

    sign = 1.0 if study.directions[0].name == "MINIMIZE" else -1.0
    pool = [t for t in complete if is_feasible(t)] or complete
    return min(pool, key=lambda t: (sign * float(t.value or 0.0), t.number))


def _front(study: Study, names: list[str]) -> str:
    """Return the Pareto front section: its trials, best on the first objective first."""
    front = study.best_trials
    sign = 1.0 if study.directions[0].name == "MINIMIZE" else -1.0
    front.sort(key=lambda t: (sign * (t.values or (0.0,))[0], t.number))
    rows = [(f"#{t.number}", *(t.values or ()),
             ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(t.params.items())))
            for t in front]
    return (f"<h2>Pareto front</h2><p id='pareto-count'>{len(front)} trials are on the "
            "front: none of them is beaten in every objective by another trial.</p>"
            + _table(rows, ("trial", *names, "hyperparameters")))


def _tuned(tuned: Mapping[str, Any]) -> str:
    """Return the opening figures of a study ``nn.tune`` finished: the tuned model's test
    metric beside the rule of thumb's, and what the search spent."""
    metric = _e(tuned.get("metric", "metric"))
    test = tuned.get("test")
    base = tuned.get("rule_of_thumb_test")
    line = f"Test {metric}: "
    if isinstance(base, (int, float)):
        line += (f"rule of thumb <b id='rule-of-thumb-test'>{_e(_fmt(float(base)))}</b> "
                 "&rarr; ")
    line += f"tuned <b id='tuned-test'>{_e(_fmt(test))}</b>"
    spent = (f"{_e(tuned.get('trials'))} trials, {_e(tuned.get('epochs'))} epochs of "
             "training")
    return (f"<div id='tuned'><p style='font-size:18px'>{line}</p>"
            f"<p>{spent}. Final model: {_e(tuned.get('selection', ''))}.</p></div>")


def _document(name: str, sections: list[str], figures: list[tuple[str, str, Any]]) -> str:
    plotly_js = str(importlib.import_module("plotly.offline").get_plotlyjs())
    calls = []
    for ident, _, fig in figures:
        spec = json.loads(fig.to_json())
        calls.append(f"Plotly.newPlot({_script_json(ident)}, {_script_json(spec['data'])}, "
                     f"{_script_json(spec.get('layout', {}))}, {{responsive: true}});")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>hyperknob report: {_e(name)}</title><style>{_STYLE}</style>"
        f"<script>{plotly_js}</script></head><body>\n" + "\n".join(sections) +
        "\n<script>\n" + "\n".join(calls) + "\n</script>\n</body></html>\n")


def write_report(study: Study, path: str | Path) -> Path:
    """Write :func:`build_report` to ``path`` (parents created) and return it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(study), encoding="utf-8")
    return out
