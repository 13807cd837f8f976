"""The ``hyperknob`` command: argument parsing, dispatch, and error reporting.

Everything heavy (the test functions, tqdm, the study machinery) is imported by the
subcommand that needs it, so ``hyperknob --help`` and ``--version`` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

from hyperknob.cli._commands import DEFAULT_STORAGE, STORAGE_ENV, CLIError
from hyperknob.cli._output import FORMATS

PROG = "hyperknob"

#: The names of :data:`hyperknob.testing.functions.TEST_FUNCTIONS` (kept here for a fast start).
DEMO_FUNCTIONS = ("branin", "sphere", "rosenbrock", "hartmann3", "levy", "styblinski_tang")

Handler = Callable[[argparse.Namespace], int]


def _int_at_least(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Return an argparse type for integers >= ``minimum`` (and <= ``maximum`` if given)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum or (maximum is not None and value > maximum):
            wanted = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"expected an integer {wanted}, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1)
_port = _int_at_least(0, 65535)
_seed = _int_at_least(0)


def _seconds(text: str) -> float:
    """Return a number of seconds > 0 for ``tune --timeout``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _batch(text: str) -> int | str:
    """Return ``"auto"`` or K >= 1 for ``tune --batch``."""
    if text == "auto":
        return text
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        message = f"expected 'auto' or an integer >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def _objectives(text: str) -> tuple[str, ...]:
    """Return the names of ``tune --objectives metric,params`` (checked against the task
    when the data is loaded)."""
    names = tuple(name.strip() for name in text.split(","))
    known = ("metric", "accuracy", "rmse", "params", "seconds")
    if not all(names) or any(name not in known for name in names) or len(set(names)) < len(
            names):
        raise argparse.ArgumentTypeError(
            f"expected the metric then params and/or seconds, comma-separated, each once "
            f"(names: {', '.join(known)}), got {text!r}")
    return names


def _ensemble(text: str) -> int | str:
    """Return ``"auto"`` or K >= 1 for ``tune --ensemble``."""
    return _batch(text)


def _resources(text: str) -> dict[str, float]:
    """Return ``{"cpu": 1.0, "gpu": 0.25}`` for ``tune --trial-resources cpu=1,gpu=0.25``."""
    parsed = {}
    for part in text.split(","):
        key, sep, amount = part.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not key.strip() or not value >= 0:
            raise argparse.ArgumentTypeError(
                f"expected NAME=AMOUNT pairs with amounts >= 0, like cpu=1,gpu=0.25, got "
                f"{text!r}")
        parsed[key.strip()] = value
    return parsed


