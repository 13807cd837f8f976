"""Per-trial framework overhead of hyperknob next to Optuna (issue 2).

For every cell (sampler x storage x study size) both libraries run the same trivial objective
(a float, a log-float and a categorical parameter; a few arithmetic operations), so the time
measured is the framework's own: asking, sampling, storing, telling. Each run gets a fresh
study: a fresh SQLite file in a temporary folder, or a fresh PostgreSQL database.

Reported per run: the mean wall time per trial of ``study.optimize(objective, n_trials=n)``
and the mean time per trial over the last 10% of trials (the marginal cost at that study
size), both taken from a callback recording ``time.perf_counter()`` after every trial.

Runs of the two libraries alternate inside a cell, in the order A B, B A, A B, ... so that
slow drift of a shared machine falls on both. Results are printed as a Markdown table and
written as JSON (every measurement, the command, the versions, the date); the JSON is
rewritten after every cell, so a long run that is stopped keeps what it finished.

Examples::

    python benchmarks/overhead.py --quick
    python benchmarks/overhead.py --storages memory --trials 100 1000 10000 --repeats 5
    python benchmarks/overhead.py --storages sqlite --trials 10000 --samplers random \\
        --repeats 1 --out benchmarks/results/overhead-sqlite-10k.json
    python benchmarks/overhead.py --merge benchmarks/results/overhead-*.json
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LIBRARIES = ("hyperknob", "optuna")
SAMPLERS = ("random", "qmc", "grid")
STORAGES = ("memory", "sqlite", "postgres")
POSTGRES_ENV = "HYPERKNOB_BENCH_POSTGRES_URL"
CHOICES = ("relu", "tanh", "gelu")
LR_LOW, LR_HIGH = 1e-5, 1e-1
X_LOW, X_HIGH = -10.0, 10.0
# Goals of issue 2: (sampler, storage, n_trials or None for every size) -> minimum ratio
# optuna ms/trial / hyperknob ms/trial.
GOALS: dict[tuple[str, str, int | None], float] = {
    ("random", "memory", 10_000): 3.0,
    ("random", "sqlite", None): 2.0,
    ("qmc", "sqlite", None): 2.0,
    ("grid", "sqlite", None): 2.0,
}


def objective(trial: Any) -> float:
    """Three parameters and a few flops: the same body for hyperknob and Optuna."""
    x = trial.suggest_float("x", X_LOW, X_HIGH)
    lr = trial.suggest_float("lr", LR_LOW, LR_HIGH, log=True)
    act = trial.suggest_categorical("act", CHOICES)
    return (x - 2.0) ** 2 + lr * (1.0 if act == "relu" else 2.0)


def grid_space(n_trials: int) -> dict[str, list[Any]]:
    """Return a grid over the objective's three parameters with at least ``n_trials`` points."""
    k = max(2, math.ceil(math.sqrt(n_trials / len(CHOICES))))
    xs = [X_LOW + (X_HIGH - X_LOW) * i / (k - 1) for i in range(k)]
    log_low, log_high = math.log(LR_LOW), math.log(LR_HIGH)
    lrs = [min(max(math.exp(log_low + (log_high - log_low) * i / (k - 1)), LR_LOW), LR_HIGH)
           for i in range(k)]
    return {"x": xs, "lr": lrs, "act": list(CHOICES)}


# -- building studies ------------------------------------------------------------------------
def make_sampler(library: str, sampler: str, seed: int, n_trials: int) -> Any:
    if library == "hyperknob":
        from hyperknob import samplers as hk

        if sampler == "random":
            return hk.RandomSampler(seed=seed)
        if sampler == "qmc":
            return hk.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)
        return hk.GridSampler(grid_space(n_trials), seed=seed)
    import optuna

    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler == "qmc":
        return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed,
                                          warn_independent_sampling=False)
    return optuna.samplers.GridSampler(grid_space(n_trials), seed=seed)


