"""Optimization quality and sampler overhead: hyperknob's samplers next to Optuna and Hyperopt.

Part ``quality`` (default) runs every method (``_quality_methods.py``) on every problem
(``_quality_problems.py``) for several seeds and scores them with bayesmark's formula: for
problem p, ``opt_p`` = the best loss any compared method ever saw (suites a and d: also the
known optimum), ``clip_p`` = the median loss of one random configuration (suite a: median of
10,000 uniform points; suite d: the same per instance, i.e. per seed; suites b and c: median
of every evaluation in the first 64 trials of the ``hk-random`` and ``hyperopt-random`` runs),
``S_t`` = the best loss in the first t evaluations,
``norm_t = clip((S_t - opt_p) / (clip_p - opt_p), -1, 1)`` averaged over seeds, score =
``100 * (1 - mean_p norm_T)``. Every evaluation is stored in the JSON, so a merge of slices
recomputes ``opt_p`` and ``clip_p`` over everything merged.

Part ``overhead`` times each trial of a cheap mixed float/int objective in 5-D and 10-D: TPE
(hyperknob vs Optuna) up to 1,000 trials, GP up to 300, and reports the mean time per trial
of the first n trials and of the last 10 % of them (the marginal cost at n). It waits until
``/tmp/runbench.log`` says ALLDONE and no ``benchmarks/trainer.py`` runs (``--no-wait``: not).

BLAS and OpenMP run one thread (OPENBLAS/OMP/MKL_NUM_THREADS=1) for every library.

Examples::

    python benchmarks/quality.py --quick
    python benchmarks/quality.py --suite a --out benchmarks/results/quality-a.json
    python benchmarks/quality.py --suite b --problems MLP-adam_iris_nll MLP-sgd_iris_nll \\
        --seeds 0 1 2 3 4 --out benchmarks/results/quality-b-iris.json
    python benchmarks/quality.py --merge benchmarks/results/quality-b-*.json \\
        --out benchmarks/results/quality-b-merged.json
    python benchmarks/quality.py --part overhead --out benchmarks/results/quality-overhead.json
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
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from _quality_methods import (  # noqa: E402
    ANCHOR_METHODS,
    METHODS,
    RANDOM_METHODS,
    available_methods,
    run_method,
    time_run,
)
from _quality_problems import all_problem_names, make_problem, suite_of  # noqa: E402
from _results import save, source_sha256  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEEDS = {"a": 10, "b": 5, "c": 5, "d": 5}
#: Budgets reported in the tables (each where some run is that long).
BUDGETS = (16, 25, 64, 100, 200)


def default_trials(name: str) -> int:
    """Trials per run: 64 (suites a-c), 100 (suite d below 10-D), 200 (suite d, 10-D up)."""
    if suite_of(name) != "d":
        return 64
    return 200 if int(name.rpartition("-")[2].removesuffix("d")) >= 10 else 100
#: Overhead goals: TPE at 1,000 trials in 10-D (issue 4); GP at 200 trials (issue 15: 10x,
#: was 3x in issue 4).
GOAL_TPE_RATIO, GOAL_GP_RATIO = 5.0, 10.0


def meta(argv: list[str]) -> dict[str, Any]:
    """The command, versions, date and a hash of the hyperknob sources measured."""
    import importlib.metadata as md

    versions = {}
    for pkg in ("hyperknob", "optuna", "hyperopt", "HEBO", "botorch", "coco-experiment",
                "numpy", "scipy", "scikit-learn", "torch"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"command": shlex.join(["python", "benchmarks/quality.py", *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "versions": versions,
            "hyperknob_src_sha256": source_sha256(ROOT),
            "threads": {v: os.environ[v] for v in
                        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}


# -- scoring -----------------------------------------------------------------------------------
def problem_bounds(name: str, runs: list[dict[str, Any]], info: dict[str, Any]
                   ) -> tuple[float, float | None]:
    """Return ``(opt_p, clip_p)``; clip_p is None when no random run is there to estimate it."""
    mine = [r for r in runs if r["problem"] == name]
    seen = [v for r in mine for v in r["losses"] if math.isfinite(v)]
    known = info.get("known_optimum")
    opt = min([*seen, *([known] if known is not None else [])])
    if info.get("clip_uniform") is not None:
        return opt, info["clip_uniform"]
    random_losses = [v for r in mine if r["method"] in RANDOM_METHODS for v in r["losses"][:64]]
    return opt, (float(np.median(random_losses)) if random_losses else None)


def run_clip(info: dict[str, Any], run: dict[str, Any], clip: float) -> float:
    """The run's clip_p: its instance's (suite d, by seed) where the problem has one per seed."""
    return float(info.get("clip_by_seed", {}).get(str(run["seed"]), clip))


def normalized(losses: list[float], t: int, opt: float, clip: float) -> float:
    """bayesmark's normalized regret of one run at budget t, clipped to [-1, 1]."""
    best = min(losses[:t])
    if not clip > opt:
        return 0.0
    return float(np.clip((best - opt) / (clip - opt), -1.0, 1.0))


