"""Multi-objective quality and sampler overhead: hyperknob's samplers next to Optuna's.

Part ``quality`` (default) runs every method on every problem (``_mo_problems.py``: ZDT1-4,
ZDT6, DTLZ1-7 with 3 objectives, and ``nn-digits``) for seeds 0-4, 100 trials each, and
stores every trial's values, so the hypervolume at any trial count is recomputed when results
are merged. Score: normalized hypervolume HV(front of the first t trials) / HV(true front),
with the problem's reference point (points not below it in every objective add nothing);
``nn-digits`` has no known front and is normalized by the best hypervolume any method reached
in the results scored (so its scores move when runs are merged). Hypervolumes are
``hyperknob._pareto.hypervolume``, checked against Optuna's ``compute_hypervolume`` on every
call (a relative difference over 1e-9 stops the report). Reported: the mean over seeds at 25,
50 and 100 trials; for each hyperknob method against each Optuna method the paired difference
(same problem and seed), mean ± standard error over all (problem, seed) pairs and per problem,
and the problems where hyperknob's mean is higher / lower / tied (|mean difference| < 1 SE).

Methods (``METHODS``), each with its library's defaults and ``seed=seed``: ``optuna-nsga2``,
``optuna-tpe`` (MOTPE), ``optuna-gp`` (logEHVI), ``optuna-random``: Optuna's
``NSGAIISampler``, ``TPESampler``, ``GPSampler``, ``RandomSampler``; ``hk-default``:
``hyperknob.create_study(directions=..., seed=seed)`` (its default sampler); ``hk-nsga2``,
``hk-tpe``, ``hk-gp``, ``hk-random``: hyperknob's ``NSGAIISampler``, ``TPESampler``,
``GPSampler``, ``RandomSampler``. A method whose API is not there (no ``directions=`` in
``hyperknob.create_study``, no sampler class, or ``NotImplementedError`` from the sampler) is
recorded as skipped with the reason; any other exception is recorded as an error with its
traceback, and the run goes on (the exit code is 1 if any run failed).

Time: each trial's wall time runs from the end of the previous trial's evaluation (the first:
from the ``optimize`` call; the last: to its return) to the end of its own; the objective time
is the evaluation alone (the ``suggest_*`` calls count as the sampler's). Sampler time per
trial = wall - objective.

Part ``overhead`` runs ZDT1 with n = 10 (cheap: the time is the sampler's) for 500 trials and
reports the mean sampler time per trial over trials 400-500 for hk-nsga2 / optuna-nsga2,
hk-tpe / optuna-tpe, hk-default / optuna-default (Optuna's default sampler, which for several
objectives is ``TPESampler`` in Optuna 5) and hk-default / optuna-nsga2; the GPs run 200
trials (Optuna's logEHVI GP takes ~0.4 s per trial at 150 trials and grows), timed over
trials 160-200. Ratios are hk / optuna (goal: <= 1/3).

BLAS and OpenMP run one thread (OPENBLAS/OMP/MKL_NUM_THREADS=1) for every library.

Examples::

    python benchmarks/multi_objective.py --quick
    python benchmarks/multi_objective.py --problems ZDT1 DTLZ2 \\
        --methods optuna-nsga2 optuna-tpe optuna-random --seeds 0 1 --out /tmp/mo-smoke.json
    python benchmarks/multi_objective.py --out benchmarks/results/mo-quality.json
    python benchmarks/multi_objective.py --problems nn-digits \\
        --out benchmarks/results/mo-quality-nn.json
    python benchmarks/multi_objective.py --merge benchmarks/results/mo-quality.json \\
        benchmarks/results/mo-quality-nn.json --out benchmarks/results/mo-quality-merged.json
    python benchmarks/multi_objective.py --part overhead --out benchmarks/results/mo-overhead.json
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from _mo_problems import NN_PROBLEM, PROBLEMS, Problem, make_problem, to_losses  # noqa: E402
from _results import save, source_sha256  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OPTUNA_METHODS = ("optuna-nsga2", "optuna-tpe", "optuna-gp", "optuna-random")
HK_METHODS = ("hk-default", "hk-nsga2", "hk-tpe", "hk-gp", "hk-random", "hk-tpe-univariate")
METHODS = (*OPTUNA_METHODS, *HK_METHODS)
#: What the goal lines compare hyperknob with: NSGA-II and MOTPE.
ANCHOR_METHODS = ("optuna-nsga2", "optuna-tpe")
#: Options of a hyperknob sampler's variant (``hk-tpe-univariate``): experiments, not defaults.
VARIANTS: dict[str, dict[str, Any]] = {"univariate": {"multivariate": False}}
_SAMPLER_CLASSES = {"nsga2": "NSGAIISampler", "tpe": "TPESampler", "gp": "GPSampler",
                    "random": "RandomSampler"}
BUDGETS = (25, 50, 100)
#: Overhead: (hyperknob, Optuna) pairs by name; trial counts; the goal on hk / optuna.
OVERHEAD_PAIRS = {"nsga2": ("hk-nsga2", "optuna-nsga2"), "tpe": ("hk-tpe", "optuna-tpe"),
                  "default": ("hk-default", "optuna-default"),
                  "default-vs-nsga2": ("hk-default", "optuna-nsga2"),
                  "gp": ("hk-gp", "optuna-gp")}
GOAL_OVERHEAD_RATIO = 1.0 / 3.0


class MethodUnavailableError(Exception):
    """The method's API is not in the installed library (yet)."""