class Databases:
    """Hand out a fresh storage URL per run: a new SQLite file or a new PostgreSQL database."""

    def __init__(self, postgres_url: str | None) -> None:
        self.postgres_url = postgres_url
        self._tmp = tempfile.TemporaryDirectory(prefix="hk-overhead-")
        self._count = itertools.count()
        self._admin: Any = None

    def _admin_engine(self) -> Any:
        if self._admin is None:
            import sqlalchemy as sa

            assert self.postgres_url is not None
            self._admin = sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT",
                                           poolclass=sa.pool.NullPool)
        return self._admin

    def postgres_version(self) -> str | None:
        if self.postgres_url is None:
            return None
        with self._admin_engine().connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())

    @contextmanager
    def url(self, library: str, storage: str) -> Iterator[str | None]:
        index = next(self._count)
        if storage == "memory":
            yield None
        elif storage == "sqlite":
            path = Path(self._tmp.name) / f"{library}-{index}.db"
            try:
                yield f"sqlite:///{path}"
            finally:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            import sqlalchemy as sa

            assert self.postgres_url is not None
            name = f"hkbench_{library[:2]}_{os.getpid()}_{index}_{uuid.uuid4().hex[:6]}"
            with self._admin_engine().connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                url = sa.engine.make_url(self.postgres_url).set(database=name)
                yield url.render_as_string(hide_password=False)
            finally:
                with self._admin_engine().connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
        self._tmp.cleanup()


def create_study(library: str, storage_url: str | None, sampler: Any) -> Any:
    if library == "hyperknob":
        import hyperknob

        return hyperknob.create_study(storage=storage_url, sampler=sampler)
    import optuna

    return optuna.create_study(storage=storage_url, sampler=sampler)


def close_study(library: str, study: Any) -> None:
    storage = study._storage
    if library == "hyperknob":
        storage.close()
        return
    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


