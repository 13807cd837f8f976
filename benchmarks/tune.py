"""The main job's defaults and goals (issue 16): ``nn.tune`` at the demo's budget.

Part ``defaults``: on each built-in dataset (digits, wine, breast_cancer, diabetes,
classification, moons) and seed, every search (a sampler and an early-stopping strategy) runs
``nn.tune(trials=30)``; on each finished study every model-selection rule (best by validation
or the top 3 re-trained with 3 seeds; the final model trained on train or on train +
validation; one network or an ensemble of the top 3) is applied, and its final model scored
on test (the test split is read only to score, never to choose). The rule of thumb -- the
best of the queued rule-of-thumb trials, trained as its trial was -- is scored beside them.

Part ``optuna``: time to a test accuracy of 0.98 on digits. hyperknob: ``nn.tune`` with its
defaults, resumed at 10, 20, 30, 40, 60, 80, 100 finished trials (each call searches on and
chooses again: the selection's time counts); Optuna: ``TPESampler(seed)`` with its default
``MedianPruner()`` driving the same trainer, space and rule-of-thumb queue, the incumbent
(best validation) scored on test after every trial (untimed). Both stop at the first point
that reaches 0.98, or at 100 trials.

    python benchmarks/tune.py --part defaults --out benchmarks/results/tune-defaults.json
    python benchmarks/tune.py --part optuna --out benchmarks/results/tune-optuna.json
    python benchmarks/tune.py --merge A.json B.json --out M.json   # tables of several files
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DATASETS = ("digits", "wine", "breast_cancer", "diabetes", "classification", "moons")
SEARCHES: dict[str, tuple[str | None, str]] = {
    "random-none": ("random", "none"),  # the old default of `hyperknob tune`
    "auto-none": ("auto", "none"),
    "auto-asha": ("auto", "asha"),
    "tpe-asha": ("tpe", "asha"),
    "bohb": (None, "bohb"),
}
#: (select, refit, ensemble members)
RULES: tuple[tuple[str, str, int], ...] = (
    ("validation", "train", 1), ("validation", "train+val", 1),
    ("reseed", "train", 1), ("reseed", "train+val", 1),
    ("validation", "train", 3), ("validation", "train+val", 3),
    ("reseed", "train+val", 3),
)
TRIALS = 30
GOAL_ACCURACY = 0.98
LADDER = (10, 20, 30, 40, 60, 80, 100)


def rule_name(rule: tuple[str, str, int]) -> str:
    select, refit, members = rule
    return f"{select}/{refit}" + (f"/ens{members}" if members > 1 else "")


def _fits_counting(shared: Any) -> Any:
    """A Fits that reads ``shared``'s cache but counts the epochs its own requests need."""
    from hyperknob.nn._select import Fits

    class Counting(Fits):
        def __init__(self) -> None:
            super().__init__(shared.data, seed=shared.seed, device=shared.device)
            self._seen: set[tuple[int, int, str]] = set()

        def get(self, trial: Any, *, seed: int, refit: str = "train") -> Any:
            result = shared.get(trial, seed=seed, refit=refit)
            key = (trial.number, seed, refit)
            if key not in self._seen:
                self._seen.add(key)
                self.epochs += len(result.history)
                if refit != "train":  # its run on train came first
                    self.get(trial, seed=seed)
            return result

    return Counting()


