"""The subcommands: thin shells over hyperknob's public functions."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any

from hyperknob._urls import sqlite_path
from hyperknob.cli._output import columns_of, write_rows

if TYPE_CHECKING:
    from hyperknob.storages import BaseStorage
    from hyperknob.study import Study

DEFAULT_STORAGE = "sqlite:///hyperknob.db"
STORAGE_ENV = "HYPERKNOB_STORAGE"
DEMO_ATTR = "hyperknob_demo_function"


class CLIError(Exception):
    """An error the CLI reports as ``hyperknob: error: <message>`` with exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- storage and studies -------------------------------------------------------------------------
def open_storage(url: str, *, create: bool = False) -> BaseStorage:
    """Open the storage at ``url``; unless ``create``, a SQLite file must already exist.

    Raises:
        CLIError: If the SQLite file is missing and ``create`` is False.
        ValueError, StorageError, SchemaVersionError: As :func:`hyperknob.storages.get_storage`.
    """
    path = sqlite_path(url)
    if not create and path is not None and not os.path.exists(path):
        raise CLIError(
            f"no SQLite file {path!r} (storage {url!r}); expected an existing hyperknob "
            f"database: pass --storage URL, set {STORAGE_ENV}, or run 'hyperknob demo' to "
            "create one"
        )
    from hyperknob.storages import get_storage

    return get_storage(url)


def load(storage: BaseStorage, name: str) -> Study:
    """Load study ``name``; if it is missing, say which studies the storage does hold."""
    import hyperknob

    try:
        return hyperknob.load_study(study_name=name, storage=storage)
    except hyperknob.StudyNotFoundError as error:
        names = hyperknob.get_all_study_names(storage)
        held = ("it holds no studies" if not names
                else "it holds: " + ", ".join(repr(n) for n in names))
        raise CLIError(f"{error}; {held}") from None


def shown(url: str) -> str:
    """Return ``url`` fit to print: any password replaced by ``***``."""
    if "@" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: print no part of it that may be secret
        return url.split("://", 1)[0] + "://..."


def _hint_storage(args: argparse.Namespace) -> str:
    """Return ``' --storage URL'`` when the storage is not the one a bare command would use."""
    default = os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    return "" if args.storage == default else f" --storage {shlex.quote(shown(args.storage))}"


# -- studies, trials, best -----------------------------------------------------------------------
def cmd_studies(args: argparse.Namespace) -> int:
    """List the studies in the storage, one row each."""
    import hyperknob

    summaries = hyperknob.get_all_study_summaries(open_storage(args.storage))
    rows = [
        {"name": s.study_name, "direction": ",".join(d.name.lower() for d in s.directions),
         "n_trials": s.n_trials,
         "best_value": s.best_value, "started": s.datetime_start}
        for s in summaries
    ]
    write_rows(rows, args.format, sys.stdout,
               columns=["name", "direction", "n_trials", "best_value", "started"],
               empty_message=f"no studies in {shown(args.storage)}")
    return 0


def _ordered(keys: list[str], prefix: str) -> list[str]:
    return sorted(k for k in keys if k.startswith(prefix))


def cmd_trials(args: argparse.Namespace) -> int:
    """List the trials of a study, one row each."""
    from hyperknob.study._records import trial_records, value_columns

    study = load(open_storage(args.storage), args.study)
    names = study.metric_names if study.is_multi_objective() else None
    rows = trial_records(study.trials, n_objectives=len(study.directions), metric_names=names)
    keys = columns_of(rows)
    head = ["number", "state", *value_columns(len(study.directions), names)]
    if args.format != "table":  # the machine formats keep the timestamps
        head += ["datetime_start", "datetime_complete"]
    columns = (head + ["duration_s"] + _ordered(keys, "params_")
               + _ordered(keys, "user_attrs_") + [k for k in ("fail_reason",) if k in keys])
    write_rows(rows, args.format, sys.stdout, columns=columns,
               empty_message=f"study {args.study!r} has no trials yet")
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    """Show the best COMPLETE trial of a study (several objectives: its Pareto front)."""
    from hyperknob.study._records import value_columns

    study = load(open_storage(args.storage), args.study)
    names = study.metric_names if study.is_multi_objective() else None
    columns = value_columns(len(study.directions), names)
    best = study.best_trials if study.is_multi_objective() else [study.best_trial]
    if not best:
        raise CLIError(f"study {args.study!r} has no COMPLETE trial that meets its constraints")
    rows = []
    for trial in best:
        row: dict[str, Any] = {"number": trial.number}
        row.update(zip(columns, trial.values or (), strict=False))
        row.update({f"params_{k}": v for k, v in sorted(trial.params.items())})
        rows.append(row)
    write_rows(rows, args.format, sys.stdout)
    return 0


