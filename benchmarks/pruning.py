"""Early stopping under one budget of epochs: hyperknob's pruners and strategies vs Optuna's.

Every method spends the same budget of training epochs (``--budget`` x 27 epochs, counted in
full-data epochs) on each problem of ``_pruning_jobs.py``, one trial at a time, and the lowest
validation loss of a COMPLETE trial is recorded against the epochs spent so far (the
anytime curve; lower is better). Methods, each with its defaults (rungs from 3 epochs,
reduction factor 3, for hyperknob's; Optuna's as shipped):

- ``hk-none``: hyperknob TPE, no pruning (the reference: its final quality is the target);
- ``hk-median``, ``hk-asha``, ``hk-hyperband``, ``hk-bohb``: ``hyperknob.strategies``;
- ``hk-progressive`` (torch problems): 20 % of the budget on the simplified problem of
  ``hyperknob.nn._progressive`` (half the classes, half their rows, TPE + ASHA), the rest on
  the full problem with priors at stage 1's best and its 3 best configurations first;
- ``optuna-median``, ``optuna-hyperband``: Optuna's ``TPESampler(seed)`` with
  ``MedianPruner()`` / ``HyperbandPruner()``.

No method gets the rule-of-thumb trials ``hyperknob tune`` queues; hyperknob's space keeps its
priors (Optuna's API has none). BLAS/OpenMP/torch use one thread.

Examples::

    python benchmarks/pruning.py --quick
    python benchmarks/pruning.py --problems torch-digits --seeds 0 1 2 3 4 \\
        --out benchmarks/results/pruning-torch-digits.json --resume
    python benchmarks/pruning.py --merge benchmarks/results/pruning-*.json \\
        --out benchmarks/results/pruning-merged.json
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
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import _results as results  # noqa: E402
from _pruning_jobs import MAX_EPOCHS, PROBLEMS, Counted, Ledger, load, make_job  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HK = ("hk-none", "hk-median", "hk-asha", "hk-hyperband", "hk-bohb", "hk-progressive")
OPTUNA = ("optuna-median", "optuna-hyperband")
METHODS = (*HK, *OPTUNA)
FIRST_RUNG = 3  # hyperknob tune's rule: a third of the shortest training (10 epochs)
STAGE1_SHARE = 0.2
CHECKPOINTS = tuple(i / 30 for i in range(1, 31))  # 1/3, 2/3: points 9, 19


def run_hk(method: str, problem: str, seed: int, ledger: Ledger) -> None:
    import torch

    import hyperknob
    from hyperknob import strategies
    from hyperknob.nn import _progressive as progressive

    torch.set_num_threads(1)
    data = load(problem)
    if method == "hk-progressive":
        easy = progressive.simplified(data, seed=seed)
        plan = strategies.strategy("asha", seed=seed, min_resource=FIRST_RUNG)
        first = hyperknob.create_study(direction="minimize", sampler=plan.sampler,
                                       pruner=plan.pruner)
        stage1 = Ledger(STAGE1_SHARE * ledger.budget)
        cost = easy.n_train / data.n_train
        _loop_hk(first, make_job(problem, easy), stage1, cost)
        ledger.spent = stage1.spent
        ledger.events.append((ledger.spent, ledger.best, "stage 1 done"))
        top = progressive.best_trials(first, progressive.TOP_K)
        job: Any = make_job(problem, data)
        if top:
            space, _ = progressive.narrowed(job.space, top[0])
            job = make_job(problem, data, space)
        plan = strategies.strategy("asha", seed=seed + 1000, min_resource=FIRST_RUNG)
        study = hyperknob.create_study(direction="minimize", sampler=plan.sampler,
                                       pruner=plan.pruner)
        for params in progressive.seed_params(job.space, top) if top else []:
            study.enqueue_trial(params)
        _loop_hk(study, job, ledger, 1.0)
        return
    name = {"hk-none": "tpe"}.get(method, method[3:])
    plan = strategies.strategy(name, seed=seed, min_resource=FIRST_RUNG,
                               max_resource=MAX_EPOCHS)
    study = hyperknob.create_study(direction="minimize", sampler=plan.sampler,
                                   pruner=plan.pruner)
    _loop_hk(study, make_job(problem, data), ledger, 1.0)


def _loop_hk(study: Any, job: Any, ledger: Ledger, cost: float) -> None:
    while not ledger.exhausted:
        study.optimize(lambda t: job(Counted(t, ledger, cost, optuna=False)), n_trials=1)
        last = study.trials[-1]
        ledger.close_trial(last.state.name, last.value)


def run_optuna(method: str, problem: str, seed: int, ledger: Ledger) -> None:
    import optuna
    import torch

    import hyperknob

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = (optuna.pruners.MedianPruner() if method == "optuna-median"
              else optuna.pruners.HyperbandPruner())
    study = optuna.create_study(direction="minimize", pruner=pruner,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    job = make_job(problem, load(problem))

    def objective(trial: Any) -> float:
        try:
            return job(Counted(trial, ledger, 1.0, optuna=True))
        except hyperknob.TrialPruned as pruned:
            raise optuna.TrialPruned(str(pruned)) from None

    while not ledger.exhausted:
        study.optimize(objective, n_trials=1)
        last = study.trials[-1]
        ledger.close_trial(last.state.name, last.value)


def run(method: str, problem: str, seed: int, budget: float) -> dict[str, Any]:
    ledger = Ledger(budget)
    start = time.perf_counter()
    (run_hk if method in HK else run_optuna)(method, problem, seed, ledger)
    return {"method": method, "problem": problem, "seed": seed, "budget": budget,
            "spent": ledger.spent, "events": ledger.events,
            "wall_s": time.perf_counter() - start}


# -- analysis --------------------------------------------------------------------------------
def best_at(run_: dict[str, Any], spent: float) -> float:
    """Return the run's best COMPLETE value with at most ``spent`` epochs (NaN: none yet)."""
    best = math.nan
    for at, value, _ in run_["events"]:
        if at <= spent + 1e-9 and math.isfinite(value):
            best = value
    return best


