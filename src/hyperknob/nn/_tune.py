"""``nn.tune()``: the main job -- tune an MLP on a dataset, choose the final model, score it.

``hyperknob tune`` is a shell over :func:`tune`: it parses arguments and prints the
:class:`TuneResult`. The steps, in order: load the data (train / validation / test split),
build the default search space (and apply the user's overrides), queue the article's
rule-of-thumb configurations, search (sampler + early-stopping strategy), choose the final
model on validation only (:mod:`hyperknob.nn._select`), score it -- and the best rule-of-thumb
configuration, for comparison -- once on test, and write the run files and the report.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int, check_number, invalid, is_int
from hyperknob._training_record import read_record
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._data import Dataset, load_dataset
from hyperknob.nn._objective import NeuralNetworkObjective
from hyperknob.nn._plan import (
    DEFAULT_ENSEMBLE,
    DEFAULT_REFIT,
    DEFAULT_SAMPLER,
    DEFAULT_SELECT,
    DEFAULT_STRATEGY,
    DEFAULT_TRIALS,
    SAMPLERS,
    STRATEGIES,
    make_sampler,
    search_plan,
)
from hyperknob.nn._resume import check_same_data, open_study, recover
from hyperknob.nn._run_files import check_folder_name, check_output_folder, save_run
from hyperknob.nn._select import REFITS, SELECTIONS, Fits, config_of, finalize, rank_key
from hyperknob.nn._space import SearchSpace, default_space, load_space
from hyperknob.nn._train import evaluate, resolve_device
from hyperknob.nn._warm_start import check_warm_storage, warm_names
from hyperknob.samplers import AutoSampler
from hyperknob.samplers.gp import GPSampler
from hyperknob.transfer._warm import RULE_OF_THUMB
from hyperknob.trial import TrialState

# The choices and their measured defaults live in _plan; read here too (tune's own names).
__all__ = ["DEFAULT_ENSEMBLE", "DEFAULT_REFIT", "DEFAULT_SAMPLER", "DEFAULT_SELECT",
           "DEFAULT_STRATEGY", "DEFAULT_TRIALS", "SAMPLERS", "STRATEGIES", "Baseline",
           "TuneResult", "make_sampler", "search_plan", "tune"]

if TYPE_CHECKING:
    from torch import nn as torch_nn

    from hyperknob.samplers import BaseSampler
    from hyperknob.storages import BaseStorage
    from hyperknob.study import Study
    from hyperknob.trial import FrozenTrial

@dataclasses.dataclass(frozen=True)
class Baseline:
    """The best rule-of-thumb configuration of the study, trained as its trial was, on test."""

    trial_number: int
    config: MLPConfig
    validation: float
    test: float


@dataclasses.dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found and where it put it.

    ``model`` is the final network (an :class:`~hyperknob.nn._select.Ensemble` when
    ``ensemble > 1``), already trained; ``test`` is its test metric, the only time the test
    split was read besides ``baseline``. ``chosen`` are the trials the final model was made
    from (best first) and ``validation`` the first one's validation metric; ``best_trial`` is
    the trial with the best validation metric, which model selection may have passed over.
    ``reproduced`` says whether training the chosen configuration again gave its trial's
    validation metric exactly (CPU training is deterministic under the seed).
    """

    study: Study
    dataset: Dataset
    metric: str
    direction: str
    best_trial: FrozenTrial
    config: MLPConfig
    configs: tuple[MLPConfig, ...]
    model: torch_nn.Module
    validation: float
    test: float
    selection: str
    chosen: tuple[int, ...]
    baseline: Baseline | None
    plan: str
    n_trials: int
    total_trials: int
    epochs: int
    seconds: float
    reproduced: bool
    output_dir: Path | None = None
    report: Path | None = None
    #: The objectives searched (the validation metric first) and, with several, the trial
    #: numbers of the Pareto front (the final model is its member best on the metric).
    objectives: tuple[str, ...] = ()
    pareto: tuple[int, ...] = ()
    #: The parameter budget searched under (None: none).
    max_params: int | None = None

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's parameters, as the sampler suggested them."""
        return dict(self.best_trial.params)

    @property
    def n_parameters(self) -> int:
        """The learned parameters (W and b) of the final model, all members together."""
        return sum(int(p.numel()) for p in self.model.parameters())

    @property
    def gain(self) -> float | None:
        """Test metric gained over the rule of thumb (positive is better, in either direction)."""
        if self.baseline is None:
            return None
        sign = 1.0 if self.direction == "maximize" else -1.0
        return sign * (self.test - self.baseline.test)


