"""Transfer across data sets: ``nn.tune(..., warm_start=[...])`` against the same search without.

Leave one data set out: every data set -- the eight built-in ones and four made offline
(``GENERATED``) -- is a target once, tuned for ``--trials`` trials
(default 25) with each method and seed; the sources are studies of the *other* data sets,
made once by ``--part sources`` (``--source-trials`` trials each, seed 100, the defaults of
``nn.tune``; ``--targets`` says which) in ``--sources`` (a SQLite file). Four more data sets
(``HELD_OUT``, chosen after the design was tuned on the twelve) are targets only: they learn
from all twelve studies. Methods (all ``nn.tune`` with ``ensemble=1``:
the final model's making does not touch the search):

- ``none``: no transfer, the defaults (TPE + asynchronous successive halving);
- ``none-auto``: no transfer, ``sampler="auto"`` (the GP first);
- ``warm``: warm start from the other data sets' studies, the default sampler (their best
  configurations that beat their rules of thumb first, trained in full; priors fitted to
  their optima, weighed by how they rank the new trials);
- ``warm-auto``: the same with ``sampler="auto"`` (and the GP's RGPE ensemble of them);
- ``mislead`` / ``mislead-auto``: warm start from one deliberately misleading study: the
  target's own source study with its ranking reversed (its "best" trials are its worst);
- ``none-reseed``: ``none`` with another search seed (seed + 1000) on the same data split:
  a method exactly as good as ``none``, judged on the same validation set -- the noise floor
  of the criterion (the ``noise floor`` line instead takes the next seed's ``none``, whose
  split differs).

Scores, per (target, seed): ``final`` = the best validation score of ``none`` after all its
trials; *trials to reach* = the first trial after which a method's best validation score is
at least ``final`` (">T" when never within the budget: counted as T + 1, a lower bound of its
true cost); the same in epochs trained. Speed-up = ``none``'s trials to reach / the method's.
Goal: a median speed-up (over seeds) of at least 2 on most targets for the transfer
default; a misleading source costs at most 1.2x ``none``'s trials (median over seeds).

BLAS and OpenMP run one thread. Every trial's state, value and epochs are kept, so the tables
are recomputed from the JSON (``--merge``).

Examples::

    python benchmarks/transfer.py --part sources --sources /tmp/transfer-sources.db
    python benchmarks/transfer.py --part sources --sources /tmp/transfer-sources.db \\
        --targets gen-e gen-f gen-g gen-h
    python benchmarks/transfer.py --sources /tmp/transfer-sources.db \\
        --out benchmarks/results/transfer.json
    python benchmarks/transfer.py --sources /tmp/transfer-sources.db --targets iris wine \\
        --methods none warm --seeds 0 --out /tmp/transfer-smoke.json
    python benchmarks/transfer.py --merge benchmarks/results/transfer-*.json \\
        --out benchmarks/results/transfer-merged.json
    python benchmarks/transfer.py --merge a.json b.json --methods none warm --out m.json
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _results import save, source_sha256  # noqa: E402

BUILTIN = ("digits", "iris", "wine", "breast_cancer", "diabetes", "moons", "circles",
           "classification")
#: Small data made offline (``make_data``): related classification tasks of scikit-learn's
#: ``make_classification`` (1,500 rows; features, informative ones, classes, separation and
#: label noise differ), written as CSV files with the target column ``y``.
GENERATED = {
    "gen-a": {"n_features": 20, "n_informative": 8, "n_classes": 3, "class_sep": 0.8,
              "flip_y": 0.05, "random_state": 11},
    "gen-b": {"n_features": 30, "n_informative": 12, "n_classes": 4, "class_sep": 0.7,
              "flip_y": 0.05, "random_state": 12},
    "gen-c": {"n_features": 12, "n_informative": 6, "n_classes": 2, "class_sep": 0.5,
              "flip_y": 0.1, "random_state": 13},
    "gen-d": {"n_features": 40, "n_informative": 10, "n_classes": 5, "class_sep": 1.0,
              "flip_y": 0.02, "random_state": 14},
}
DATASETS = (*BUILTIN, *GENERATED)
#: Held-out targets, chosen on 2026-12-05 after the design runs v1-v10 and before any run on
#: them: they learn from the studies of all twelve ``DATASETS`` (they are never a source), so
#: they judge a design that was tuned on the twelve. ``gen-g`` is a regression
#: (``make_regression``: ``y`` real-valued).
HELD_OUT = {
    "gen-e": {"n_features": 16, "n_informative": 4, "n_classes": 2, "class_sep": 1.2,
              "flip_y": 0.03, "random_state": 21},
    "gen-f": {"n_features": 50, "n_informative": 20, "n_classes": 6, "class_sep": 0.9,
              "flip_y": 0.05, "random_state": 22},
    "gen-g": {"n_features": 20, "n_informative": 10, "noise": 20.0, "random_state": 23},
    "gen-h": {"n_features": 25, "n_informative": 15, "n_classes": 3, "class_sep": 0.6,
              "flip_y": 0.08, "random_state": 24},
    # A second held-out group, chosen when run v13 (a variant of v11) was started and before
    # any run on them: it judges v13 against v11 (``gen-k`` a regression).
    "gen-i": {"n_features": 30, "n_informative": 6, "n_classes": 2, "class_sep": 0.7,
              "flip_y": 0.1, "random_state": 31},
    "gen-j": {"n_features": 10, "n_informative": 5, "n_classes": 4, "class_sep": 1.5,
              "flip_y": 0.02, "random_state": 32},
    "gen-k": {"n_features": 40, "n_informative": 8, "noise": 50.0, "random_state": 33},
    "gen-l": {"n_features": 60, "n_informative": 30, "n_classes": 3, "class_sep": 1.0,
              "flip_y": 0.05, "random_state": 34},
    # A third group, chosen before any run on it, to judge v9 (one rule of thumb first)
    # against v11 by a rule fixed in advance (BENCHMARKS.md).
    "gen-m": {"n_features": 20, "n_informative": 10, "n_classes": 5, "class_sep": 1.1,
              "flip_y": 0.03, "random_state": 41},
    "gen-n": {"n_features": 8, "n_informative": 4, "n_classes": 2, "class_sep": 0.8,
              "flip_y": 0.15, "random_state": 42},
    "gen-o": {"n_features": 12, "n_informative": 6, "noise": 10.0, "random_state": 43},
    "gen-p": {"n_features": 35, "n_informative": 12, "n_classes": 3, "class_sep": 0.8,
              "flip_y": 0.05, "random_state": 44},
}
ALL = (*DATASETS, *HELD_OUT)
METHODS = ("none", "none-auto", "warm", "warm-auto", "mislead", "mislead-auto", "none-reseed")
#: What ``none-reseed`` adds to the seed of the search (the data split keeps the seed).
RESEED = 1000
SOURCE_SEED = 100
#: The seeds a run takes unless ``--seeds`` says otherwise.
SEEDS = (0, 1, 2, 3, 4)


def make_data(folder: str) -> None:
    """Write the generated data sets as CSV files in ``folder`` (kept if already there)."""
    import numpy as np
    from sklearn.datasets import make_classification, make_regression

    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, options in {**GENERATED, **HELD_OUT}.items():
        path = Path(folder) / f"{name}.csv"
        if path.exists():
            continue
        regression = "n_classes" not in options
        if regression:
            x, y = make_regression(n_samples=1500, **options)
        else:
            x, y = make_classification(n_samples=1500, n_redundant=2, **options)
        header = ",".join([*(f"x{i}" for i in range(x.shape[1])), "y"])
        np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="",
                   fmt=[*(["%.6g"] * x.shape[1]), "%.6g" if regression else "%d"])


def data_arg(dataset: str, folder: str) -> tuple[str, str | None]:
    """Return what ``nn.tune`` takes for a data set: a built-in name, or a CSV and its
    target column."""
    if dataset in GENERATED or dataset in HELD_OUT:
        return str(Path(folder) / f"{dataset}.csv"), "y"
    return dataset, None


def source_name(dataset: str) -> str:
    return f"{dataset}-source"


def misleading_name(dataset: str) -> str:
    return f"{dataset}-misleading"


def make_sources(path: str, trials: int, datasets: list[str], folder: str) -> None:
    """Tune each data set once (its source study) and store a reversed copy of it (its
    misleading study: the same trials, the ranking turned upside down)."""
    import hyperknob
    from hyperknob import nn

    url = f"sqlite:///{path}"
    existing = set(hyperknob.get_all_study_names(url)) if Path(path).exists() else set()
    for dataset in datasets:
        if source_name(dataset) not in existing:
            started = time.perf_counter()
            data, target = data_arg(dataset, folder)
            nn.tune(data, target=target, trials=trials, seed=SOURCE_SEED, storage=url,
                    study_name=source_name(dataset), ensemble=1, log=None, progress=False)
            print(f"source {dataset}: {time.perf_counter() - started:.0f} s", flush=True)
        if misleading_name(dataset) not in existing:
            source = hyperknob.load_study(study_name=source_name(dataset), storage=url)
            flipped = "minimize" if source.direction.name == "MAXIMIZE" else "maximize"
            copy = hyperknob.create_study(study_name=misleading_name(dataset), storage=url,
                                          direction=flipped)
            copy.set_user_attr("dataset", source.user_attrs.get("dataset"))
            copy.add_trials([t for t in source.trials if t.state.is_finished()])


def run(target: str, method: str, seed: int, trials: int, sources_path: str,
        folder: str) -> dict[str, Any]:
    """Tune ``target`` with ``method``; return every trial's state, value and epochs."""
    import hyperknob
    from hyperknob import nn

    url = f"sqlite:///{sources_path}"
    warm: list[Any] | None = None
    if method.startswith("warm"):
        warm = [hyperknob.load_study(study_name=source_name(d), storage=url)
                for d in DATASETS if d != target]
    elif method.startswith("mislead"):
        warm = [hyperknob.load_study(study_name=misleading_name(target), storage=url)]
    started = time.perf_counter()
    path, column = data_arg(target, folder)
    data: str | nn.Dataset = path
    search_seed = seed
    if method == "none-reseed":  # the split of ``seed``, another search
        data, column, search_seed = nn.load_dataset(path, target=column, seed=seed), None, (
            seed + RESEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = nn.tune(data, target=column, trials=trials, seed=search_seed, ensemble=1,
                         log=None, progress=False, warm_start=warm,
                         sampler="auto" if method.endswith("auto") else None)
    rows = []
    for trial in result.study.trials:
        record = nn.read_record(trial)
        rows.append({"number": trial.number, "state": trial.state.name,
                     "value": trial.values[0] if trial.values else None,
                     "epochs": record.epochs_run if record is not None else 0,
                     "source": trial.user_attrs.get("source")})
    return {"target": target, "method": method, "seed": seed, "trials": rows,
            "direction": result.direction, "seconds": time.perf_counter() - started,
            "test": result.test}


# -- scoring ------------------------------------------------------------------------------------
def best_curve(run: dict[str, Any]) -> list[float]:
    """Return the best validation score (signed: higher is better) after each trial."""
    sign = 1.0 if run["direction"] == "maximize" else -1.0
    best, out = -math.inf, []
    for row in run["trials"]:
        if row["state"] == "COMPLETE" and row["value"] is not None:
            best = max(best, sign * row["value"])
        out.append(best)
    return out


def to_reach(run: dict[str, Any], goal: float) -> tuple[int, int]:
    """Return the trials and the epochs after which the run first scored ``goal`` (signed),
    or (T + 1, all epochs + 1) when it never did."""
    curve, epochs = best_curve(run), 0
    for index, (score, row) in enumerate(zip(curve, run["trials"], strict=True)):
        epochs += row["epochs"] or 0
        if score >= goal - 1e-12:
            return index + 1, epochs
    return len(curve) + 1, epochs + 1


def score_table(runs: list[dict[str, Any]], trials: int) -> str:
    by_key = {(r["target"], r["method"], r["seed"]): r for r in runs}
    targets = [t for t in ALL if any(r["target"] == t for r in runs)]
    methods = [m for m in METHODS if any(r["method"] == m for r in runs)]
    lines = [f"### Trials to reach the no-transfer run's final validation score "
             f"(median over seeds; >{trials}: never within {trials}), and the speed-up",
             "", "| target | " + " | ".join(methods) + " |",
             "|---|" + "---:|" * len(methods)]
    speedups: dict[str, list[float]] = {m: [] for m in methods}
    epoch_ups: dict[str, list[float]] = {m: [] for m in methods}
    mean_ups: dict[str, list[float]] = {m: [] for m in methods}
    for target in targets:
        cells = []
        for method in methods:
            counts, ratios, epoch_ratios, bases = [], [], [], []
            for seed in sorted({r["seed"] for r in runs if r["target"] == target}):
                base, own = by_key.get((target, "none", seed)), by_key.get(
                    (target, method, seed))
                if base is None or own is None:
                    continue
                goal = best_curve(base)[-1]
                reach, epochs = to_reach(own, goal)
                base_reach, base_epochs = to_reach(base, goal)
                counts.append(reach)
                bases.append(base_reach)
                ratios.append(base_reach / reach)
                epoch_ratios.append(base_epochs / max(epochs, 1))
            if not counts:
                cells.append("-")
                continue
            median = statistics.median(counts)
            ratio = statistics.median(ratios)
            speedups[method].append(ratio)
            mean_ups[method].append(statistics.fmean(bases) / statistics.fmean(counts))
            epoch_ups[method].append(statistics.median(epoch_ratios))
            shown = f">{trials}" if median > trials else f"{median:g}"
            cells.append(f"{shown} ({ratio:.2f}x, {len(counts)})")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    lines += ["", "Targets with a median speed-up of at least 2x / at most 1/1.2 (slower by "
              "more than 1.2x):", ""]
    for method in methods:
        ups = speedups[method]
        lines.append(f"- {method}: {_tally(ups)}; in epochs trained: "
                     + _tally(epoch_ups[method], of=False, sep=", ")
                     if ups else f"- {method}: no runs")
    for method in [m for m in methods if m != "none" and mean_ups[m]]:
        ups = mean_ups[method]
        lines.append(f"- {method}, the mean over seeds of trials to reach (never: T + 1, which "
                     f"flatters a method that misses), ratio of the means: {_tally(ups)}")
    for method in [m for m in methods if m != "none"]:
        spent = [sum(row["epochs"] or 0 for row in run["trials"])
                 / max(sum(row["epochs"] or 0 for row in base["trials"]), 1)
                 for (t, m, seed), run in by_key.items() if m == method
                 for base in [by_key.get((t, "none", seed))] if base is not None]
        if spent:
            mean = math.exp(statistics.fmean(math.log(max(x, 1e-9)) for x in spent))
            lines.append(f"- {method}: epochs of all {trials} trials / `none`'s: geometric mean "
                         f"{mean:.2f}x")
    lines += _noise_floor(by_key, targets)
    lines += _ceiling(by_key, targets)
    lines += _median_goal(by_key, targets, [m for m in methods if m != "none"], trials)
    lines += _at_header("Best validation score at 10 and at the last trial (signed: higher "
                        "is better; mean over seeds)", methods, trials)
    for target in targets:
        cells = []
        for method in methods:
            curves = [best_curve(r) for r in runs if r["target"] == target
                      and r["method"] == method]
            for at in (10, trials):
                values = [c[min(at, len(c)) - 1] for c in curves if c]
                cells.append(f"{statistics.fmean(values):.4f}" if values else "-")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    lines += _paired(by_key, targets, [m for m in methods if m != "none"], trials)
    return "\n".join(lines)


def _tally(ups: list[float], *, of: bool = True, sep: str = "; ") -> str:
    """Return how many speed-ups are at least 2x and below 1/1.2, and their geometric mean:
    ``"3 of 24 at >= 2x; 2 slower than 1.2x; geometric mean 1.25x"`` (without ``of``: no
    "of 24")."""
    count = f"{sum(u >= 2.0 for u in ups)}" + (f" of {len(ups)}" if of else "")
    mean = math.exp(statistics.fmean(math.log(u) for u in ups))
    return sep.join([f"{count} at >= 2x", f"{sum(u < 1 / 1.2 for u in ups)} slower than 1.2x",
                     f"geometric mean {mean:.2f}x"])


def _at_header(title: str, methods: list[str], trials: int) -> list[str]:
    """Return a section title and the head of a table with columns at 10 and ``trials``."""
    return ["", f"### {title}", "",
            "| target | " + " | ".join(f"{m} @10 | {m} @{trials}" for m in methods) + " |",
            "|---|" + "---:|" * (2 * len(methods))]


def _paired(by_key: dict[tuple[str, str, int], Any], targets: list[str], methods: list[str],
            trials: int) -> list[str]:
    """Return the table of paired differences from ``none`` (same target and seed) of the
    best score at 10 and at the last trial: mean and its standard error over seeds."""
    if not methods:
        return []
    lines = _at_header(f"Paired difference from `none` of the best score at 10 and {trials} "
                       "trials (method - none, same seed; mean +- standard error over seeds)",
                       methods, trials)
    for target in targets:
        cells = []
        for method in methods:
            for at in (10, trials):
                diffs = []
                for (t, m, seed), run in by_key.items():
                    base = by_key.get((target, "none", seed))
                    if t == target and m == method and base is not None:
                        own, ref = best_curve(run), best_curve(base)
                        diffs.append(own[min(at, len(own)) - 1] - ref[min(at, len(ref)) - 1])
                if len(diffs) > 1:
                    se = statistics.stdev(diffs) / math.sqrt(len(diffs))
                    cells.append(f"{statistics.fmean(diffs):+.4f} +- {se:.4f}")
                else:
                    cells.append("-")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    return lines


def _median_goal(by_key: dict[tuple[str, str, int], Any], targets: list[str],
                 methods: list[str], trials: int) -> list[str]:
    """Return the table of a less noisy reading: one goal per target, the median over seeds
    of ``none``'s final score; trials to reach it, median over seeds; the speed-up is the
    ratio of those medians."""
    if not methods:
        return []
    lines = ["", "### Trials to reach the median over seeds of `none`'s final score (one goal "
             f"per target; median over seeds; >{trials}: never), speed-up = ratio of the "
             "medians", "", "| target | none | " + " | ".join(methods) + " |",
             "|---|" + "---:|" * (len(methods) + 1)]
    ups: dict[str, list[float]] = {m: [] for m in methods}
    for target in targets:
        found = _one_goal(by_key, target, methods, statistics.median)
        if found is None:
            continue
        base, reached_by = found
        cells = [f"{base:g}"]
        for method in methods:
            own = reached_by.get(method)
            if own is None:
                cells.append("-")
                continue
            ups[method].append(base / own)
            cells.append(f"{own:g} ({base / own:.2f}x)" if own <= trials
                         else f">{trials} ({base / own:.2f}x)")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    lines.append("")
    for method in methods:
        if ups[method]:
            lines.append(f"- {method} (median goal): {_tally(ups[method])}")
    return lines + _mean_goal(by_key, targets, methods)


def _one_goal(by_key: dict[tuple[str, str, int], Any], target: str, methods: list[str],
              average: Callable[[list[float]], float],
              ) -> tuple[float, dict[str, float]] | None:
    """Return, for one goal per target (``average`` over seeds of ``none``'s final score),
    ``none``'s and each method's trials to reach it, ``average`` over seeds (never: T + 1);
    None when ``none`` has no run of the target."""
    seeds = sorted(s for t, m, s in by_key if t == target and m == "none")
    if not seeds:
        return None
    goal = average([best_curve(by_key[(target, "none", s)])[-1] for s in seeds])
    base = average([float(to_reach(by_key[(target, "none", s)], goal)[0]) for s in seeds])
    reached_by = {}
    for method in methods:
        reached = [float(to_reach(by_key[(target, method, s)], goal)[0]) for s in seeds
                   if (target, method, s) in by_key]
        if reached:
            reached_by[method] = average(reached)
    return base, reached_by


def _mean_goal(by_key: dict[tuple[str, str, int], Any], targets: list[str],
               methods: list[str]) -> list[str]:
    """Return the lines of the same reading with means: one goal per target, the mean over
    seeds of ``none``'s final score; the mean over seeds of the trials to reach it (never:
    T + 1); the speed-up is the ratio of those means."""
    ups: dict[str, list[float]] = {m: [] for m in methods}
    for target in targets:
        found = _one_goal(by_key, target, methods, statistics.fmean)
        if found is not None:
            base, reached_by = found
            for method, own in reached_by.items():
                ups[method].append(base / own)
    return [f"- {method} (mean goal, mean trials): {_tally(found)}"
            for method, found in ups.items() if found]


def _noise_floor(by_key: dict[tuple[str, str, int], Any], targets: list[str]) -> list[str]:
    """Return the line that says how a method exactly as good as ``none`` fares by these
    criteria: ``none`` of the next seed (the last: the first) judged against each seed's."""
    ups = []
    for target in targets:
        seeds = sorted(s for t, m, s in by_key if t == target and m == "none")
        ratios = []
        for index, seed in enumerate(seeds[:len(seeds) if len(seeds) > 1 else 0]):
            base = by_key[(target, "none", seed)]
            other = by_key[(target, "none", seeds[(index + 1) % len(seeds)])]
            goal = best_curve(base)[-1]
            ratios.append(to_reach(base, goal)[0] / to_reach(other, goal)[0])
        if ratios:
            ups.append(statistics.median(ratios))
    if not ups:
        return []
    return [f"- noise floor (`none` of the next seed judged against each seed's `none`: a "
            f"method exactly as good): {_tally(ups)}"]


def _ceiling(by_key: dict[tuple[str, str, int], Any], targets: list[str]) -> list[str]:
    """Return the line that says what the criterion allows at all: the median speed-up of a
    method that reached ``none``'s final score at its first trial in every seed (``none``'s
    own trials to reach it), and of one that shares ``none``'s first trial (the rule of
    thumb; the shipped warm start) and reached it at the second (1x when ``none``'s first
    trial is its best)."""
    best: list[float] = []
    shared: list[float] = []
    for target in targets:
        seeds = sorted(s for t, m, s in by_key if t == target and m == "none")
        reach = [to_reach(by_key[(target, "none", s)],
                          best_curve(by_key[(target, "none", s)])[-1])[0] for s in seeds]
        if reach:
            best.append(statistics.median(reach))
            shared.append(statistics.median(r / 2 if r > 1 else 1.0 for r in reach))
    if not best:
        return []
    return [f"- ceiling (the best any method can score here: `none`'s final reached at the "
            f"first trial of every seed): {sum(u >= 2.0 for u in best)} of {len(best)} "
            f"targets can reach >= 2x; sharing `none`'s first trial (reached at the second): "
            f"{sum(u >= 2.0 for u in shared)} of {len(shared)}"]


# -- running ------------------------------------------------------------------------------------
def meta(argv: list[str]) -> dict[str, Any]:
    import importlib.metadata as md

    return {"command": shlex.join(["python", "benchmarks/transfer.py", *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "torch": md.version("torch"), "source_sha256": source_sha256()}


def save_runs(path: Path, data: dict[str, Any], trials: int) -> None:
    save(path, data, score_table(data["runs"], trials))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("runs", "sources"), default="runs")
    parser.add_argument("--sources", default="/tmp/transfer-sources.db")
    parser.add_argument("--data", default="/tmp/transfer-data",
                        help="folder of the generated CSV data sets (made when missing)")
    parser.add_argument("--source-trials", type=int, default=40)
    parser.add_argument("--targets", nargs="+", choices=ALL, default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="seeds to run (default 0-4); with --merge, to keep (default all)")
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--out", default="benchmarks/results/transfer.json")
    parser.add_argument("--merge", nargs="+", default=None)
    args = parser.parse_args(argv)
    make_data(args.data)
    if args.part == "sources":
        make_sources(args.sources, args.source_trials, args.targets, args.data)
        return 0
    out = Path(args.out)
    if args.merge:  # the runs of --methods and --seeds (any seed unless given); later win
        runs: dict[tuple[str, str, int], Any] = {}
        for name in args.merge:
            if Path(name).resolve() == out.resolve():
                continue
            for r in json.loads(Path(name).read_text())["runs"]:
                if r["method"] in args.methods and (args.seeds is None or r["seed"] in args.seeds):
                    runs[(r["target"], r["method"], r["seed"])] = r
        save_runs(out, {"meta": meta(argv), "runs": list(runs.values())}, args.trials)
        print(out.with_suffix(".txt").read_text())
        return 0
    data = json.loads(out.read_text()) if out.exists() else {"runs": []}
    data["meta"] = meta(argv)
    done = {(r["target"], r["method"], r["seed"]) for r in data["runs"]}
    for seed in args.seeds or SEEDS:
        for target in args.targets:
            for method in args.methods:
                if (target, method, seed) in done:
                    continue
                result = run(target, method, seed, args.trials, args.sources, args.data)
                data["runs"].append(result)
                save_runs(out, data, args.trials)
                best = best_curve(result)[-1]
                print(f"{target:15s} {method:13s} seed={seed} best={best:.4f} "
                      f"{result['seconds']:.0f}s", flush=True)
    print(out.with_suffix(".txt").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