def meta(argv: list[str]) -> dict[str, Any]:
    """The command, versions, date and a hash of the hyperknob sources measured."""
    import importlib.metadata as md

    versions: dict[str, str | None] = {}
    for pkg in ("hyperknob", "optuna", "numpy", "scipy", "scikit-learn", "torch"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"command": shlex.join(["python", "benchmarks/multi_objective.py", *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "versions": versions,
            "hyperknob_src_sha256": source_sha256(ROOT),
            "threads": {v: os.environ[v] for v in
                        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}


# -- methods -----------------------------------------------------------------------------------
def create_study(method: str, directions: Sequence[Any], seed: int) -> Any:
    """Return a fresh in-memory study of the method's library, or raise MethodUnavailableError."""
    library, _, kind = method.partition("-")
    if library == "optuna":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (None if kind == "default"
                   else getattr(optuna.samplers, _SAMPLER_CLASSES[kind])(seed=seed))
        return optuna.create_study(directions=list(directions), sampler=sampler)
    import hyperknob

    try:
        if kind == "default":
            return hyperknob.create_study(directions=list(directions), seed=seed)
        kind, _, variant = kind.partition("-")
        cls = getattr(hyperknob.samplers, _SAMPLER_CLASSES[kind], None)
        if cls is None:
            raise MethodUnavailableError(f"hyperknob.samplers has no {_SAMPLER_CLASSES[kind]}")
        options = VARIANTS.get(variant, {})
        return hyperknob.create_study(directions=list(directions),
                                      sampler=cls(seed=seed, **options))
    except (TypeError, NotImplementedError) as error:  # e.g. no directions= keyword yet
        raise MethodUnavailableError(f"{type(error).__name__}: {error}") from error


def run_method(method: str, problem: Problem, seed: int, n_trials: int) -> dict[str, Any]:
    """Run one optimization; return every trial's values and times, or why it did not run."""
    run: dict[str, Any] = {"method": method, "problem": problem.name, "seed": seed,
                           "n_trials": n_trials, "status": "ok", "values": [],
                           "trial_s": [], "objective_s": []}
    try:
        study = create_study(method, problem.directions, seed)
    except MethodUnavailableError as error:
        return {**run, "status": "skipped", "reason": str(error)}
    run["sampler"] = type(getattr(study, "sampler", None)).__name__
    ends: list[float] = []

    def objective(trial: Any) -> tuple[float, ...]:
        point = problem.suggest(trial)
        start = time.perf_counter()
        values = problem.evaluate(point)
        ends.append(time.perf_counter())
        run["objective_s"].append(ends[-1] - start)
        run["values"].append(list(values))
        return values

    gc.collect()
    start = time.perf_counter()
    try:
        study.optimize(objective, n_trials=n_trials)
    except NotImplementedError as error:
        run.update(status="skipped", reason=f"NotImplementedError: {error}")
    except Exception as error:  # recorded; the other runs go on
        run.update(status="error", reason=f"{type(error).__name__}: {error}",
                   traceback=traceback.format_exc())
    end = time.perf_counter()
    points = [start, *ends]
    run["trial_s"] = [b - a for a, b in itertools.pairwise(points)]
    if run["trial_s"]:
        run["trial_s"][-1] += end - ends[-1]  # the last tell
    run["wall_s"] = end - start
    if run["status"] == "ok":
        stored = [list(t.values) for t in study.trials]
        if stored != run["values"]:
            run.update(status="error", reason="study.trials' values differ from the objective's")
        run["n_best_trials"] = len(study.best_trials)
    return run


# -- scoring -------------------------------------------------------------------------------------
def hypervolume(loss: np.ndarray, reference: np.ndarray) -> float:
    """hyperknob's hypervolume of the points below ``reference``, checked against Optuna's."""
    from optuna._hypervolume import compute_hypervolume

    from hyperknob._pareto import hypervolume as hk_hypervolume

    inside = loss[np.all(np.isfinite(loss), axis=1) & np.all(loss < reference, axis=1)]
    if len(inside) == 0:
        return 0.0
    value = float(hk_hypervolume(inside, reference))
    check = float(compute_hypervolume(inside, reference))
    if abs(value - check) > 1e-9 * max(abs(value), abs(check)):
        raise RuntimeError(f"hyperknob's hypervolume {value!r} differs from Optuna's {check!r} "
                           f"by more than 1e-9 relative (reference {reference.tolist()}, "
                           f"{len(inside)} points)")
    return value


_HV_CACHE: dict[tuple[str, str], float] = {}


def run_hypervolume(run: dict[str, Any], info: dict[str, Any], t: int) -> float:
    """Return the hypervolume of the first t trials' losses (cached: reports rescore)."""
    values = run["values"][:t]
    key = (info["name"], json.dumps(values))
    if key not in _HV_CACHE:
        loss = to_losses(info["name"], values, info["m"])
        _HV_CACHE[key] = hypervolume(loss, np.asarray(info["reference"], dtype=float))
    return _HV_CACHE[key]


def normalized_table(data: dict[str, Any], t: int) -> dict[str, dict[str, dict[int, float]]]:
    """Return HV_t / HV_true per problem -> method -> seed, over the runs with >= t trials."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for name, info in data["problems"].items():
        runs = [r for r in data["runs"] if r["problem"] == name and r["status"] == "ok"]
        denominator = info.get("true_hv")
        if denominator is None:  # nn-digits: the best any run reached
            denominator = max((run_hypervolume(r, info, len(r["values"])) for r in runs),
                              default=0.0)
        for r in runs:
            if len(r["values"]) >= t and denominator > 0:
                out.setdefault(name, {}).setdefault(r["method"], {})[r["seed"]] = (
                    run_hypervolume(r, info, t) / denominator)
    return out


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Return the mean and its standard error (NaN for one value)."""
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return mean, se


def paired(norms: dict[str, dict[str, dict[int, float]]], method: str, rival: str
           ) -> dict[str, list[float]]:
    """Return method - rival per problem, one value per seed both ran."""
    out = {}
    for problem, by_method in norms.items():
        a, b = by_method.get(method, {}), by_method.get(rival, {})
        seeds = sorted(set(a) & set(b))
        if seeds:
            out[problem] = [a[s] - b[s] for s in seeds]
    return out


def verdict_counts(diffs: dict[str, list[float]]) -> tuple[int, int, int]:
    """Problems where the mean difference is > 0, < 0, or tied (|mean| < 1 SE, or 0)."""
    higher = lower = tied = 0
    for values in diffs.values():
        mean, se = mean_se(values)
        if mean == 0 or (math.isfinite(se) and abs(mean) < se):
            tied += 1
        elif mean > 0:
            higher += 1
        else:
            lower += 1
    return higher, lower, tied


def report(data: dict[str, Any]) -> str:
    """Markdown tables: normalized HV per budget, paired differences, times, goal lines."""
    runs = data["runs"]
    ok = [r for r in runs if r["status"] == "ok"]
    methods = [m for m in METHODS if any(r["method"] == m for r in ok)]
    problems = [p for p in PROBLEMS if p in data["problems"]]
    budgets = [t for t in BUDGETS if any(len(r["values"]) >= t for r in ok)]
    if not budgets and ok:
        budgets = [min(len(r["values"]) for r in ok)]
    lines: list[str] = []
    for t in budgets:
        norms = normalized_table(data, t)
        lines += [f"### Normalized hypervolume at {t} trials (mean over seeds; 1 = the true "
                  f"front, {NN_PROBLEM}: the best any run reached)", "",
                  "| problem | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
        for p in problems:
            cells = []
            for m in methods:
                d = norms.get(p, {}).get(m)
                cells.append(f"{statistics.fmean(d.values()):.3f} ({len(d)})" if d else "-")
            lines.append(f"| {p} | " + " | ".join(cells) + " |")
        cells = []
        for m in methods:
            per_problem = [statistics.fmean(norms[p][m].values()) for p in problems
                           if m in norms.get(p, {})]
            complete = len(per_problem) == len(problems)
            cells.append(f"**{statistics.fmean(per_problem):.3f}**" + ("" if complete else
                         f" ({len(per_problem)} problems)") if per_problem else "-")
        lines += ["| **mean over problems** | " + " | ".join(cells) + " |", ""]
    if budgets:
        lines += paired_section(data, budgets[-1], methods, problems)
    lines += time_section(ok, methods, problems)
    not_ok = [r for r in runs if r["status"] != "ok"]
    if not_ok:
        lines += ["### Runs that did not complete", ""]
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in not_ok:
            groups.setdefault((r["method"], r["status"]), []).append(r)
        for (m, status), group in groups.items():
            where = [f"{r['problem']}/{r['seed']}" for r in group]
            others = len({r["reason"] for r in group}) - 1
            lines.append(f"- {m}: {status} ({len(where)} runs: {', '.join(where[:6])}"
                         f"{' ...' if len(where) > 6 else ''}): {group[0]['reason']}"
                         + (f" (and {others} other messages)" if others else ""))
        lines.append("")
    lines += goal_lines(data, budgets, methods)
    return "\n".join(lines)


def paired_section(data: dict[str, Any], t: int, methods: list[str], problems: list[str]
                   ) -> list[str]:
    """Paired differences (hk - optuna) at t trials: overall, counts, per problem."""
    norms = normalized_table(data, t)
    lines = [f"### Paired difference of normalized HV at {t} trials (hyperknob - Optuna, same "
             "problem and seed): mean ± SE over (problem, seed) pairs; problems higher / "
             "lower / tied (|mean| < 1 SE)", "",
             "| hk | optuna | all pairs | higher/lower/tied | " + " | ".join(problems) + " |",
             "|---|---|---:|---:|" + "---:|" * len(problems)]
    for m in (m for m in HK_METHODS if m in methods):
        for rival in (r for r in OPTUNA_METHODS if r in methods):
            diffs = paired(norms, m, rival)
            if not diffs:
                continue
            every = [v for values in diffs.values() for v in values]
            mean, se = mean_se(every)
            counts = "/".join(map(str, verdict_counts(diffs)))
            cells = [_plus_minus(diffs[p]) if p in diffs else "-" for p in problems]
            lines.append(f"| {m} | {rival} | {mean:+.4f} ± {se:.4f} ({len(every)}) | {counts} | "
                         + " | ".join(cells) + " |")
    return [*lines, ""] if len(lines) > 4 else []


def _plus_minus(values: list[float]) -> str:
    mean, se = mean_se(values)
    return f"{mean:+.3f} ± {se:.3f}"


def time_section(ok: list[dict[str, Any]], methods: list[str], problems: list[str]
                 ) -> list[str]:
    """Sampler ms per trial (wall - objective), mean over seeds; objective s per trial."""
    lines = ["### Sampler time per trial, ms (wall - objective; mean over trials and seeds)",
             "", "| problem | objective s/trial | " + " | ".join(methods) + " |",
             "|---|---:|" + "---:|" * len(methods)]
    for p in problems:
        mine = [r for r in ok if r["problem"] == p]
        if not mine:
            continue
        objective = statistics.fmean(statistics.fmean(r["objective_s"]) for r in mine)
        cells = []
        for m in methods:
            runs = [r for r in mine if r["method"] == m]
            cells.append(f"{statistics.fmean(sampler_ms(r) for r in runs):.1f}"
                         if runs else "-")
        lines.append(f"| {p} | {objective:.3g} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def sampler_ms(run: dict[str, Any], first: int = 0, last: int | None = None) -> float:
    """Mean sampler time per trial in ms over trials [first, last)."""
    wall, objective = run["trial_s"][first:last], run["objective_s"][first:last]
    return 1e3 * statistics.fmean(w - o for w, o in zip(wall, objective, strict=True))


def goal_lines(data: dict[str, Any], budgets: list[int], methods: list[str]) -> list[str]:
    """The goal: HV after 100 trials at least Optuna NSGA-II's and MOTPE's, mean over seeds."""
    t = 100
    if t not in budgets:
        return []
    norms = normalized_table(data, t)
    lines = ["### Goal verdicts (quality): normalized HV after 100 trials at least Optuna "
             "NSGA-II's and MOTPE's (mean over problems and seeds)", ""]
    for m in (m for m in HK_METHODS if m in methods):
        for rival in (r for r in ANCHOR_METHODS if r in methods):
            diffs = paired(norms, m, rival)
            if not diffs:
                continue
            mean, se = mean_se([v for values in diffs.values() for v in values])
            seeds = {len(v) for v in diffs.values()}
            lines.append(f"- {m} vs {rival} ({len(diffs)} problems, {'/'.join(map(str, seeds))}"
                         f" seeds): {mean:+.4f} ± {se:.4f} -> "
                         f"{'MET' if mean >= 0 else 'NOT met'}")
    return [*lines, ""] if len(lines) > 2 else []


# -- running -------------------------------------------------------------------------------------
def problem_info(problem: Problem) -> dict[str, Any]:
    """What the scoring needs of a problem, stored with the runs."""
    return {"name": problem.name, "n_var": problem.n_var, "m": problem.m,
            "directions": list(problem.directions), "reference": list(problem.reference),
            "true_hv": problem.true_hv}


def run_quality(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Run every (problem, seed, method) not yet in ``--out``, saving after each run."""
    path = Path(args.out)
    data: dict[str, Any] = {"meta": meta(argv), "problems": {}, "runs": []}
    if args.resume and path.exists():
        data = json.loads(path.read_text())
        data["meta"] = meta(argv)
    done = {(r["problem"], r["method"], r["seed"]) for r in data["runs"] if r["status"] == "ok"}
    data["runs"] = [r for r in data["runs"]
                    if r["status"] == "ok" or (r["problem"], r["method"], r["seed"]) in done]
    for name in args.problems:
        problem = make_problem(name)
        data["problems"][name] = problem_info(problem)
        for seed in args.seeds:
            for method in args.methods:
                if (name, method, seed) in done:
                    continue
                run = run_method(method, problem, seed, args.trials)
                data["runs"].append(run)
                if run["status"] == "ok":
                    hv = run_hypervolume(run, data["problems"][name], len(run["values"]))
                    print(f"{name:10s} {method:13s} seed={seed} HV={hv:.6g} "
                          f"{run['wall_s']:.1f}s (objective {sum(run['objective_s']):.1f}s)",
                          flush=True)
                else:
                    print(f"{name:10s} {method:13s} seed={seed} {run['status'].upper()}: "
                          f"{run['reason']}", flush=True)
                save(path, data, report(data))
    return data


def merge(paths: list[str], out: str, argv: list[str]) -> dict[str, Any]:
    """Combine JSON files (a later file's run replaces an earlier one with the same key)."""
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    problems: dict[str, Any] = {}
    sources = []
    for p in paths:
        if Path(p).resolve() == Path(out).resolve():
            continue  # a glob that matched the output of an earlier merge
        d = json.loads(Path(p).read_text())
        problems.update(d["problems"])
        sources.append({"file": p, "meta": d["meta"]})
        for r in d["runs"]:
            key = (r["problem"], r["method"], r["seed"])
            if r["status"] == "ok" or key not in runs:
                runs[key] = r
    data = {"meta": {**meta(argv), "merged_from": sources}, "problems": problems,
            "runs": list(runs.values())}
    save(Path(out), data, report(data))
    return data


# -- overhead ----------------------------------------------------------------------------------
def run_overhead(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Time each method of the chosen pairs on ZDT1 (n = 10), alternating the order per repeat."""
    problem = make_problem("ZDT1", n_var=10)
    methods = list(dict.fromkeys(m for kind in args.samplers for m in OVERHEAD_PAIRS[kind]))
    data: dict[str, Any] = {"meta": meta(argv), "problem": problem_info(problem), "runs": []}
    for method in methods:  # warm-up: imports, first-use compilation
        run_method(method, problem, 99, 12)
    for rep in range(args.repeats):
        for method in (methods if rep % 2 == 0 else methods[::-1]):
            n = args.gp_trials if method.endswith("-gp") else args.overhead_trials
            run = run_method(method, problem, rep, n)
            run.pop("values")
            data["runs"].append(run)
            if run["status"] == "ok":
                print(f"{method:14s} n={n} rep={rep}: {sampler_ms(run):.2f} ms/trial (all), "
                      f"{sampler_ms(run, int(0.8 * n)):.2f} ms/trial (last 20 %)", flush=True)
            else:
                print(f"{method:14s} {run['status'].upper()}: {run['reason']}", flush=True)
            save(Path(args.out), data, overhead_report(data))
    return data


def overhead_report(data: dict[str, Any]) -> str:
    """Table: sampler ms per trial over the last 20 % of each run, and the hk / optuna ratios."""
    ok = [r for r in data["runs"] if r["status"] == "ok"]
    lines = ["| method | sampler | trials | window | ms/trial (window) | ms/trial (all) | runs |",
             "|---|---|---:|---|---:|---:|---:|"]
    window_ms: dict[str, float] = {}
    for method in dict.fromkeys(r["method"] for r in data["runs"]):
        runs = [r for r in ok if r["method"] == method]
        if not runs:
            reason = next(r["reason"] for r in data["runs"] if r["method"] == method)
            lines.append(f"| {method} | - | - | - | skipped: {reason} | | |")
            continue
        n = runs[0]["n_trials"]
        window_ms[method] = statistics.fmean(sampler_ms(r, int(0.8 * n)) for r in runs)
        lines.append(f"| {method} | {runs[0]['sampler']} | {n} | {int(0.8 * n)}-{n} | "
                     f"{window_ms[method]:.2f} | "
                     f"{statistics.fmean(sampler_ms(r) for r in runs):.2f} | {len(runs)} |")
    lines += ["", "| pair | hk / optuna (window) | goal <= 1/3 |", "|---|---:|---|"]
    for hk, rival in OVERHEAD_PAIRS.values():
        if hk in window_ms and rival in window_ms:
            ratio = window_ms[hk] / window_ms[rival]
            lines.append(f"| {hk} / {rival} | {ratio:.3f} | "
                         f"{'MET' if ratio <= GOAL_OVERHEAD_RATIO else 'NOT met'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("quality", "overhead"), default="quality")
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, help="default: all")
    parser.add_argument("--methods", nargs="+", choices=METHODS, help="default: all")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: 0 1 2 3 4")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--out", help="JSON file (a .txt with the tables goes next to it)")
    parser.add_argument("--resume", action="store_true", help="keep the completed runs of --out")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="combine result files")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: ZDT1 and DTLZ2, seeds 0 1, 20 trials")
    parser.add_argument("--samplers", nargs="+", choices=tuple(OVERHEAD_PAIRS),
                        default=list(OVERHEAD_PAIRS), help="overhead: which pairs to time")
    parser.add_argument("--overhead-trials", type=int, default=500)
    parser.add_argument("--gp-trials", type=int, default=200, help="overhead: GP run length")
    parser.add_argument("--repeats", type=int, default=1, help="overhead: runs per method")
    args = parser.parse_args(argv)
    results = ROOT / "benchmarks" / "results"
    if args.merge:
        print(report(merge(args.merge, args.out or str(results / "mo-quality-merged.json"),
                           argv)))
        return 0
    if args.part == "overhead":
        args.out = args.out or str(results / "mo-overhead.json")
        data = run_overhead(args, argv)
        print(overhead_report(data))
        return int(any(r["status"] == "error" for r in data["runs"]))
    if args.quick:
        args.problems = args.problems or ["ZDT1", "DTLZ2"]
        args.seeds, args.trials = args.seeds or [0, 1], 20
        args.out = args.out or "/tmp/mo-quick.json"
    args.problems = args.problems or list(PROBLEMS)
    args.methods = args.methods or list(METHODS)
    args.seeds = args.seeds if args.seeds is not None else [0, 1, 2, 3, 4]
    args.out = args.out or str(results / "mo-quality.json")
    data = run_quality(args, argv)
    print(report(data))
    return int(any(r["status"] == "error" for r in data["runs"]))


if __name__ == "__main__":
    sys.exit(main())