def run_defaults(dataset: str, seed: int, search: str, trials: int = TRIALS) -> dict[str, Any]:
    import torch

    from hyperknob import nn
    from hyperknob.nn._select import Fits, finalize

    torch.set_num_threads(1)
    sampler, strategy = SEARCHES[search]
    started = time.perf_counter()
    result = nn.tune(dataset, trials=trials, sampler=sampler, strategy=strategy, seed=seed,
                     select="validation", refit="train", ensemble=1, log=None,
                     progress=False)
    wall = time.perf_counter() - started
    study = result.study
    search_s = sum((t.datetime_complete - t.datetime_start).total_seconds()
                   for t in study.trials if t.datetime_complete and t.datetime_start)
    maximize = result.direction == "maximize"
    shared = Fits(result.dataset, seed=seed)
    rules = {}
    for rule in RULES:
        fits = _fits_counting(shared)
        tic = time.perf_counter()
        final = finalize(study.trials, fits, maximize=maximize, select=rule[0], refit=rule[1],
                         ensemble=rule[2])
        test = nn.evaluate(final.model, result.dataset, "test")
        rules[rule_name(rule)] = {"test": test, "epochs": fits.epochs, "chosen":
                                  list(final.trial_numbers), "validation": final.validation,
                                  "seconds": time.perf_counter() - tic}
    states: dict[str, int] = {}
    for t in study.trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    return {
        "dataset": dataset, "seed": seed, "search": search, "trials": trials,
        "metric": result.metric, "direction": result.direction,
        "baseline_test": None if result.baseline is None else result.baseline.test,
        "baseline_trial": None if result.baseline is None else result.baseline.trial_number,
        "best_validation": result.best_trial.value, "best_trial": result.best_trial.number,
        "search_epochs": sum(int(t.user_attrs.get("epochs_run", 0)) for t in study.trials),
        "search_s": search_s, "wall_s": wall, "states": states, "rules": rules,
    }


def run_optuna_part(seed: int, method: str) -> dict[str, Any]:
    import torch


    torch.set_num_threads(1)
    if method == "hk-default":
        return _hk_ladder(seed)
    return _optuna_run(seed)


def _hk_ladder(seed: int) -> dict[str, Any]:
    from hyperknob import nn
    from hyperknob.storages import InMemoryStorage

    storage = InMemoryStorage()
    points = []
    spent = 0.0
    for budget in LADDER:
        tic = time.perf_counter()
        result = nn.tune("digits", trials=budget, seed=seed, storage=storage, log=None,
                         progress=False)
        spent += time.perf_counter() - tic
        points.append({"trials": budget, "seconds": spent, "test": result.test,
                       "epochs": result.epochs, "selection": result.selection,
                       "plan": result.plan})
        if result.test >= GOAL_ACCURACY:
            break
    return {"method": "hk-default", "seed": seed, "points": points}


def _optuna_run(seed: int) -> dict[str, Any]:
    import optuna

    import hyperknob
    from hyperknob import nn

    sys.path.insert(0, str(Path(__file__).parent))
    from _pruning_jobs import Counted, Ledger

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = nn.load_dataset("digits", seed=seed)
    job = nn.NeuralNetworkObjective(data, seed=seed, log=lambda _: None)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(),
                                sampler=optuna.samplers.TPESampler(seed=seed))
    for params in job.space.rule_of_thumb_params():
        study.enqueue_trial(params)
    ledger = Ledger(math.inf)
    tests: dict[int, float] = {}
    untimed = 0.0

    def objective(trial: Any) -> float:
        nonlocal untimed
        result = job.train_trial(Counted(trial, ledger, 1.0, optuna=True))  # type: ignore[arg-type]
        tic = time.perf_counter()
        tests[trial.number] = nn.evaluate(result.model, data, "test")
        untimed += time.perf_counter() - tic
        try:
            return job.outcome(result)
        except hyperknob.TrialPruned as pruned:
            raise optuna.TrialPruned(str(pruned)) from None

    points = []
    start = time.perf_counter()
    for n in range(1, LADDER[-1] + 1):
        study.optimize(objective, n_trials=1)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            continue
        best = max(complete, key=lambda t: (t.value, -t.number))
        seconds = time.perf_counter() - start - untimed
        points.append({"trials": n, "seconds": seconds, "test": tests[best.number],
                       "incumbent": best.number})
        if tests[best.number] >= GOAL_ACCURACY:
            break
    return {"method": "optuna-tpe-median", "seed": seed, "points": points}


# -- tables ----------------------------------------------------------------------------------

def _better(direction: str, a: float, b: float) -> bool:
    return a > b if direction == "maximize" else a < b


def tables(runs: Sequence[dict[str, Any]]) -> str:
    lines: list[str] = []
    defaults = [r for r in runs if "rules" in r]
    for budget in sorted({r["trials"] for r in defaults}):
        lines += _defaults_tables([r for r in defaults if r["trials"] == budget])
    ladders = [r for r in runs if "points" in r]
    if ladders:
        lines += _optuna_table(ladders)
    return "\n".join(lines) + "\n"