def score_table(runs: list[dict[str, Any]], infos: dict[str, Any], t: int
                ) -> dict[str, dict[str, dict[int, float]]]:
    """Return norm_t per problem -> method -> seed (runs shorter than t are left out)."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for name, info in infos.items():
        opt, clip = problem_bounds(name, runs, info)
        if clip is None:
            continue
        for r in runs:
            if r["problem"] == name and len(r["losses"]) >= t:
                out.setdefault(name, {}).setdefault(r["method"], {})[r["seed"]] = normalized(
                    r["losses"], t, opt, run_clip(info, r, clip))
    return out


def _mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return mean, se


def suite_scores(norms: dict[str, dict[str, dict[int, float]]], problems: list[str],
                 method: str) -> tuple[float, float, int] | None:
    """Mean score over problems and seeds, its standard error over seeds, the seed count."""
    per_seed = suite_per_seed(norms, problems, method)
    if per_seed is None:
        return None
    per_problem = [norms[p][method] for p in problems]
    mean = 100.0 * (1.0 - statistics.fmean(statistics.fmean(d.values()) for d in per_problem))
    return mean, (_mean_se(list(per_seed.values()))[1] if per_seed else math.nan), len(per_seed)


def paired_difference(norms: dict[str, dict[str, dict[int, float]]], problems: list[str],
                      method: str, rival: str) -> tuple[float, float, int] | None:
    """Mean over seeds of (method's suite score - rival's) on the seeds both ran, and its SE."""
    a, b = suite_per_seed(norms, problems, method), suite_per_seed(norms, problems, rival)
    if not a or not b:
        return None
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    mean, se = _mean_se([a[s] - b[s] for s in seeds])
    return mean, se, len(seeds)


def suite_per_seed(norms: dict[str, dict[str, dict[int, float]]], problems: list[str],
                   method: str) -> dict[int, float] | None:
    """Suite score per seed (over the problems that seed ran on all of)."""
    per_problem = [norms.get(p, {}).get(method, {}) for p in problems]
    if not problems or not all(per_problem):
        return None
    seeds = set.intersection(*(set(d) for d in per_problem))
    return {s: 100.0 * (1.0 - statistics.fmean(d[s] for d in per_problem)) for s in seeds}


def table_groups(infos: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Return (label, problems) per table: suites a-c whole; suite d per dimension, then whole
    (its functions differ by dimension in cost and difficulty, and slices run by dimension)."""
    groups = []
    for suite in "abcd":
        problems = [p for p in all_problem_names(suite) if p in infos]
        if suite == "d" and problems:
            dims = sorted({int(p.rpartition("-")[2][:-1]) for p in problems})
            groups += [(f"d, {d}-D", [p for p in problems if p.endswith(f"-{d}d")])
                       for d in dims]
            if len(dims) == 1:
                continue
        if problems:
            groups.append((suite, problems))
    return groups