def curve(runs: list[dict[str, Any]], budget: float) -> list[float]:
    """Return the mean over runs of the best value at each checkpoint (NaN before a run's
    first COMPLETE trial)."""
    out = []
    for c in CHECKPOINTS:
        values = [best_at(r, c * budget) for r in runs]
        out.append(math.nan if any(math.isnan(v) for v in values) else statistics.fmean(values))
    return out


def epochs_to_reach(runs: list[dict[str, Any]], target: float, budget: float) -> float:
    """Return the budget share at which the mean curve first reaches ``target`` (inf: never)."""
    for share, value in zip(CHECKPOINTS, curve(runs, budget), strict=True):
        if not math.isnan(value) and value <= target + 1e-12:
            return share
    return math.inf


def report(data: dict[str, Any]) -> str:
    runs = data["runs"]
    lines = []
    verdicts = []
    for problem in [p for p in PROBLEMS if any(r["problem"] == p for r in runs)]:
        by = {m: [r for r in runs if r["problem"] == problem and r["method"] == m]
              for m in METHODS}
        by = {m: rs for m, rs in by.items() if rs}
        budget = next(iter(by.values()))[0]["budget"]
        if "hk-none" not in by:
            continue
        target = curve(by["hk-none"], budget)[-1]
        lines += [f"### {problem} (budget {budget:g} epochs; validation loss, lower is better; "
                  f"target = hk-none's final mean {target:.4f})", "",
                  "| method | seeds | best @ 1/3 | best @ 2/3 | best @ budget | share of budget "
                  "to reach target | s/run |", "|---|---:|---:|---:|---:|---:|---:|"]
        finals = {}
        for method, rs in by.items():
            c = curve(rs, budget)
            reach = epochs_to_reach(rs, target, budget)
            finals[method] = (c[-1], c[9], reach)
            lines.append(f"| {method} | {len(rs)} | {c[9]:.4f} | {c[19]:.4f} | {c[-1]:.4f} | "
                         f"{'never' if math.isinf(reach) else f'{reach:.2f}'} | "
                         f"{statistics.fmean(r['wall_s'] for r in rs):.0f} |")
        lines.append("")
        hk = {m: v for m, v in finals.items() if m in HK and m != "hk-none"}
        op = {m: v for m, v in finals.items() if m in OPTUNA}
        if hk and op:
            fastest = min(hk, key=lambda m: (hk[m][2], hk[m][0]))
            best_hk = min(hk, key=lambda m: hk[m][0])
            best_op = min(op, key=lambda m: op[m][0])
            beats = "MET" if hk[best_hk][0] < op[best_op][0] else "NOT met"
            verdicts.append(
                f"- {problem}: fastest hyperknob strategy {fastest} reaches the target at "
                f"{hk[fastest][2]:.2f} of the budget (goal <= 0.33: "
                f"{'MET' if hk[fastest][2] <= 1 / 3 + 1e-9 else 'NOT met'}); at the full budget "
                f"the best hyperknob strategy {best_hk} {hk[best_hk][0]:.4f} vs Optuna's best "
                f"{best_op} {op[best_op][0]:.4f} ({beats})")
    return "\n".join([*lines, "### Goal verdicts", "", *verdicts, ""])