def _defaults_tables(runs: Sequence[dict[str, Any]]) -> list[str]:
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in runs)]
    combos = sorted({(r["search"], rule) for r in runs for rule in r["rules"]},
                    key=lambda c: (list(SEARCHES).index(c[0]), [rule_name(x) for x in RULES]
                                   .index(c[1])))
    cell: dict[tuple[str, str, str], list[float]] = {}
    base: dict[str, list[float]] = {}
    bases: dict[tuple[str, int], float] = {}  # the same under every search (full trainings)
    seeds: dict[tuple[str, str, str], list[int]] = {}
    epochs: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        for rule, got in r["rules"].items():
            cell.setdefault((r["search"], rule, r["dataset"]), []).append(got["test"])
            seeds.setdefault((r["search"], rule, r["dataset"]), []).append(r["seed"])
            epochs.setdefault((r["search"], rule), []).append(r["search_epochs"] + got["epochs"])
        if r["baseline_test"] is not None:
            bases.setdefault((r["dataset"], r["seed"]), r["baseline_test"])
    for (d, _), value in sorted(bases.items()):
        base.setdefault(d, []).append(value)
    direction = {r["dataset"]: r["direction"] for r in runs}
    n_seeds = {d: sorted({r["seed"] for r in runs if r["dataset"] == d}) for d in datasets}
    out = [f"Test metric at {runs[0]['trials']} trials, mean over seeds (accuracy; RMSE for "
           "diabetes; the rank is the mean over datasets of each combination's rank, 1 = best)",
           ""]
    out.append("| search | selection | " + " | ".join(
        f"{d} ({len(n_seeds[d])})" for d in datasets) + " | mean rank | beats rule of thumb "
        "| mean epochs |")
    out.append("|---|---|" + "---:|" * len(datasets) + "---:|---:|---:|")
    means = {(c[0], c[1], d): statistics.fmean(cell[(c[0], c[1], d)])
             for c in combos for d in datasets if (c[0], c[1], d) in cell}
    ranks: dict[tuple[str, str], list[float]] = {}
    for d in datasets:
        present = [c for c in combos if (c[0], c[1], d) in means]
        order = sorted(present, key=lambda c: means[(c[0], c[1], d)],
                       reverse=direction[d] == "maximize")
        for c in order:  # ties share the mean of their places
            places = [i + 1 for i, o in enumerate(order)
                      if means[(o[0], o[1], d)] == means[(c[0], c[1], d)]]
            ranks.setdefault(c, []).append(statistics.fmean(places))
    if base:
        out.append("| rule of thumb | (its trial) | " + " | ".join(
            f"{statistics.fmean(base[d]):.4f}" if d in base else "-" for d in datasets)
            + " | | | |")
    for c in combos:
        row = [f"{means[(c[0], c[1], d)]:.4f}" if (c[0], c[1], d) in means else "-"
               for d in datasets]
        wins = sum(1 for d in datasets if d in base and (c[0], c[1], d) in means
                   and _better(direction[d], means[(c[0], c[1], d)],
                               statistics.fmean(base[d])))
        out.append(f"| {c[0]} | {c[1]} | " + " | ".join(row)
                   + f" | {statistics.fmean(ranks.get(c, [math.nan])):.2f} | {wins}/"
                   f"{len(base)} | {statistics.fmean(epochs[c]):.0f} |")
    out.append("")
    out += _paired_lines(runs, combos)
    return out


REFERENCE = ("random-none", "validation/train")  # the old `hyperknob tune`


