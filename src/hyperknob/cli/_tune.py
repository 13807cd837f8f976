"""``hyperknob tune``: the main job, a shell over :func:`hyperknob.nn.tune` -- argument
checks, then printing the :class:`~hyperknob.nn.TuneResult`."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import TYPE_CHECKING, Any

from hyperknob.cli._commands import CLIError, load, open_storage, shown

if TYPE_CHECKING:
    from hyperknob.nn import TuneResult

# Kept here (equal to hyperknob.nn._tune's, a test checks) so that --help needs no torch.
SAMPLERS = ("random", "qmc", "tpe", "gp", "auto", "nsga2")
STRATEGIES = ("none", "median", "asha", "hyperband", "bohb", "progressive")
SELECTIONS = ("auto", "validation", "reseed")
REFITS = ("auto", "train", "train+val")


def _log(line: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stdout)


def cmd_tune(args: argparse.Namespace) -> int:
    """Tune an MLP on a dataset or file; resume the study if it exists; save the final model."""
    from hyperknob import nn

    _check_options(args)  # clashes are named as options, before anything is loaded or stored
    executor = _executor(args)
    try:
        result = nn.tune(
            args.dataset, target=args.target, trials=args.trials, timeout=args.timeout,
            storage=args.storage, study_name=args.study, sampler=args.sampler,
            strategy=args.strategy, seed=0 if args.seed is None else args.seed,
            device=args.device, config=args.config, max_epochs=args.max_epochs,
            jobs=args.jobs, batch=args.batch, executor=executor, select=args.select,
            refit=args.refit, ensemble=args.ensemble, output=args.output, log=_log,
            log_every=args.log_every, objectives=args.objectives, max_params=args.max_params,
            warm_start=args.warm_start, task=args.task)
    except KeyboardInterrupt:
        print(f"\nInterrupted. Finished trials are saved in {shown(args.storage)}; run the "
              "same command again to resume.", file=sys.stderr)
        raise
    _print_result(args, result)
    return 0


def _check_options(args: argparse.Namespace) -> None:
    if args.strategy == "bohb" and args.sampler is not None:
        raise CLIError("--strategy bohb brings its own sampler (TPE fitted at Hyperband's "
                       "budgets); drop --sampler")
    if args.strategy == "progressive" and args.trials is None:
        raise CLIError("--strategy progressive splits a number of trials: use --trials N, "
                       "not --timeout")
    if args.batch == 1:
        return
    for clash, given in (("--jobs > 1", args.jobs > 1),
                         ("--strategy progressive", args.strategy == "progressive"),
                         ("--log-every", args.log_every is not None)):
        if given:
            raise CLIError(f"--batch {args.batch} cannot be combined with {clash}: batched "
                           "trials train together in this process; use --batch 1")


def _print_result(args: argparse.Namespace, result: TuneResult) -> None:
    from hyperknob import nn
    from hyperknob.nn._select import Ensemble

    metric = result.metric
    model = result.model
    first = model.members[0] if isinstance(model, Ensemble) else model
    print()
    if result.pareto:
        _print_front(result)
    print(f"Best trial #{result.best_trial.number}: validation {metric} "
          f"{result.best_trial.values[0]:.4f}")  # type: ignore[index]
    print(f"Final model: {result.selection}.")
    members = len(model.members) if isinstance(model, Ensemble) else 1
    if members > 1:
        print(f"Network 1 of {members} (trial #{result.chosen[0]}):")
    print(nn.describe(first))  # type: ignore[arg-type]
    print()
    print(f"Learned parameters: {result.n_parameters:,}"
          + (f" (all {members} networks)" if members > 1 else ""))
    note = ("retraining the chosen trial with its seed reproduces its validation "
            f"{metric}" if result.reproduced else
            "retraining the chosen trial with its seed does not reproduce its validation "
            f"{metric} bit for bit ("
            + ("its batch trained together, whose sums run in another order"
               if args.batch != 1 else "this device is not deterministic") + ")")
    print(f"Test {metric} of the final model: {result.test:.4f} ({note})")
    if result.baseline is not None:
        gain = result.gain or 0.0
        print(f"Rule of thumb {result.baseline.test:.4f} -> tuned {result.test:.4f} "
              f"({'+' if gain >= 0 else '-'}{abs(gain):.4f}"
              f"{'' if result.direction == 'maximize' else ' lower RMSE' if gain > 0 else ''});"
              f" {result.total_trials} trials, {result.epochs:,} epochs "
              f"(rule of thumb: trial #{result.baseline.trial_number}).")
    out = result.output_dir
    what = (f"the {members} networks' state_dicts and hyperparameters" if members > 1
            else "state_dict and hyperparameters")
    print(f"Saved {out}/best_model.pt ({what}), best_config.json, trials.csv")
    if result.report is not None:
        print(f"Report (plots, diagnosis, advice; opens offline): {result.report}")
    name = result.study.study_name
    storage = "" if args.storage_default else f" --storage {shlex.quote(shown(args.storage))}"
    print(f"Next: hyperknob trials {shlex.quote(name)}{storage}   |   "
          f"hyperknob describe {shlex.quote(name)}{storage}")


def _print_front(result: TuneResult) -> None:
    """Print the Pareto front of a multi-objective run, best metric first."""
    trials = {t.number: t for t in result.study.trials}
    front = sorted((trials[n] for n in result.pareto),
                   key=lambda t: (-t.values[0] if result.direction == "maximize"  # type: ignore[index]
                                  else t.values[0], t.number))  # type: ignore[index]
    names = [f"validation {result.metric}", *result.objectives[1:]]
    print(f"Pareto front ({len(front)} trials; none is better in every objective):")
    print("  trial  " + "  ".join(f"{name:>20}" for name in names))
    for trial in front:
        cells = [f"{v:>20.4f}" if k == 0 else f"{v:>20,.0f}" if names[k] == "params"
                 else f"{v:>20.2f}" for k, v in enumerate(trial.values or ())]
        print(f"  #{trial.number:<5} " + "  ".join(cells))
    print()


def _executor(args: argparse.Namespace) -> Any:
    """Return a RayExecutor for ``--ray``, or None; check the options it excludes."""
    if args.ray is None:
        if args.trial_resources is not None:
            raise CLIError("--trial-resources needs --ray ADDRESS")
        return None
    for clash, given in (("--jobs > 1", args.jobs > 1), ("--batch", args.batch != 1),
                         ("--strategy progressive", args.strategy == "progressive")):
        if given:
            raise CLIError(f"--ray cannot be combined with {clash}: the cluster's resources "
                           "decide how many trials run at once")
    try:
        from hyperknob.execution._ray import RayExecutor
    except ImportError as error:
        raise CLIError(str(error)) from error
    resources = args.trial_resources or (
        {"cpu": 1, "gpu": 1} if args.device.startswith("cuda") else {"cpu": 1})
    try:
        executor = RayExecutor(address=None if args.ray == "local" else args.ray,
                               resources_per_trial=resources)
    except (TypeError, ValueError) as error:
        raise CLIError(str(error)) from error
    print(f"Ray: trials run on the cluster at {args.ray!r}, each holding {resources}.")
    return executor


def cmd_describe(args: argparse.Namespace) -> int:
    """Show a trial's network: W and b per layer beside the hyperparameters that built it."""
    from hyperknob import nn

    study = load(open_storage(args.storage), args.study)
    if args.trial is None:
        trial = study.best_trial
    else:
        matches = [t for t in study.trials if t.number == args.trial]
        if not matches:
            raise CLIError(f"study {args.study!r} has no trial number {args.trial}")
        trial = matches[0]
    dataset = study.user_attrs.get("dataset")
    record = nn.read_record(trial)
    if record is None or record.config is None or not isinstance(dataset, dict):
        raise CLIError(f"trial {trial.number} of study {args.study!r} was not made by "
                       "'hyperknob tune' (no network configuration recorded)")
    config = nn.MLPConfig.from_dict(record.config)
    n_outputs = dataset["n_classes"] or 1
    model = nn.build_mlp(config, int(dataset["n_features"]), int(n_outputs))
    value = "-" if trial.value is None else f"{trial.value:.4f}"
    print(f"Study {args.study!r}, trial #{trial.number} ({trial.state.name}, "
          f"{study.user_attrs.get('metric', 'value')} {value})")
    print(nn.describe(model))
    return 0