def svg_plot(data: dict[str, Any], path: Path) -> None:
    """Write the anytime curves (mean lowest validation loss vs share of the budget), one
    panel per problem, as a dependency-free SVG."""
    runs = data["runs"]
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in runs)]
    colors = {"hk-none": "#000000", "hk-median": "#1f77b4", "hk-asha": "#2ca02c",
              "hk-hyperband": "#17becf", "hk-bohb": "#d62728", "hk-progressive": "#9467bd",
              "optuna-median": "#ff7f0e", "optuna-hyperband": "#8c564b"}
    w, h, pad = 420, 300, 45
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * len(problems)}" '
             f'height="{h + 110}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>']
    for i, problem in enumerate(problems):
        ox = i * w
        rs = [r for r in runs if r["problem"] == problem]
        budget = rs[0]["budget"]
        curves = {m: curve([r for r in rs if r["method"] == m], budget) for m in METHODS
                  if any(r["method"] == m for r in rs)}
        # The y range covers the curves from a tenth of the budget on (the first trials'
        # losses would squash the part that tells the methods apart); earlier points clip.
        values = [v for c in curves.values() for s, v in zip(CHECKPOINTS, c, strict=True)
                  if s >= 0.1 and not math.isnan(v)]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        lo, hi = lo - 0.05 * (hi - lo + 1e-9), hi + 0.05 * (hi - lo + 1e-9)

        def xy(share: float, value: float, ox: int = ox, lo: float = lo,
               hi: float = hi) -> str:
            x = ox + pad + share * (w - 2 * pad)
            y = pad + (1 - (min(max(value, lo), hi) - lo) / (hi - lo + 1e-12)) * (h - 2 * pad)
            return f"{x:.1f},{y:.1f}"

        parts.append(f'<text x="{ox + w / 2}" y="20" text-anchor="middle" '
                     f'font-size="13">{problem}</text>')
        parts.append(f'<polyline points="{xy(0, lo)} {xy(1, lo)}" stroke="#999" fill="none"/>')
        parts.append(f'<polyline points="{xy(0, lo)} {xy(0, hi)}" stroke="#999" fill="none"/>')
        for frac in (1 / 3, 2 / 3, 1.0):
            x = ox + pad + frac * (w - 2 * pad)
            parts.append(f'<text x="{x:.0f}" y="{h - pad + 15}" text-anchor="middle">'
                         f'{frac * budget:.0f}</text>')
        for v in (lo, (lo + hi) / 2, hi):
            parts.append(f'<text x="{ox + pad - 4}" y="{xy(0, v).split(",")[1]}" '
                         f'text-anchor="end">{v:.3f}</text>')
        parts.append(f'<text x="{ox + w / 2}" y="{h - pad + 30}" text-anchor="middle">'
                     'epochs spent (y: mean lowest validation loss)</text>')
        for method, c in curves.items():
            points = " ".join(xy(s, v) for s, v in zip(CHECKPOINTS, c, strict=True)
                              if not math.isnan(v))
            dash = ' stroke-dasharray="5,3"' if method.startswith("optuna") else ""
            parts.append(f'<polyline points="{points}" stroke="{colors[method]}" '
                         f'stroke-width="2" fill="none"{dash}/>')
    for j, (method, color) in enumerate(colors.items()):
        x, y = 20 + (j % 4) * 200, h + 40 + (j // 4) * 20
        dash = ' stroke-dasharray="5,3"' if method.startswith("optuna") else ""
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 25}" y2="{y}" stroke="{color}" '
                     f'stroke-width="2"{dash}/><text x="{x + 30}" y="{y + 4}">{method}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


# -- running ---------------------------------------------------------------------------------
def meta(argv: list[str]) -> dict[str, Any]:
    import importlib.metadata as md

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    versions = {}
    for pkg in ("hyperknob", "optuna", "torch", "scikit-learn", "numpy"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"command": shlex.join(["python", "benchmarks/pruning.py", *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit, "python": platform.python_version(), "cpus": os.cpu_count(),
            "versions": versions}


def save(path: Path, data: dict[str, Any]) -> None:
    results.save(path, data, report(data))
    svg_plot(data, path.with_suffix(".svg"))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=float, default=30,
                        help="budget in full trainings of 27 epochs (default 30: 810 epochs)")
    parser.add_argument("--out", default="benchmarks/results/pruning.json")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--merge", nargs="+", metavar="JSON")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: torch-moons, 2 methods, 1 seed, budget 3")
    args = parser.parse_args(argv)
    path = Path(args.out)
    if args.merge:
        runs: dict[tuple[str, str, int], Any] = {}
        for p in args.merge:
            for r in json.loads(Path(p).read_text())["runs"]:
                runs[(r["problem"], r["method"], r["seed"])] = r
        save(path, {"meta": {**meta(argv), "merged_from": args.merge},
                    "runs": list(runs.values())})
        print(path.with_suffix(".txt").read_text())
        return
    if args.quick:
        args.problems, args.methods, args.seeds, args.budget = (
            ["torch-moons"], ["hk-none", "hk-asha", "optuna-median"], [0], 3)
    data: dict[str, Any] = {"meta": meta(argv), "runs": []}
    if args.resume and path.exists():
        data = json.loads(path.read_text())
        data["meta"] = meta(argv)
    done = {(r["problem"], r["method"], r["seed"]) for r in data["runs"]}
    for problem in args.problems:
        for seed in args.seeds:
            for method in args.methods:
                if (problem, method, seed) in done:
                    continue
                if method == "hk-progressive" and not problem.startswith("torch-"):
                    continue
                result = run(method, problem, seed, args.budget * MAX_EPOCHS)
                data["runs"].append(result)
                final = result["events"][-1][1] if result["events"] else math.nan
                print(f"{problem:20s} {method:17s} seed={seed} best={final:.4f} "
                      f"spent={result['spent']:.0f} {result['wall_s']:.0f}s", flush=True)
                save(path, data)
    print(path.with_suffix(".txt").read_text())


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