def _check_budget(trials: int | None, timeout: float | None) -> None:
    check_int("trials", trials, least=1, none_ok=True)
    check_number("timeout", timeout, above=0, none_ok=True, unit="seconds")
    if trials is not None and timeout is not None:
        raise ValueError("give trials or timeout, not both")


def _resolve_auto(select: str, refit: str, ensemble: int | str) -> tuple[str, str, int]:
    select = DEFAULT_SELECT if select == "auto" else select
    refit = DEFAULT_REFIT if refit == "auto" else refit
    members = DEFAULT_ENSEMBLE if ensemble == "auto" else ensemble
    if select not in SELECTIONS:
        raise ValueError(f"select must be 'auto' or one of {SELECTIONS}, got select={select!r}")
    if refit not in REFITS:
        raise ValueError(f"refit must be 'auto' or one of {REFITS}, got refit={refit!r}")
    if not (is_int(members) and members >= 1):
        raise invalid("ensemble", ensemble, "'auto' or an int >= 1")
    return select, refit, members


def finished(study: Study) -> int:
    """Return the number of COMPLETE and PRUNED trials of ``study``."""
    return len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _quiet(_: str) -> None:
    return None


def tune(
    data: str | os.PathLike[str] | Dataset,
    *,
    target: str | None = None,
    trials: int | None = None,
    timeout: float | None = None,
    storage: str | BaseStorage | None = None,
    study_name: str | None = None,
    sampler: str | BaseSampler | None = None,
    strategy: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    config: str | os.PathLike[str] | SearchSpace | None = None,
    max_epochs: int | None = None,
    jobs: int = 1,
    batch: int | str = 1,
    executor: Any = None,
    select: str = "auto",
    refit: str = "auto",
    ensemble: int | str = "auto",
    output: str | os.PathLike[str] | None = None,
    report: bool = True,
    progress: bool = True,
    log: Callable[[str], Any] | None = print,
    log_every: int | None = None,
    objectives: str | Sequence[str] | None = None,
    max_params: int | None = None,
    warm_start: str | Sequence[str | Study] | None = None,
    task: str | None = None,
) -> TuneResult:
    """Tune an MLP on ``data`` and return the final, tested model with how it was found.

    The study is resumed when ``storage`` already holds ``study_name`` for the same data:
    ``trials`` is the total number of finished trials wanted, not a number to add.

    Args:
        data: A built-in dataset name (``digits``, ``wine``, ...), a CSV/Parquet file, or a
            :class:`~hyperknob.nn.Dataset`.
        target: The target column of a file.
        trials: Finished trials wanted in all (default 30 when ``timeout`` is not given).
        timeout: Stop searching after this many seconds (instead of ``trials``).
        storage: A storage URL or object (default: in memory, lost when the process ends).
        study_name: Default ``"<dataset>-mlp"``.
        sampler: ``"random"``, ``"qmc"``, ``"tpe"``, ``"gp"``, ``"auto"``, a sampler object, or
            None for the measured default.
        strategy: Early stopping: ``"none"``, ``"median"``, ``"asha"``, ``"hyperband"``,
            ``"bohb"``, ``"progressive"``, or None for the measured default.
        seed: Seeds the data split, every training and the sampler.
        device: ``"cpu"`` (the default: these MLPs train no faster on a GPU), ``"auto"``,
            ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        config: A TOML/YAML file overriding the default space, or a SearchSpace.
        max_epochs: Cap on the epochs searched (default: scaled to the data).
        jobs: Worker processes (1: in this process).
        batch: Train K trials at once as one batched network stack, or ``"auto"``.
        executor: An executor (e.g. ``RayExecutor``) that runs the trials; excludes ``jobs``
            and ``batch``.
        select: ``"validation"``, ``"reseed"`` or ``"auto"`` (see :mod:`hyperknob.nn._select`).
        refit: ``"train"``, ``"train+val"`` or ``"auto"``.
        ensemble: How many top configurations the final model averages, or ``"auto"``.
        output: A folder: ``output/<study>/`` receives ``best_model.pt``,
            ``best_config.json``, ``trials.csv`` and ``report.html``. None writes nothing.
        report: Whether to write ``report.html`` (needs the ``viz`` extra) with ``output``.
        progress: Show a progress bar.
        log: Where the plan and progress lines go (None: nowhere).
        log_every: Print the training cost every N iterations.
        objectives: The objectives, as a list or a comma-separated string: the validation
            metric (``"metric"`` or its name, ``"accuracy"`` / ``"rmse"``) first, then any of
            ``"params"`` (learned parameters) and ``"seconds"`` (training time), both
            minimized. With more than one the search finds the Pareto front (its own
            defaults: GP with expected hypervolume improvement, no pruning) and the final
            model is the front's member best on the metric.
        max_params: The most learned parameters (W and b) a network may have: larger
            configurations are not trained (PRUNED at once) and the samplers model the
            budget as a constraint, so every chosen trial keeps to it.
        warm_start: Earlier studies to learn from (names in ``storage``, or studies; a
            comma-separated string): their best configurations that beat their own rules of
            thumb are tried first, each trained in full; the space's priors are fitted to
            where their optima lay (TPE weighs them by how they rank this study's trials);
            the GP sampler (``gp``, ``auto``) weighs their models against this study's
            (RGPE). What was taken from where is printed and kept in
            ``user_attrs["warm_start"]``.
        task: ``"classification"`` or ``"regression"`` for a file's target; None infers it
            (text, or integers with at most 20 distinct values, are classes).

    Raises:
        ValueError: For an option out of range, data that cannot be loaded, a study tuned on
            other data, or a search that completed no trial. Nothing stored is lost.

    Example:
        >>> from hyperknob import nn
        >>> result = nn.tune("iris", trials=5, log=None, progress=False)  # doctest: +SKIP
        >>> result.test, result.baseline.test  # doctest: +SKIP
    """

    say = log or _quiet
    _check_budget(trials, timeout)
    if trials is None and timeout is None:
        trials = DEFAULT_TRIALS
    check_int("seed", seed, least=0)
    select, refit, members = _resolve_auto(select, refit, ensemble)
    _check_runner(jobs, batch, executor, strategy, log_every)
    dataset = data if isinstance(data, Dataset) else load_dataset(data, target=target,
                                                                 seed=seed, task=task)
    if task is not None and dataset.task.value != task:
        raise ValueError(f"dataset {dataset.name!r} is a {dataset.task.value} task, got "
                         f"task={task!r}")
    space = default_space(dataset.n_features, dataset.n_train, max_epochs=max_epochs)
    if isinstance(config, SearchSpace):
        space = config
    elif config is not None:
        space = load_space(Path(config), space)
    if executor is None:  # with an executor the device is the workers'; they check it
        resolve_device(device)  # fail now, not in the first trial
    stem = dataset.name if isinstance(data, Dataset) else Path(data).name.split(".")[0]
    name = study_name or f"{stem or 'data'}-mlp"
    if output is not None:
        check_folder_name(name)
        check_output_folder(Path(output) / name)
    names = _objective_names(objectives)
    # Every option is checked before the storage is opened (a new SQLite file is made then).
    checked = NeuralNetworkObjective(dataset, space, objectives=names, max_params=max_params)
    search_plan(sampler, strategy, space, seed, multi_objective=len(checked.objectives) > 1)
    earlier = warm_names(warm_start, name)
    if earlier and strategy == "progressive":
        raise ValueError("warm_start cannot be combined with strategy 'progressive': its first "
                         "stage tunes a simplified problem, which the earlier studies' "
                         "configurations do not fit; use another strategy")
    check_warm_storage(earlier, storage)
    if storage is None:
        from hyperknob.storages import InMemoryStorage

        storage = InMemoryStorage()
    elif isinstance(storage, str):
        from hyperknob.storages import get_storage

        storage = get_storage(storage)
    warm = None
    if earlier:
        from hyperknob.nn._warm_start import warm_start as make_warm_start

        warm = make_warm_start(earlier, storage, space)
        space = warm.space
    job = NeuralNetworkObjective(dataset, space, seed=seed, device=device,
                                 log_every=log_every, log=say, objectives=names,
                                 max_params=max_params)
    made, pruner, how = search_plan(
        sampler, strategy, space, seed, multi_objective=len(job.objectives) > 1,
        constraints_func=job.constraints if max_params is not None else None,
        transfer=() if warm is None else warm.sources)
    if warm is not None:
        job.first_params = [dict(q.params) for q in warm.queued]
        job.first_sources = [f"warm start: {q.describe()}" for q in warm.queued]
        # The article's first rule of thumb still runs first (the score a user would have had
        # untuned: behind the queue it was pruned by the transferred configurations); then
        # the transferred configurations, each trained in full: chosen for how it finished
        # on other data, it is not judged by its first epochs here (BENCHMARKS.md, transfer
        # v8, v9, v11 and the third held-out group).
        job.leading_rules = 1
        job.first_in_full = True
    if strategy == "progressive":
        if trials is None:
            raise ValueError("strategy 'progressive' splits a number of trials: give trials, "
                             "not timeout")
        from hyperknob.nn._progressive import stage_one

        job, trials = stage_one(job, storage, name, seed, sampler, pruner, jobs, progress,
                                trials, say)
    study, first = open_study(name, storage, job.directions, made, pruner)
    check_same_data(study, dataset)
    resumed = not first
    if first and study.is_multi_objective():
        study.set_metric_names(list(job.objectives))
    if warm is not None and first:
        study.set_user_attr("warm_start", warm.record())
    if first:
        job.prepare(study)
    recovered = recover(study)
    done = finished(study)
    remaining = None if trials is None else max(trials - done, 0)
    _say_plan(say, dataset, study, job, resumed, done, remaining, timeout, how)
    for line in recovered:
        say(line)
    if warm is not None:
        for line in warm.lines(queued=first):  # a resumed study queued them when it began
            say(line)
        if warm.sources and isinstance(made, (GPSampler, AutoSampler)):
            say("  The GP weighs each earlier study's model by how well it ranks this "
                "study's trials (kept with each trial: system_attrs['transfer_weights']).")
    started = time.perf_counter()
    if remaining is None or remaining > 0:
        ran = _search(study, job, remaining, trials, timeout, jobs, batch, executor, progress,
                      say)
        say(f"Ran {ran} trials in {time.perf_counter() - started:.0f} s"
            + (f"; the study has {finished(study)} of its {trials}." if trials is not None
               and finished(study) - done != ran else "."))
    here = device
    if executor is not None:  # the workers had the device; this machine may not
        try:
            resolve_device(device)
        except ValueError:
            say(f"(training the final model on this machine's CPU: {device!r} is not here)")
            here = "cpu"
    return _finish(study, job, how, done, started, select, refit, members, here,
                   output, report, say)


