"""``hyperknob tune``: the main job — tune an MLP on a dataset, then save the best network."""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperknob.cli._commands import CLIError, load, open_storage, shown

if TYPE_CHECKING:
    from hyperknob.nn import Dataset, NeuralNetworkObjective
    from hyperknob.pruners import BasePruner
    from hyperknob.samplers import BaseSampler
    from hyperknob.study import Study

SAMPLERS = ("random", "qmc", "tpe", "gp", "auto")
STRATEGIES = ("none", "median", "asha", "hyperband", "bohb", "progressive")
REDUCTION_FACTOR = 3  # rungs at r, 3r, 9r, ... epochs


def first_rung(space: Any) -> int:
    """Return the epochs before a pruner first judges a trial: a third of the shortest
    training the space allows (one epoch says little about a slow-starting learning rate)."""
    from hyperknob.distributions import IntDistribution

    epochs = space.dimensions["epochs"]
    shortest = epochs.low if isinstance(epochs, IntDistribution) else int(epochs)
    return max(1, round(shortest / 3))


def _sampler(name: str, seed: int | None) -> BaseSampler:
    from hyperknob import samplers

    classes: dict[str, Any] = {"random": samplers.RandomSampler, "qmc": samplers.QMCSampler,
                               "tpe": samplers.TPESampler, "gp": samplers.GPSampler,
                               "auto": samplers.AutoSampler}
    sampler: BaseSampler = classes[name](seed=seed)
    return sampler


def _search(args: argparse.Namespace, space: Any) -> tuple[BaseSampler, BasePruner, str]:
    """Return the sampler and pruner of ``--sampler`` and ``--strategy``, and a description."""
    from hyperknob import pruners, strategies
    from hyperknob.distributions import IntDistribution

    strategy = args.strategy
    if strategy == "bohb" and args.sampler is not None:
        raise CLIError("--strategy bohb brings its own sampler (TPE fitted at Hyperband's "
                       "budgets); drop --sampler")
    default = "tpe" if strategy == "progressive" else "random"
    sampler = _sampler(args.sampler or default, args.seed)
    if strategy == "none":
        return sampler, pruners.NopPruner(), f"{args.sampler or default} sampler, no pruning"
    if strategy == "progressive":
        pruner = pruners.SuccessiveHalvingPruner(min_resource=first_rung(space),
                                                 reduction_factor=REDUCTION_FACTOR)
        return sampler, pruner, (f"{args.sampler or default} sampler with asynchronous "
                                 "successive halving, in two stages")
    epochs = space.dimensions["epochs"]
    top = epochs.high if isinstance(epochs, IntDistribution) else int(epochs)
    plan = strategies.strategy(strategy, seed=args.seed, min_resource=first_rung(space),
                               max_resource=top, reduction_factor=REDUCTION_FACTOR)
    if strategy != "bohb":
        return sampler, plan.pruner, f"{args.sampler or default} sampler; {plan.description}"
    return plan.sampler, plan.pruner, plan.description


def _study_name(source: str) -> str:
    stem = Path(source).name.split(".")[0] or "data"
    return f"{stem}-mlp"


def _check_same_data(study: Study, data: Dataset) -> None:
    stored = study.user_attrs.get("dataset")
    if stored is not None and stored != data.summary():
        raise CLIError(
            f"study {study.study_name!r} was tuned on {stored}, not on {data.summary()}; "
            "pass --study NAME for a new study"
        )


def _finished(study: Study) -> int:
    from hyperknob import TrialState

    return len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))