def _paired_lines(runs: Sequence[dict[str, Any]], combos: Sequence[tuple[str, str]]
                  ) -> list[str]:
    """Each combination minus the old default, paired by (dataset, seed): accuracy points
    over the classification datasets, RMSE on the regression ones; mean ± SE over pairs."""
    test = {(r["dataset"], r["seed"], r["search"], rule): got["test"]
            for r in runs for rule, got in r["rules"].items()}
    task = {r["dataset"]: r["direction"] for r in runs}
    pairs = sorted({(r["dataset"], r["seed"]) for r in runs})
    out = ["Paired against the old default (random search, no pruning, the best trial by "
           "validation): accuracy in points over the classification datasets (higher is "
           "better), RMSE on diabetes (lower is better); mean ± SE over (dataset, seed) pairs",
           "", "| search | selection | accuracy difference (pairs) | RMSE difference (pairs) |",
           "|---|---|---:|---:|"]
    for c in combos:
        cells = []
        for direction, scale in (("maximize", 100.0), ("minimize", 1.0)):
            diffs = [scale * (test[(d, s, *c)] - test[(d, s, *REFERENCE)]) for d, s in pairs
                     if task[d] == direction and (d, s, *c) in test
                     and (d, s, *REFERENCE) in test]
            if len(diffs) >= 2:
                se = statistics.stdev(diffs) / len(diffs) ** 0.5
                cells.append(f"{statistics.fmean(diffs):+.2f} ± {se:.2f} ({len(diffs)})")
            else:
                cells.append("-")
        out.append(f"| {c[0]} | {c[1]} | {cells[0]} | {cells[1]} |")
    out.append("")
    return out


def _optuna_table(runs: Sequence[dict[str, Any]]) -> list[str]:
    out = ["Time to a test accuracy of 0.98 on digits (seconds of search and selection; "
           "'>' = not reached by 100 trials: the time to 100 trials)", "",
           "| method | seed | reached | trials | seconds | test at the end |",
           "|---|---:|---|---:|---:|---:|"]
    for r in sorted(runs, key=lambda r: (r["method"], r["seed"])):
        last = r["points"][-1]
        hit = last["test"] >= GOAL_ACCURACY
        out.append(f"| {r['method']} | {r['seed']} | {'yes' if hit else 'no'} | "
                   f"{last['trials']} | {'' if hit else '>'}{last['seconds']:.0f} | "
                   f"{last['test']:.4f} |")
    out.append("")
    return out


def _load(paths: Sequence[str]) -> list[dict[str, Any]]:
    keyed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for path in paths:
        for run in json.loads(Path(path).read_text())["runs"]:
            keyed[_key(run)] = run
    return list(keyed.values())


def _key(run: dict[str, Any]) -> tuple[Any, ...]:
    if "rules" in run:
        return ("defaults", run["dataset"], run["seed"], run["search"], run["trials"])
    return ("optuna", run["method"], run["seed"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("defaults", "optuna"), default="defaults")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--searches", nargs="+", choices=list(SEARCHES),
                        default=list(SEARCHES))
    parser.add_argument("--methods", nargs="+", choices=("hk-default", "optuna-tpe-median"),
                        default=["hk-default", "optuna-tpe-median"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=TRIALS, help="defaults: trials a run")
    parser.add_argument("--out", required=True, help="JSON file (tables go next to it)")
    parser.add_argument("--resume", action="store_true", help="keep the runs --out has")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="combine result files")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.merge:
        runs = _load(args.merge)
    else:
        runs = _load([str(out)]) if args.resume and out.exists() else []
        done = {_key(r) for r in runs}
        jobs: list[tuple[Any, ...]] = (
            [("defaults", d, s, search, args.trials) for s in args.seeds for d in args.datasets
             for search in args.searches] if args.part == "defaults" else
            [("optuna", m, s) for s in args.seeds for m in args.methods])
        for job in jobs:
            if job in done:
                continue
            tic = time.perf_counter()
            run = (run_defaults(job[1], job[2], job[3], job[4]) if job[0] == "defaults"
                   else run_optuna_part(job[2], job[1]))
            runs.append(run)
            print(f"{job[1:]}: {time.perf_counter() - tic:.0f} s", flush=True)
            out.write_text(json.dumps({"argv": sys.argv, "runs": runs}, indent=1) + "\n")
    out.write_text(json.dumps({"argv": sys.argv, "runs": runs}, indent=1) + "\n")
    text = tables(runs)
    out.with_suffix(".txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