# -- delete --------------------------------------------------------------------------------------
def _confirm(prompt: str) -> bool:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a study after confirmation (or ``--yes``)."""
    import hyperknob

    storage = open_storage(args.storage)
    study = load(storage, args.study)
    n_trials = len(study.trials)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CLIError(
                f"refusing to delete study {args.study!r} without confirmation: stdin is not a "
                "terminal; pass --yes to delete it", code=2)
        if not _confirm(f"Delete study {args.study!r} and its {n_trials} trials from "
                        f"{shown(args.storage)}? [y/N] "):
            print("hyperknob: nothing deleted", file=sys.stderr)
            return 1
    hyperknob.delete_study(study_name=args.study, storage=storage)
    print(f"deleted study {args.study!r} ({n_trials} trials) from {shown(args.storage)}")
    return 0


# -- demo ----------------------------------------------------------------------------------------
def _demo_args(args: argparse.Namespace, function: str) -> str:
    """Return the arguments of a ``demo`` command that resumes this study."""
    words = ["demo"]
    if function != "branin":
        words += ["--function", function]
    if args.study != f"demo-{function}":
        words += ["--study", shlex.quote(args.study)]
    return " ".join(words)


def cmd_demo(args: argparse.Namespace) -> int:
    """Tune a built-in test function, resuming the study if it exists, and report the result."""
    import hyperknob
    from hyperknob.testing.functions import get_test_function, objective_for

    fn = get_test_function(args.function)
    if args.study is None:
        args.study = f"demo-{fn.name}"
    storage = open_storage(args.storage, create=True)
    study = hyperknob.create_study(study_name=args.study, storage=storage,
                                   direction="minimize", load_if_exists=True, seed=args.seed)
    tuned = study.user_attrs.get(DEMO_ATTR)
    if tuned is None and study.trials:
        raise CLIError(f"study {args.study!r} exists in {shown(args.storage)} and was not made "
                       "by 'hyperknob demo'; expected a new or a demo study: pass --study NAME")
    if tuned is not None and tuned != fn.name:
        raise CLIError(f"study {args.study!r} tunes {tuned!r}, not {fn.name!r}; pass "
                       f"--function {tuned} to resume it, or --study NAME for a new study")
    if tuned is None:
        study.set_user_attr(DEMO_ATTR, fn.name)
    started = time.perf_counter()
    study.optimize(objective_for(fn), n_trials=args.trials,
                   show_progress_bar=sys.stderr.isatty())
    elapsed = time.perf_counter() - started
    best = study.best_trial
    assert best.value is not None
    n_total = len(study.trials)
    gap = best.value - fn.optimum_value
    if args.format != "table":
        row: dict[str, Any] = {
            "study": args.study, "function": fn.name, "n_trials": n_total,
            "new_trials": args.trials, "best_number": best.number, "best_value": best.value,
            "optimum_value": fn.optimum_value, "gap": gap,
        }
        row.update({f"params_{k}": v for k, v in sorted(best.params.items())})
        write_rows([row], args.format, sys.stdout)
        return 0
    where = _hint_storage(args)
    name = shlex.quote(args.study)
    lines = [
        f"Ran {args.trials} trials of {fn.name} ({fn.dim}-D) in {elapsed:.1f} s; study "
        f"{args.study!r} now has {n_total} trials in {shown(args.storage)}.",
        f"Best trial: #{best.number}, value {best.value:.6g}",
        *(f"  {k} = {v:.6g}" for k, v in sorted(best.params.items())),
        f"Known optimum: {fn.optimum_value:.6g} (gap {gap:.3g})",
        "",
        "Next:",
    ]
    hints = [
        (f"hyperknob trials {name}{where}", "every trial"),
        (f"hyperknob best {name}{where}", "the best trial"),
        (f"hyperknob {_demo_args(args, fn.name)}{where}", f"resume: {args.trials} more trials"),
    ]
    width = max(len(command) for command, _ in hints)
    lines += [f"  {command.ljust(width)}  # {comment}" for command, comment in hints]
    print("\n".join(lines))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C."""
    from hyperknob.dashboard import serve

    try:
        serve(open_storage(args.storage), args.host, args.port, args.token)
    except OSError as error:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write a study's HTML report."""
    try:
        from hyperknob.viz import write_report
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise CLIError(f"the report needs plotly: pip install 'hyperknob[viz]' ({error})"
                       ) from None
    study = load(open_storage(args.storage), args.study)
    path = write_report(study, args.output or f"{args.study}-report.html")
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline in a browser)")
    return 0