def _objective_names(objectives: str | Sequence[str] | None) -> tuple[str, ...]:
    """Return the objectives as a tuple: "accuracy,params" is split at its commas."""
    if objectives is None:
        return ("metric",)
    if isinstance(objectives, str):
        return tuple(name.strip() for name in objectives.split(",") if name.strip())
    return tuple(objectives)


def _check_runner(jobs: int, batch: int | str, executor: Any, strategy: str | None,
                  log_every: int | None) -> None:
    check_int("jobs", jobs, least=1)
    if batch != "auto" and not (is_int(batch) and batch >= 1):
        raise invalid("batch", batch, "'auto' or an int >= 1")
    if executor is not None:
        for clash, given in (("jobs > 1", jobs > 1), ("batch", batch != 1),
                             ("strategy 'progressive'", strategy == "progressive")):
            if given:
                raise ValueError(f"an executor cannot be combined with {clash}: the cluster's "
                                 "resources decide how many trials run at once")
    if batch != 1:
        for clash, given in (("jobs > 1", jobs > 1),
                             ("strategy 'progressive'", strategy == "progressive"),
                             ("log_every", log_every is not None)):
            if given:
                raise ValueError(f"batch {batch} cannot be combined with {clash}: batched "
                                 "trials train together in this process; use batch 1")