def _common_options() -> argparse.ArgumentParser:
    """Return a parent parser with the options valid before or after any subcommand.

    Their defaults are SUPPRESS so that an option given after the subcommand is not overwritten
    by the subparser's default; :func:`_fill_defaults` sets the real defaults afterwards.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--storage", metavar="URL", default=argparse.SUPPRESS,
        help=f"storage URL (default: ${STORAGE_ENV} or {DEFAULT_STORAGE})",
    )
    common.add_argument(
        "--format", choices=FORMATS, default=argparse.SUPPRESS,
        help="output format (default: table)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``hyperknob`` command."""
    from hyperknob import __version__
    from hyperknob.cli import _commands as c

    common = _common_options()
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="Inspect and manage hyperknob studies, or run a quick demo.",
        epilog="Start with 'hyperknob demo', then 'hyperknob trials demo-branin'.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help_text,
                                 description=help_text)
        command.set_defaults(handler=handler)
        return command

    add("studies", c.cmd_studies, "list the studies: name, direction, trials, best value")
    trials = add("trials", c.cmd_trials, "list the trials of a study")
    trials.add_argument("study", metavar="STUDY", help="study name")
    best = add("best", c.cmd_best, "show the best trial of a study")
    best.add_argument("study", metavar="STUDY", help="study name")
    delete = add("delete", c.cmd_delete, "delete a study and all its trials")
    delete.add_argument("study", metavar="STUDY", help="study name")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    demo = add("demo", c.cmd_demo,
               "tune a built-in test function (resuming the study if it exists)")
    demo.add_argument("--trials", type=_positive_int, default=60, metavar="N",
                      help="number of trials to run (default: 60)")
    demo.add_argument("--study", default=None, metavar="NAME",
                      help="study name (default: demo-FUNCTION, e.g. demo-branin)")
    demo.add_argument("--function", choices=DEMO_FUNCTIONS, default="branin",
                      help="test function to minimize (default: branin)")
    demo.add_argument("--seed", type=_seed, default=None, metavar="N",
                      help="seed of the random sampler (default: random)")
    from hyperknob.cli import _tune as t

    tune = add("tune", t.cmd_tune,
               "tune a neural network (MLP) on a built-in dataset or a CSV/Parquet file")
    tune.add_argument("dataset", metavar="DATASET_OR_FILE",
                      help="digits, iris, wine, breast_cancer, diabetes, moons, circles, "
                           "classification, or a .csv/.parquet file")
    tune.add_argument("--target", metavar="COL", help="target column of a file")
    tune.add_argument("--task", choices=("classification", "regression"), default=None,
                      help="what the target is (default: inferred -- text, or integers with "
                           "at most 20 distinct values, are classes; other numbers are "
                           "regressed)")
    budget = tune.add_mutually_exclusive_group()
    budget.add_argument("--trials", type=_positive_int, metavar="N",
                        help="total number of finished trials wanted (default: 30)")
    budget.add_argument("--timeout", type=_seconds, metavar="S", help="stop after S seconds")
    tune.add_argument("--study", metavar="NAME", help="study name (default: DATASET-mlp)")
    tune.add_argument("--sampler", choices=t.SAMPLERS, default=None,
                      help="search algorithm (default: tpe, chosen by measurement and "
                           "printed with the plan)")
    tune.add_argument("--strategy", choices=t.STRATEGIES, default=None,
                      help="early stopping: none, median, asha, hyperband, bohb (TPE at "
                           "Hyperband's budgets), or progressive (a simplified problem first, "
                           "then the full one near its best); default: asha, chosen by "
                           "measurement")
    tune.add_argument("--select", choices=t.SELECTIONS, default="auto",
                      help="model selection: validation (the best trial), reseed (the top 3 "
                           "retrained with 3 seeds, ranked by the mean), auto (the measured "
                           "default: validation)")
    tune.add_argument("--refit", choices=t.REFITS, default="auto",
                      help="train the final model on train or on train+val (auto: the "
                           "measured default, train+val)")
    tune.add_argument("--ensemble", type=_ensemble, default="auto", metavar="auto|K",
                      help="the final model averages the K best configurations (1: one "
                           "network; auto: the measured default, 3)")
    tune.add_argument("--seed", type=_seed, default=None, metavar="N",
                      help="seed of the data split, the training and the sampler (default: 0)")
    tune.add_argument("--device", default="cpu", metavar="DEVICE",
                      help="cpu (default), auto (CUDA, then MPS, then CPU), cuda, cuda:N, mps")
    tune.add_argument("--config", metavar="FILE", help="TOML or YAML file overriding the space")
    tune.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                      help="cap on the epochs searched (default: scaled to the data)")
    tune.add_argument("--jobs", type=_positive_int, default=1, metavar="K",
                      help="worker processes (default: 1)")
    tune.add_argument("--batch", type=_batch, default=1, metavar="auto|K",
                      help="train K trials at once as one batched network stack (1: one at a "
                           "time, the default; auto: measure and pick K for the device)")
    tune.add_argument("--ray", default=None, metavar="ADDRESS",
                      help="run the trials on a Ray cluster: auto (the cluster this machine "
                           "joined with `ray start`), local (a new one here), or ray://HOST:PORT")
    tune.add_argument("--trial-resources", type=_resources, default=None,
                      metavar="cpu=1,gpu=0.25",
                      help="what one trial holds on the Ray cluster (default: cpu=1; with "
                           "--device cuda: cpu=1,gpu=1)")
    tune.add_argument("--objectives", type=_objectives, default=None,
                      metavar="METRIC[,params][,seconds]",
                      help="search several objectives at once and keep their Pareto front: "
                           "the validation metric (metric, accuracy or rmse) first, then "
                           "params (learned parameters) and/or seconds (training time), both "
                           "minimized; e.g. accuracy,params (default: the metric alone)")
    tune.add_argument("--warm-start", default=None, metavar="STUDY[,STUDY...]",
                      help="learn from earlier studies in the storage (other data sets): "
                           "their best configurations that beat their rules of thumb first, "
                           "trained in full; priors fitted to their optima, weighed by how "
                           "they rank this study's trials; with --sampler gp or auto, their "
                           "models weighed against this study's")
    tune.add_argument("--max-params", type=_positive_int, default=None, metavar="N",
                      help="the most learned parameters (W and b) a network may have: larger "
                           "ones are not trained, the sampler treats the budget as a "
                           "constraint, and the final model keeps to it")
    tune.add_argument("--log-every", type=_positive_int, default=None, metavar="N",
                      help="print the training cost every N iterations")
    tune.add_argument("--output", default="runs", metavar="DIR",
                      help="where runs/STUDY/ goes (default: runs)")
    report = add("report", c.cmd_report,
                 "write one self-contained HTML report of a study (plots, diagnosis, advice)")
    report.add_argument("study", metavar="STUDY", help="study name")
    report.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="where to write it (default: STUDY-report.html)")
    dash = add("dashboard", c.cmd_dashboard,
               "serve a live, read-only web view of the studies in the storage")
    dash.add_argument("--host", default="127.0.0.1",
                      help="address to bind (default 127.0.0.1: this machine only; any other "
                           "address requires a token)")
    dash.add_argument("--port", type=_port, default=8080, help="port (default 8080; 0: any)")
    dash.add_argument("--token", default=None,
                      help="token the browser must give (?token=...); generated when bound "
                           "to a non-loopback address without one")
    describe = add("describe", t.cmd_describe,
                   "show a trial's network: W and b per layer and its hyperparameters")
    describe.add_argument("study", metavar="STUDY", help="study name")
    describe.add_argument("--trial", type=int, default=None, metavar="N",
                          help="trial number (default: the best trial)")
    return parser