def report(data: dict[str, Any]) -> str:
    """Markdown tables: per suite (problem x method) at each budget, means, and details."""
    runs, infos = data["runs"], data["problems"]
    methods = [m for m in METHODS if any(r["method"] == m for r in runs)]
    budgets = [t for t in BUDGETS if any(len(r["losses"]) >= t for r in runs)]
    if not budgets and runs:
        budgets = [min(len(r["losses"]) for r in runs)]
    lines: list[str] = []
    for suite, problems in table_groups(infos):
        for t in budgets:
            if not any(len(r["losses"]) >= t for r in runs if r["problem"] in problems):
                continue
            norms = score_table(runs, infos, t)
            lines += [f"### Suite {suite}: score at {t} trials (100 = best known, higher better)",
                      "", "| problem | " + " | ".join(methods) + " |",
                      "|---|" + "---:|" * len(methods)]
            for p in problems:
                cells = []
                for m in methods:
                    d = norms.get(p, {}).get(m)
                    cells.append(f"{100 * (1 - statistics.fmean(d.values())):.1f}" if d else "-")
                lines.append(f"| {p} | " + " | ".join(cells) + " |")
            cells = []
            for m in methods:
                s = suite_scores(norms, problems, m)
                cells.append(f"**{s[0]:.1f}** ± {s[1]:.1f} ({s[2]})" if s else "-")
            lines += ["| **mean ± SE (seeds)** | " + " | ".join(cells) + " |", ""]
        lines += [f"### Suite {suite}: details (best loss after the last budget, median over "
                  "seeds; seconds per evaluation; seconds of sampler per trial)", "",
                  "| problem | method | seeds | score ± SE | median best loss | test of best "
                  "| s/eval | sampler s/trial |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for p in problems:
            t = max([len(r["losses"]) for r in runs if r["problem"] == p], default=0)
            norms = score_table(runs, infos, t)
            opt, clip = problem_bounds(p, runs, infos[p])
            for m in methods:
                mine = [r for r in runs if r["problem"] == p and r["method"] == m
                        and len(r["losses"]) >= t]
                if not mine:
                    continue
                d = norms.get(p, {}).get(m, {})
                sc = _mean_se([100 * (1 - v) for v in d.values()]) if d else (math.nan,) * 2
                best = statistics.median(min(r["losses"][:t]) for r in mine)
                test = _test_of_best(mine, p, t)
                per_eval = statistics.fmean(r["objective_s"] / len(r["losses"]) for r in mine)
                overhead = statistics.fmean((r["wall_s"] - r["objective_s"]) / len(r["losses"])
                                            for r in mine)
                lines.append(f"| {p} | {m} | {len(mine)} | {sc[0]:.1f} ± {sc[1]:.1f} | "
                             f"{best:.6g} | {test} | {per_eval:.3g} | {overhead:.3g} |")
            lines.append(f"| {p} | opt_p / clip_p | | | {opt:.6g} | | | clip {clip} |")
        lines.append("")
    lines += verdicts(data, budgets)
    return "\n".join(lines)


def _test_of_best(mine: list[dict[str, Any]], problem: str, t: int) -> str:
    """Median over seeds of the 20 % test loss of the configuration with the best CV loss."""
    metric = problem.rpartition("_")[2]
    values = []
    for r in mine:
        if not r.get("extras"):
            return "-"
        i = int(np.argmin(r["losses"][:t]))
        values.append(r["extras"][i].get(f"test_{metric}", math.nan))
    return f"{statistics.median(values):.6g}"


def verdicts(data: dict[str, Any], budgets: list[int]) -> list[str]:
    """Goal lines: each hyperknob sampler's suite mean vs Optuna's best and Hyperopt's best."""
    runs, infos = data["runs"], data["problems"]
    lines = ["### Goal verdicts (quality)", ""]
    for suite, problems in table_groups(infos):
        for t in budgets:
            problems_t = [p for p in problems if any(
                r["problem"] == p and len(r["losses"]) >= t for r in runs)]
            if not problems_t:
                continue
            norms = score_table(runs, infos, t)
            s = {m: suite_scores(norms, problems_t, m) for m in METHODS}
            rivals = {m: s[m] for m in ANCHOR_METHODS if s[m]}
            for m in ("hk-auto",):
                if not s[m] or not rivals:
                    continue
                gaps = []
                for rival in rivals:
                    diff = paired_difference(norms, problems_t, m, rival)
                    if diff is not None:
                        gaps.append(f"{diff[0]:+.1f} ± {diff[1]:.1f} vs {rival} "
                                    f"({diff[2]} seeds)")
                lines.append(f"- suite {suite} ({len(problems_t)} problems), {t} trials: {m} "
                             f"{s[m][0]:.1f}: " + "; ".join(gaps))
    return [*lines, ""]


# -- running -----------------------------------------------------------------------------------
def run_quality(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Run every (problem, method, seed) not yet in ``--out``, saving after each run."""
    path = Path(args.out)
    data: dict[str, Any] = {"meta": meta(argv), "problems": {}, "runs": []}
    if args.resume and path.exists():
        data = json.loads(path.read_text())
        data["meta"] = meta(argv)
    done = {(r["problem"], r["method"], r["seed"]) for r in data["runs"]}
    for name in args.problems:
        suite = suite_of(name)
        seeds = args.seeds or list(range(DEFAULT_SEEDS[suite]))
        for seed in seeds:
            problem = make_problem(name, seed)
            info = data["problems"].setdefault(name, {"suite": suite})
            info.update(known_optimum=problem.known_optimum, clip_uniform=problem.clip_uniform)
            if suite == "d":  # clip_p per instance (= per seed)
                info.setdefault("clip_by_seed", {})[str(seed)] = problem.clip_uniform
            for method in args.methods:
                if (name, method, seed) in done:
                    continue
                run = run_method(method, problem, seed, args.trials or default_trials(name))
                data["runs"].append(run)
                print(f"{name:28s} {method:16s} seed={seed} best={min(run['losses']):.6g} "
                      f"{run['wall_s']:.1f}s (objective {run['objective_s']:.1f}s)", flush=True)
                save(path, data, report(data))
    return data


def merge(paths: list[str], out: str, argv: list[str]) -> dict[str, Any]:
    """Combine JSON files (a later file's run replaces an earlier one with the same key)."""
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    problems: dict[str, Any] = {}
    sources = []
    for p in paths:
        d = json.loads(Path(p).read_text())
        for name, info in d["problems"].items():  # suite d: the clips of every file's seeds
            by_seed = {**problems.get(name, {}).get("clip_by_seed", {}),
                       **info.get("clip_by_seed", {})}
            problems[name] = {**info, **({"clip_by_seed": by_seed} if by_seed else {})}
        sources.append({"file": p, "meta": d["meta"]})
        for r in d["runs"]:
            runs[(r["problem"], r["method"], r["seed"])] = r
    data = {"meta": {**meta(argv), "merged_from": sources}, "problems": problems,
            "runs": list(runs.values())}
    save(Path(out), data, report(data))
    return data


# -- overhead ---------------------------------------------------------------------------------
def wait_until_free(log: str = "/tmp/runbench.log", poll_s: float = 10.0,
                    quiet_s: float = 180.0) -> None:
    """Block until ``log`` contains ALLDONE and no benchmarks/trainer.py process has run for
    ``quiet_s`` seconds (a series of trainer runs leaves short gaps between them)."""
    free_since = None
    while True:
        done = Path(log).exists() and "ALLDONE" in Path(log).read_text(errors="replace")
        busy = subprocess.run(["pgrep", "-f", "benchmarks/trainer.py"], capture_output=True,
                              check=False).returncode == 0
        now = time.monotonic()
        free_since = (free_since or now) if done and not busy else None
        if free_since is not None and now - free_since >= quiet_s:
            return
        if free_since is None:
            print(f"waiting for the machine: ALLDONE={done}, trainer running={busy}",
                  flush=True)
        time.sleep(poll_s)


def run_overhead(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Time hk-tpe vs optuna-tpe and hk-gp vs optuna-gp, alternating the order per repeat."""
    if not args.no_wait:
        wait_until_free()
    pairs = [(f"hk-{kind}", f"optuna-{kind}", args.tpe_sizes if kind == "tpe" else args.gp_sizes)
             for kind in args.samplers]
    data: dict[str, Any] = {"meta": meta(argv), "runs": []}
    for a, b, sizes in pairs:
        for dim in args.dims:
            for method in (a, b):  # warm-up: imports, first-use compilation
                time_run(method, dim, 12, 99, args.continuous)
            for rep in range(args.repeats):
                for method in ((a, b) if rep % 2 == 0 else (b, a)):
                    times = time_run(method, dim, max(sizes), rep, args.continuous)
                    data["runs"].append({"method": method, "dim": dim, "seed": rep,
                                         "sizes": sizes, "times": times})
                    print(f"{method:10s} {dim:2d}-D n={max(sizes)} rep={rep}: "
                          f"{1e3 * sum(times) / len(times):.2f} ms/trial", flush=True)
                    Path(args.out).write_text(json.dumps(data))
                    Path(args.out).with_suffix(".txt").write_text(overhead_report(data) + "\n")
    return data


def _ms(runs: list[dict[str, Any]], n: int) -> tuple[float, float]:
    """Mean ms/trial over the first n trials and over the last 10 % of them (mean of runs)."""
    k = max(1, n // 10)
    full = statistics.fmean(sum(r["times"][:n]) / n for r in runs)
    last = statistics.fmean(sum(r["times"][n - k:n]) / k for r in runs)
    return 1e3 * full, 1e3 * last


def overhead_report(data: dict[str, Any]) -> str:
    """Table: ms/trial (first n trials; last 10 % of them) per library and the ratios."""
    lines = ["| sampler | dim | n | hk ms/trial | hk last 10% | optuna ms/trial | optuna last "
             "10% | ratio (optuna/hk) | ratio last 10% |", "|---|---:|---:|" + "---:|" * 6]
    verdict = []
    for kind in ("tpe", "gp"):
        for dim in sorted({r["dim"] for r in data["runs"]}):
            runs = {m: [r for r in data["runs"] if r["method"] == m and r["dim"] == dim]
                    for m in (f"hk-{kind}", f"optuna-{kind}")}
            if not all(runs.values()):
                continue
            for n in runs[f"hk-{kind}"][0]["sizes"]:
                hk, op = _ms(runs[f"hk-{kind}"], n), _ms(runs[f"optuna-{kind}"], n)
                lines.append(f"| {kind.upper()} | {dim} | {n} | {hk[0]:.2f} | {hk[1]:.2f} | "
                             f"{op[0]:.2f} | {op[1]:.2f} | {op[0] / hk[0]:.2f} | "
                             f"{op[1] / hk[1]:.2f} |")
                goal = {("tpe", 10, 1000): GOAL_TPE_RATIO, ("gp", 10, 200): GOAL_GP_RATIO,
                        ("gp", 5, 200): GOAL_GP_RATIO}.get((kind, dim, n))
                if goal:
                    ok = min(op[0] / hk[0], op[1] / hk[1]) >= goal
                    verdict.append(f"- {kind.upper()} {dim}-D at {n} trials: ratio "
                                   f"{op[0] / hk[0]:.2f} (all trials), {op[1] / hk[1]:.2f} "
                                   f"(last 10%), goal >= {goal:g} -> "
                                   f"{'MET' if ok else 'NOT met'}")
    return "\n".join([*lines, "", *verdict])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("quality", "overhead"), default="quality")
    parser.add_argument("--suite", nargs="+", choices=("a", "b", "c", "d"), default=["a"])
    parser.add_argument("--problems", nargs="+", help="problem names (default: the suites')")
    parser.add_argument("--methods", nargs="+", choices=METHODS,
                        help="default: every method whose library is installed")
    parser.add_argument("--seeds", nargs="+", type=int,
                        help="default: 0..9 (suite a), 0..4 (suites b-d; suite d: instances 1-5)")
    parser.add_argument("--trials", type=int,
                        help="default: 64 (suites a-c), 100 / 200 (suite d below / from 10-D)")
    parser.add_argument("--bbob-dims", nargs="+", type=int, help="suite d: only these dimensions")
    parser.add_argument("--out", help="JSON file (a .txt with the tables goes next to it)")
    parser.add_argument("--resume", action="store_true", help="keep the runs --out has")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="combine result files")
    parser.add_argument("--quick", action="store_true",
                        help="CI smoke run: Branin and Hartmann3, 2 seeds, 16 trials")
    parser.add_argument("--dims", nargs="+", type=int, default=[5, 10])
    parser.add_argument("--tpe-sizes", nargs="+", type=int, default=[100, 300, 1000])
    parser.add_argument("--gp-sizes", nargs="+", type=int, default=[50, 100, 200, 300])
    parser.add_argument("--repeats", type=int, default=1, help="overhead runs per cell")
    parser.add_argument("--samplers", nargs="+", choices=("tpe", "gp"), default=["tpe", "gp"],
                        help="overhead: which pairs to time")
    parser.add_argument("--no-wait", action="store_true", help="overhead: do not wait")
    parser.add_argument("--continuous", action="store_true",
                        help="overhead: floats only (the ints of the mixed objective as floats)")
    args = parser.parse_args(argv)
    if args.methods is None:
        args.methods = available_methods()
        left_out = [m for m in METHODS if m not in args.methods]
        if left_out and args.part == "quality" and not args.merge:
            print(f"(not installed here, left out: {', '.join(left_out)})", flush=True)
    results = ROOT / "benchmarks" / "results"
    if args.merge:
        print(report(merge(args.merge, args.out or str(results / "quality-merged.json"),
                           argv)))
        return 0
    if args.part == "overhead":
        args.out = args.out or str(results / "quality-overhead.json")
        print(overhead_report(run_overhead(args, argv)))
        return 0
    if args.quick:
        args.problems = args.problems or ["branin-2d", "hartmann3-3d"]
        args.seeds = args.seeds or [0, 1]
        args.trials = 16
        args.out = args.out or str(Path("/tmp") / "quality-quick.json")
    args.problems = args.problems or [p for s in args.suite for p in all_problem_names(s)]
    if args.bbob_dims:
        args.problems = [p for p in args.problems
                         if suite_of(p) != "d" or int(p.rpartition("-")[2][:-1]) in args.bbob_dims]
    for name in args.problems:
        suite_of(name)  # fails early on an unknown name
    args.out = args.out or str(results / f"quality-{'-'.join(args.suite)}.json")
    print(report(run_quality(args, argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