# -- one measurement -------------------------------------------------------------------------
def run_once(library: str, sampler_name: str, storage: str, n_trials: int, seed: int,
             databases: Databases) -> dict[str, Any]:
    """Time ``study.optimize`` on a fresh study; return one measurement."""
    with databases.url(library, storage) as url:
        sampler = make_sampler(library, sampler_name, seed, n_trials)
        started = time.perf_counter()
        study = create_study(library, url, sampler)
        create_s = time.perf_counter() - started
        stamps: list[float] = []

        def record(_study: Any, _trial: Any) -> None:
            stamps.append(time.perf_counter())

        gc.collect()
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=n_trials, callbacks=[record])
        total = time.perf_counter() - t0
        finished = len(study.trials)
        close_study(library, study)
        del study
    if len(stamps) != n_trials or finished != n_trials:
        raise RuntimeError(f"{library} {sampler_name}/{storage} ran {len(stamps)} of "
                           f"{n_trials} trials ({finished} stored)")
    tail = max(1, n_trials // 10)
    before_tail = stamps[-tail - 1] if tail < n_trials else t0
    return {
        "library": library, "sampler": sampler_name, "storage": storage, "n_trials": n_trials,
        "seed": seed, "total_s": total, "ms_per_trial": 1000 * total / n_trials,
        "last10_trials": tail, "last10_ms_per_trial": 1000 * (stamps[-1] - before_tail) / tail,
        "create_study_s": create_s,
        "started_at": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def warm_up(sampler: str, storage: str, databases: Databases, n_trials: int) -> None:
    """Untimed runs, so imports and first-use compilation are not billed to the first cell."""
    if n_trials <= 0:
        return
    for library in LIBRARIES:
        run_once(library, sampler, storage, n_trials, 0, databases)


# -- the table -------------------------------------------------------------------------------
def goal_for(sampler: str, storage: str, n_trials: int) -> float | None:
    return GOALS.get((sampler, storage, n_trials), GOALS.get((sampler, storage, None)))


def summarize(measurements: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: dict[tuple[str, str, int], dict[str, list[dict[str, Any]]]] = {}
    for m in measurements:
        key = (m["sampler"], m["storage"], m["n_trials"])
        cells.setdefault(key, {}).setdefault(m["library"], []).append(m)
    order = {name: i for i, name in enumerate(STORAGES)}
    sampler_order = {name: i for i, name in enumerate(SAMPLERS)}
    rows = []
    for key in sorted(cells, key=lambda k: (order[k[1]], sampler_order[k[0]], k[2])):
        sampler, storage, n_trials = key
        row: dict[str, Any] = {"sampler": sampler, "storage": storage, "n_trials": n_trials}
        for library in LIBRARIES:
            runs = cells[key].get(library, [])
            per_trial = [m["ms_per_trial"] for m in runs]
            tail = [m["last10_ms_per_trial"] for m in runs]
            row[library] = {
                "repeats": len(runs),
                "seeds": sorted({m["seed"] for m in runs}),
                "ms_per_trial": statistics.fmean(per_trial) if runs else None,
                "ms_per_trial_stdev": statistics.stdev(per_trial) if len(runs) > 1 else None,
                "last10_ms_per_trial": statistics.fmean(tail) if runs else None,
            }
        hk, op = row["hyperknob"], row["optuna"]
        row["ratio"] = (op["ms_per_trial"] / hk["ms_per_trial"]
                        if hk["ms_per_trial"] and op["ms_per_trial"] else None)
        row["ratio_last10"] = (op["last10_ms_per_trial"] / hk["last10_ms_per_trial"]
                               if hk["last10_ms_per_trial"] and op["last10_ms_per_trial"]
                               else None)
        row["goal"] = goal_for(sampler, storage, n_trials)
        row["met"] = None if row["goal"] is None or row["ratio"] is None else (
            row["ratio"] >= row["goal"])
        rows.append(row)
    return rows


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| cell (sampler / storage / trials) | repeats hk/op | hyperknob ms/trial "
        "| optuna ms/trial | optuna/hyperknob | hk last 10% | optuna last 10% "
        "| ratio last 10% | goal | met? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        hk, op = row["hyperknob"], row["optuna"]
        goal = "-" if row["goal"] is None else f">= {row['goal']:g}x"
        met = "-" if row["met"] is None else ("yes" if row["met"] else "**no**")
        lines.append(
            f"| {row['sampler']} / {row['storage']} / {row['n_trials']:,} "
            f"| {hk['repeats']}/{op['repeats']} | {_ms(hk['ms_per_trial'])} "
            f"| {_ms(op['ms_per_trial'])} | {_ratio(row['ratio'])} "
            f"| {_ms(hk['last10_ms_per_trial'])} | {_ms(op['last10_ms_per_trial'])} "
            f"| {_ratio(row['ratio_last10'])} | {goal} | {met} |"
        )
    return "\n".join(lines)


def storage_only_table(rows: Sequence[dict[str, Any]]) -> str:
    """SQL storage cost alone: ms/trial on the SQL storage minus ms/trial in memory."""
    memory = {(r["sampler"], r["n_trials"]): r for r in rows if r["storage"] == "memory"}
    lines = ["| cell (sampler / storage / trials) | hyperknob storage ms/trial "
             "| optuna storage ms/trial | optuna/hyperknob |",
             "|---|---:|---:|---:|"]
    found = False
    for row in rows:
        base = memory.get((row["sampler"], row["n_trials"]))
        if row["storage"] == "memory" or base is None:
            continue
        extra = {}
        for library in LIBRARIES:
            sql, mem = row[library]["ms_per_trial"], base[library]["ms_per_trial"]
            extra[library] = None if sql is None or mem is None else sql - mem
        hk, op = extra["hyperknob"], extra["optuna"]
        ratio = op / hk if hk and op and hk > 0 else None
        lines.append(f"| {row['sampler']} / {row['storage']} / {row['n_trials']:,} "
                     f"| {_ms(hk)} | {_ms(op)} | {_ratio(ratio)} |")
        found = True
    return "\n".join(lines) if found else ""


# -- files -----------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    import numpy
    import optuna
    import scipy
    import sqlalchemy

    import hyperknob

    found = {"python": platform.python_version(), "numpy": numpy.__version__,
             "scipy": scipy.__version__, "sqlalchemy": sqlalchemy.__version__,
             "optuna": optuna.__version__, "hyperknob": hyperknob.__version__}
    try:
        import psycopg

        found["psycopg"] = psycopg.__version__
    except ImportError:
        pass
    return found


def source_state() -> dict[str, Any]:
    """Identify the hyperknob code measured: commit, changed files, hash of its sources."""
    import hashlib
    import subprocess

    import hyperknob

    package = Path(hyperknob.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    state: dict[str, Any] = {"package_dir": str(package), "sources_sha256": digest.hexdigest()}
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=package).stdout

    try:
        state["git_commit"] = git("rev-parse", "HEAD").strip()
        state["uncommitted"] = git("status", "--porcelain", "--", ".").splitlines()
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def machine() -> dict[str, Any]:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "note": "shared machine; compare the two libraries within one run only"}


def write_results(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


def report(payload: dict[str, Any], path: Path | None) -> str:
    rows = summarize(payload["measurements"])
    payload["summary"] = rows
    text = markdown_table(rows)
    extra = storage_only_table(rows)
    if extra:
        text += "\n\nSQL storage cost alone (SQL ms/trial minus in-memory ms/trial, same " \
                "sampler and size):\n\n" + extra
    if path is not None:
        write_results(path, payload)
        path.with_suffix(".txt").write_text(text + "\n")
    return text


def merge(files: Sequence[str], out: Path | None) -> None:
    measurements, sources = [], []
    for name in files:
        data = json.loads(Path(name).read_text())
        parts = data.get("sources", [data])
        for part in parts:
            sources.append({k: v for k, v in part.items()
                            if k not in ("measurements", "summary", "sources")})
        for m in data["measurements"]:
            measurements.append({**m, "source": m.get("source", Path(name).name)})
    payload = {
        "benchmark": "overhead", "issue": 2,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": command_line(), "merged_from": [str(f) for f in files],
        "sources": sources, "measurements": measurements,
    }
    print(report(payload, out))


def command_line() -> str:
    return shlex.join(["python", *sys.argv])


# -- main ------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 1000, 10_000],
                        help="study sizes (default: 100 1000 10000)")
    parser.add_argument("--samplers", nargs="+", choices=SAMPLERS, default=list(SAMPLERS))
    parser.add_argument("--storages", nargs="+", choices=STORAGES, default=None,
                        help="default: memory sqlite, and postgres when a URL is given")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV),
                        help=f"server for the postgres cells (default: ${POSTGRES_ENV}); each "
                             "run creates and drops its own database")
    parser.add_argument("--repeats", type=int, default=3, help="runs per library per cell")
    parser.add_argument("--large-sql-repeats", type=int, default=None,
                        help="runs per library for cells of >= 10,000 trials on SQL storages "
                             "(default: --repeats)")
    parser.add_argument("--seed", type=int, default=0, help="repeat r uses seed + r")
    parser.add_argument("--warmup", type=int, default=20,
                        help="trials of an untimed run per library before each sampler/storage")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file (default: benchmarks/results/overhead-<date>.json); a "
                             ".txt with the table is written next to it")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 and 100 trials, 1 repeat, no warm-up")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="merge result files into one table (and --out) instead of running")
    args = parser.parse_args(argv)
    if args.storages is None:
        args.storages = ["memory", "sqlite"] + (["postgres"] if args.postgres_url else [])
    if "postgres" in args.storages and not args.postgres_url:
        parser.error(f"postgres needs --postgres-url or ${POSTGRES_ENV}")
    if args.quick:
        args.trials, args.repeats, args.large_sql_repeats, args.warmup = [20, 100], 1, 1, 0
    if min(args.trials) < 1 or args.repeats < 1:
        parser.error("--trials and --repeats must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.merge:
        merge(args.merge, args.out)
        return
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    today = datetime.date.today().isoformat()
    out = args.out or Path(__file__).resolve().parent / "results" / f"overhead-{today}.json"
    databases = Databases(args.postgres_url if "postgres" in args.storages else None)
    payload: dict[str, Any] = {
        "benchmark": "overhead", "issue": 2,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": command_line(), "python_executable": sys.executable,
        "versions": versions(), "source": source_state(), "machine": machine(),
        "postgres_server": databases.postgres_version(),
        "postgres_url": (None if not databases.postgres_url else __import__("sqlalchemy")
                         .engine.make_url(databases.postgres_url).render_as_string()),
        "config": {"trials": args.trials, "samplers": args.samplers,
                   "storages": args.storages, "repeats": args.repeats,
                   "large_sql_repeats": args.large_sql_repeats, "seed": args.seed,
                   "warmup_trials": args.warmup,
                   "order": "per cell, repeat r runs hyperknob then optuna for even r, "
                            "optuna then hyperknob for odd r; seed = --seed + r"},
        "measurements": [],
    }
    log: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        for storage in args.storages:
            for sampler in args.samplers:
                warm_up(sampler, storage, databases, args.warmup)
                for n_trials in args.trials:
                    repeats = args.repeats
                    if storage != "memory" and n_trials >= 10_000 and args.large_sql_repeats:
                        repeats = args.large_sql_repeats
                    for r in range(repeats):
                        order = LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]
                        for library in order:
                            m = run_once(library, sampler, storage, n_trials, args.seed + r,
                                         databases)
                            m["repeat"] = r
                            payload["measurements"].append(m)
                            log(f"{library:9s} {sampler:6s} {storage:8s} n={n_trials:<6d} "
                                f"r={r} {m['ms_per_trial']:.3f} ms/trial "
                                f"(last 10%: {m['last10_ms_per_trial']:.3f})")
                    report(payload, out)
    finally:
        databases.close()
    print(report(payload, out))
    log(f"results: {out} and {out.with_suffix('.txt')}")


if __name__ == "__main__":
    main()