def _fill_defaults(args: argparse.Namespace) -> None:
    args.storage_default = getattr(args, "storage", None) is None
    if args.command == "tune" and args.trials is None and args.timeout is None:
        args.trials = 30
    if getattr(args, "storage", None) is None:
        args.storage = os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    if getattr(args, "format", None) is None:
        args.format = "table"


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    """After a broken pipe (e.g. ``| head``), stop Python from failing again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hyperknob`` command and return its exit status.

    Args:
        argv: The arguments, without the program name (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 on an error (reported as ``hyperknob: error: ...`` on stderr), 2 on a
        usage error, 130 when interrupted (Ctrl-C), 143 when terminated (SIGTERM).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exit_:  # --help, --version, or a usage error (already printed)
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    _fill_defaults(args)
    handler: Handler = args.handler
    with _sigterm_as_interrupt() as terminated:
        try:
            return _run(handler, args)
        except KeyboardInterrupt:
            if terminated:
                print(f"\n{PROG}: terminated (SIGTERM); finished trials are saved",
                      file=sys.stderr)
                return 128 + signal.SIGTERM
            print(f"\n{PROG}: interrupted; finished trials are saved", file=sys.stderr)
            return 130


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[list[bool]]:
    """Treat SIGTERM (``kill PID``, a batch scheduler's stop) as Ctrl-C while a command
    runs: the running trial is stored as FAIL ("interrupted", run again by the next run)
    and nothing stored is lost. Yields a list that holds True once SIGTERM came."""
    terminated: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def handle(signum: int, frame: object) -> None:
        terminated.append(True)
        signal.raise_signal(signal.SIGINT)  # through the SIGINT handler in place (a guard
        # holds it while a trial is being written)

    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a script's background job
    if ignored:  # Python's handler, so that SIGTERM has one to go through
        signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run(handler: Handler, args: argparse.Namespace) -> int:
    """Run a command; report its errors as ``hyperknob: error: ...`` (KeyboardInterrupt
    passes)."""
    from sqlalchemy.exc import SQLAlchemyError

    from hyperknob.exceptions import HyperknobError

    try:
        return handler(args)
    except CLIError as error:
        _error(str(error))
        return error.code
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except (HyperknobError, ValueError, OSError, SQLAlchemyError) as error:
        _error(str(error) or type(error).__name__)
        return 1
    except ImportError as error:
        _error(f"{error} (a storage or feature needs an optional dependency)")
        return 1