def _search(study: Study, job: NeuralNetworkObjective, remaining: int | None,
            total: int | None, timeout: float | None, jobs: int, batch: int | str,
            executor: Any, progress: bool, say: Callable[[str], Any]) -> int:
    """Run the search; return how many trials this run finished (COMPLETE or PRUNED).
    ``total`` is the study's, shared with any other run on it at the same time."""
    ran: list[int] = []

    def count(_: Study, trial: FrozenTrial) -> None:
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            ran.append(trial.number)

    if executor is not None:
        study.optimize(job, n_trials=remaining, timeout=timeout, show_progress_bar=progress,
                       executor=executor, callbacks=[count], total_trials=total)
        return len(ran)
    k = _batch_size(batch, job, remaining, say)
    if k > 1:
        from hyperknob.nn._batched_study import optimize_batched

        optimize_batched(study, job, batch=k, n_trials=remaining, timeout=timeout,
                         callbacks=[count], total_trials=total)
        return len(ran)
    study.optimize(job, n_trials=remaining, timeout=timeout, n_jobs=jobs,
                   show_progress_bar=progress, callbacks=[count], total_trials=total)
    return len(ran)


def _batch_size(batch: int | str, job: NeuralNetworkObjective, remaining: int | None,
                say: Callable[[str], Any]) -> int:
    """Return K for ``batch`` (measured for ``"auto"``)."""
    if batch == 1 or remaining == 0:
        return 1
    if batch != "auto":
        k = int(batch) if remaining is None else min(int(batch), max(remaining, 1))
        say(f"Batch: {k} trials at a time (batch {batch}).")
        return k
    from hyperknob.nn._batched_auto import choose_batch

    choice = choose_batch(job.space, job.dataset, device=job.device, seed=job.seed,
                          max_k=remaining if remaining else None)
    say(f"Batch: K = {choice.k} ({choice.reason}).")
    return choice.k