def cmd_tune(args: argparse.Namespace) -> int:
    """Tune an MLP on a dataset or file; resume the study if it exists; save the best."""
    import hyperknob
    from hyperknob import nn

    _check_batch_options(args)  # option clashes fail before anything is loaded or stored
    executor = _executor(args)
    seed = 0 if args.seed is None else args.seed
    data = nn.load_dataset(args.dataset, target=args.target, seed=seed)
    space = nn.default_space(data.n_features, data.n_train, max_epochs=args.max_epochs)
    if args.config is not None:
        space = nn.load_space(args.config, space)
    if executor is None:  # with --ray the device is the workers'; they check it
        nn.resolve_device(args.device)  # fail now, not in the first trial
    name = args.study or _study_name(args.dataset)

    def log(line: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(line, file=sys.stderr)

    sampler, pruner, how = _search(args, space)
    job = nn.NeuralNetworkObjective(data, space, seed=seed, device=args.device,
                                    log_every=args.log_every, log=log)
    storage = open_storage(args.storage, create=True)
    if args.strategy == "progressive":
        job = _stage_one(args, job, storage, name, seed, log, pruner)
    study = hyperknob.create_study(study_name=name, storage=storage, direction=job.direction,
                                   sampler=sampler, pruner=pruner, load_if_exists=True)
    _check_same_data(study, data)
    resumed = bool(study.trials)
    job.prepare(study)
    done = _finished(study)
    remaining = None if args.trials is None else max(args.trials - done, 0)
    _print_plan(args, data, study, job, resumed, done, remaining, how)
    batch = _batch_size(args, job, remaining)
    if remaining is None or remaining > 0:
        started = time.perf_counter()
        try:
            if executor is not None:
                study.optimize(job, n_trials=remaining, timeout=args.timeout,
                               show_progress_bar=True, executor=executor)
            elif batch > 1:
                from hyperknob.nn._batched_study import optimize_batched

                optimize_batched(study, job, batch=batch, n_trials=remaining,
                                 timeout=args.timeout)
            else:
                study.optimize(job, n_trials=remaining, timeout=args.timeout,
                               n_jobs=args.jobs, show_progress_bar=True)
        except KeyboardInterrupt:
            print(f"\nInterrupted. Finished trials are saved in {shown(args.storage)}; run the "
                  "same command again to resume.", file=sys.stderr)
            raise
        print(f"Ran {_finished(study) - done} trials in {time.perf_counter() - started:.0f} s.")
    return _report(args, data, study, job, name)


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


def _check_batch_options(args: argparse.Namespace) -> None:
    if args.batch == 1:
        return
    for clash, given in (("--jobs > 1", args.jobs > 1),
                         ("--strategy progressive", args.strategy == "progressive"),
                         ("--log-every", args.log_every is not None)):
        if given:
            raise CLIError(f"--batch {args.batch} cannot be combined with {clash}: batched "
                           "trials train together in this process; use --batch 1")


def _batch_size(args: argparse.Namespace, job: NeuralNetworkObjective,
                remaining: int | None) -> int:
    """Return K for ``--batch`` (measured for ``auto``)."""
    if args.batch == 1 or remaining == 0:
        return 1
    if args.batch != "auto":
        k = int(args.batch) if remaining is None else min(int(args.batch), max(remaining, 1))
        print(f"Batch: {k} trials at a time (--batch {args.batch}).")
        return k
    from hyperknob.nn._batched_auto import choose_batch

    choice = choose_batch(job.space, job.dataset, device=args.device, seed=job.seed,
                          max_k=remaining if remaining else None)
    print(f"Batch: K = {choice.k} ({choice.reason}).")
    return choice.k


def _stage_one(args: argparse.Namespace, job: NeuralNetworkObjective, storage: Any, name: str,
               seed: int, log: Any, pruner: BasePruner) -> NeuralNetworkObjective:
    """Run stage 1 of ``--strategy progressive``; return stage 2's job (narrowed space)."""
    import hyperknob
    from hyperknob import nn
    from hyperknob.nn import _progressive as progressive

    if args.trials is None:
        raise CLIError("--strategy progressive splits a number of trials: use --trials N, "
                       "not --timeout")
    first, second = progressive.plan(job.dataset, job.space, args.trials, name, seed=seed)
    easy = nn.NeuralNetworkObjective(first.data, first.space, seed=seed, device=args.device,
                                     log_every=args.log_every, log=log)
    study = hyperknob.create_study(study_name=first.study_name, storage=storage,
                                   direction=easy.direction,
                                   sampler=_sampler(args.sampler or "tpe", args.seed),
                                   pruner=pruner, load_if_exists=True)
    _check_same_data(study, first.data)
    easy.prepare(study)
    print(f"Stage 1/2, simplified problem (study {first.study_name!r}): {first.description}.")
    started = time.perf_counter()
    ran = progressive.run_stage(study, easy, first.n_trials, timeout=None, n_jobs=args.jobs,
                                show_progress_bar=True)
    top = progressive.best_trials(study, progressive.TOP_K)
    if not top:
        raise CLIError(f"stage 1 ({first.study_name!r}) has no completed trial; nothing to "
                       "narrow the full problem's search with")
    print(f"Stage 1 done: ran {ran} trials in {time.perf_counter() - started:.0f} s; best "
          f"validation {easy.metric} {top[0].value:.4f} (trial #{top[0].number}).")
    space, centres = progressive.narrowed(job.space, top[0])
    print(f"Stage 2/2, full problem: {second.description}; priors at "
          f"{progressive.describe_centres(centres)}; the {len(top)} best stage-1 "
          "configurations first.")
    full = nn.NeuralNetworkObjective(job.dataset, space, seed=seed, device=args.device,
                                     log_every=args.log_every, log=log)
    full.first_params = progressive.seed_params(space, top)
    full.rules_of_thumb = False  # stage 1 tried them; its best come first instead
    args.trials = second.n_trials
    return full


def _print_plan(args: argparse.Namespace, data: Dataset, study: Study,
                job: NeuralNetworkObjective, resumed: bool, done: int,
                remaining: int | None, how: str) -> None:
    summary = data.summary()
    classes = f", {summary['n_classes']} classes" if summary["n_classes"] else ""
    print(f"Dataset {summary['name']!r}: {summary['task']}, {summary['n_features']} features"
          f"{classes}; {summary['n_train']} train / {summary['n_val']} validation / "
          f"{summary['n_test']} test rows.")
    searched = ", ".join(sorted(job.space.searched()))
    print(f"Searching: {searched}. Objective: validation {job.metric} ({job.direction}).")
    print(f"Search: {how}.")
    state = f"resuming with {done} finished trials" if resumed else "new study"
    budget = (f"{remaining} more trials" if remaining is not None
              else f"up to {args.timeout:g} s")
    print(f"Study {study.study_name!r} in {shown(args.storage)}: {state}; {budget}.")


def _report(args: argparse.Namespace, data: Dataset, study: Study,
            job: NeuralNetworkObjective, name: str) -> int:
    from hyperknob import nn
    from hyperknob.study._records import trial_records

    try:
        best = study.best_trial
    except ValueError:
        raise CLIError(f"study {name!r} has no completed trial yet") from None
    config = nn.MLPConfig.from_dict(best.user_attrs["config"])
    # Training is deterministic under the seed on CPU: the refit is the trial's own network.
    device = args.device
    if getattr(args, "ray", None) is not None:  # the workers had the device; this may not
        try:
            nn.resolve_device(device)
        except ValueError:
            print(f"(refitting the best trial on this machine's CPU: {device!r} is not here)")
            device = "cpu"
    refit = nn.train(config, data, seed=job.seed, device=device, log=lambda _: None)
    test_metric = nn.evaluate(refit.model, data, "test", device=device)
    same = abs(refit.best.val_metric - (best.value or 0.0)) <= 1e-6 * max(1.0, abs(best.value
                                                                               or 1.0))
    out = Path(args.output) / name
    out.mkdir(parents=True, exist_ok=True)
    _save(out, data, study, best.number, config, refit, test_metric)
    with (out / "trials.csv").open("w", newline="") as handle:
        rows = trial_records(study.trials)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)

    description = nn.describe(refit.model)
    metric = job.metric
    print()
    print(f"Best trial #{best.number}: validation {metric} {best.value:.4f}")
    print(description)
    print()
    print(f"Learned parameters: {description.n_parameters:,}")
    why = ("the trial trained in a batch, whose sums run in another order"
           if getattr(args, "batch", 1) != 1 else "this device is not bit-for-bit deterministic"
           if device == args.device else f"the trial trained on {args.device}")
    note = ("refit with the same seed, reproducing the trial's validation "
            f"{metric}" if same else
            f"refit with the same seed (validation {metric} {refit.best.val_metric:.4f}; "
            f"{why})")
    print(f"Test {metric} of the best configuration: {test_metric:.4f} ({note})")
    print(f"Saved {out}/best_model.pt (state_dict and hyperparameters), best_config.json, "
          "trials.csv")
    try:
        from hyperknob.viz import write_report
    except ImportError:
        print("(no report.html: pip install 'hyperknob[viz]' for the HTML report)")
    else:
        print(f"Report (plots, diagnosis, advice; opens offline): "
              f"{write_report(study, out / 'report.html')}")
    storage = "" if args.storage_default else f" --storage {shlex.quote(shown(args.storage))}"
    print(f"Next: hyperknob trials {shlex.quote(name)}{storage}   |   "
          f"hyperknob describe {shlex.quote(name)}{storage}")
    return 0


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _save(out: Path, data: Dataset, study: Study, number: int, config: Any, refit: Any,
          test_metric: float) -> None:
    import torch

    n_outputs = data.n_classes if data.task == "classification" else 1
    torch.save({
        "state_dict": refit.model.state_dict(), "hyperparameters": config.to_dict(),
        "n_features": data.n_features, "n_outputs": n_outputs, "task": str(data.task.value),
        "feature_names": list(data.feature_names),
        "class_names": None if data.class_names is None else list(data.class_names),
        "target_mean": data.target_mean, "target_std": data.target_std,
    }, out / "best_model.pt")
    record = {
        "study": study.study_name, "trial": number, "hyperparameters": config.to_dict(),
        "validation_metric": refit.best.val_metric, "test_metric": test_metric,
        "metric": refit.metric, "n_parameters": refit.n_parameters,
        "dataset": data.summary(), "test_metric_source": "refit with the same seed",
    }
    (out / "best_config.json").write_text(json.dumps(record, indent=2) + "\n")


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
    if "config" not in trial.user_attrs or not isinstance(dataset, dict):
        raise CLIError(f"trial {trial.number} of study {args.study!r} was not made by "
                       "'hyperknob tune' (no network configuration recorded)")
    config = nn.MLPConfig.from_dict(trial.user_attrs["config"])
    n_outputs = dataset["n_classes"] or 1
    model = nn.build_mlp(config, int(dataset["n_features"]), int(n_outputs))
    value = "-" if trial.value is None else f"{trial.value:.4f}"
    print(f"Study {args.study!r}, trial #{trial.number} ({trial.state.name}, "
          f"{study.user_attrs.get('metric', 'value')} {value})")
    print(nn.describe(model))
    return 0