def _say_plan(say: Callable[[str], Any], data: Dataset, study: Study,
              job: NeuralNetworkObjective, resumed: bool, done: int, remaining: int | None,
              timeout: float | None, how: str) -> None:
    summary = data.summary()
    classes = f", {summary['n_classes']} classes" if summary["n_classes"] else ""
    say(f"Dataset {summary['name']!r}: {summary['task']}, {summary['n_features']} features"
        f"{classes}; {summary['n_train']} train / {summary['n_val']} validation / "
        f"{summary['n_test']} test rows.")
    searched = ", ".join(sorted(job.space.searched()))
    if len(job.objectives) == 1:
        say(f"Searching: {searched}. Objective: validation {job.metric} ({job.direction}).")
    else:
        named = ", ".join(f"{name} ({direction})" for name, direction
                          in zip(job.objectives, job.directions, strict=True))
        say(f"Searching: {searched}. Objectives: {named}; the Pareto front is kept.")
    if job.max_params is not None:
        say(f"Budget: at most {job.max_params:,} learned parameters; larger networks are "
            "not trained.")
    say(f"Search: {how}.")
    state = f"resuming with {done} finished trials" if resumed else "new study"
    budget = (f"{remaining} more trials" if remaining is not None
              else f"up to {timeout:g} s")
    running = study.view.count_trials((TrialState.RUNNING,))
    elsewhere = (f"; {running} running in another run (the number of trials is the study's "
                 "total, shared with it)" if running and remaining is not None else "")
    say(f"Study {study.study_name!r}: {state}; {budget}{elsewhere}.")


def _baseline(trials: list[FrozenTrial], fits: Fits, maximize: bool,
              device: str) -> Baseline | None:
    """Return the rule of thumb as a user would take it untuned: each queued rule-of-thumb
    configuration trained in full (as its trial was, unless a pruner stopped that trial),
    the best by validation, scored on test."""
    ruled = [t for t in trials if t.user_attrs.get("source") == RULE_OF_THUMB
             and config_of(t) is not None]
    if not ruled:
        return None
    runs = [(rank_key(fits.get(t, seed=fits.seed), maximize), t.number, t) for t in ruled]
    _, _, trial = min(runs, key=lambda run: (run[0], run[1]))
    result = fits.get(trial, seed=fits.seed)
    return Baseline(trial_number=trial.number, config=result.config,
                    validation=result.best.val_metric,
                    test=evaluate(result.model, fits.data, "test", device=device))


def _best_on_metric(trials: list[FrozenTrial], maximize: bool) -> FrozenTrial:
    """Return the COMPLETE trial (constraints met) best on the validation metric, the first
    value (ties: the lowest number); ValueError if there is none."""
    from hyperknob.samplers._constraints import is_feasible

    done = [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None
            and is_feasible(t)]
    if not done:
        raise ValueError("no COMPLETE trial")
    sign = -1.0 if maximize else 1.0
    return min(done, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]


def _epochs_spent(trials: list[FrozenTrial]) -> int:
    records = (read_record(t) for t in trials)
    return sum(record.epochs_run for record in records if record is not None)


def _finish(study: Study, job: NeuralNetworkObjective, how: str, done: int, started: float,
            select: str, refit: str, members: int, device: str,
            output: str | os.PathLike[str] | None, report: bool,
            say: Callable[[str], Any]) -> TuneResult:
    maximize = job.direction == "maximize"
    trials = study.trials  # read once: the selection, the counts and the baseline share it
    pareto: tuple[int, ...] = ()
    if job.max_params is not None:
        members = 1  # an ensemble of k networks has k times the parameters of one
    if study.is_multi_objective():
        # The final model is the front's member best on the metric (one network: an
        # ensemble would multiply the parameters the front traded accuracy for).
        front = study.best_trials
        pareto = tuple(t.number for t in front)
        candidates = [t.replace(values=(t.values[0],)) for t in front]  # type: ignore[index]
        members = 1
    else:
        candidates = trials
    try:
        best_number = _best_on_metric(candidates, maximize).number
    except ValueError:
        raise ValueError(f"study {study.study_name!r} has no completed trial yet") from None
    best = next(t for t in trials if t.number == best_number)  # with all its values
    fits = Fits(job.dataset, seed=job.seed, device=device)
    final = finalize(candidates, fits, maximize=maximize, select=select, refit=refit,
                     ensemble=members, log=say)
    chosen = next(t for t in candidates if t.number == final.trial_numbers[0])
    own = fits.get(chosen, seed=job.seed)  # the chosen trial's network, trained again
    value = float(chosen.value if chosen.value is not None else math.nan)
    reproduced = abs(own.best.val_metric - value) <= 1e-6 * max(1.0, abs(value))
    test = evaluate(final.model, job.dataset, "test", device=device)
    epochs = _epochs_spent(trials) + fits.epochs  # the comparison below is not counted
    baseline = _baseline(trials, fits, maximize, device)
    total = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    result = TuneResult(
        study=study, dataset=job.dataset, metric=job.metric, direction=job.direction,
        best_trial=best, config=final.configs[0], configs=final.configs, model=final.model,
        validation=value, test=test, selection=final.description,
        chosen=final.trial_numbers, baseline=baseline, plan=how, n_trials=total - done,
        total_trials=total, epochs=epochs,
        seconds=time.perf_counter() - started, reproduced=reproduced,
        objectives=job.objectives, pareto=pareto, max_params=job.max_params)
    study.set_user_attr("tuned", {
        "metric": result.metric, "test": result.test, "selection": result.selection,
        "rule_of_thumb_test": None if baseline is None else baseline.test,
        "trials": result.total_trials, "epochs": result.epochs,
        "chosen": list(result.chosen), "objectives": list(job.objectives),
        "pareto": list(pareto), "max_params": job.max_params})
    if output is None:
        return result
    out = Path(output) / study.study_name
    out.mkdir(parents=True, exist_ok=True)
    save_run(out, result)
    path = None
    if report:
        try:
            from hyperknob.viz import write_report
        except ImportError:
            say("(no report.html: pip install 'hyperknob[viz]' for the HTML report)")
        else:
            path = write_report(study, out / "report.html")
    return dataclasses.replace(result, output_dir=out, report=path)
