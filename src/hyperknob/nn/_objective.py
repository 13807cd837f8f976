"""``objective(dataset)``: the neural-network job as an objective for ``Study.optimize``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int
from hyperknob._training_record import StopReason, store_record
from hyperknob.exceptions import TrialPruned
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._data import Dataset, load_dataset
from hyperknob.nn._space import SearchSpace, default_space
from hyperknob.nn._train import EpochRecord, TrainResult, train
from hyperknob.transfer._warm import RULE_OF_THUMB

if TYPE_CHECKING:
    from hyperknob.study import Study
    from hyperknob.trial import FrozenTrial, Trial


#: What an objective may return besides the validation metric (always the first), each
#: minimized: the learned parameters (W and b) and the training time.
EXTRA_OBJECTIVES = ("params", "seconds")
#: The user attribute holding a trial's learned-parameter count, set before it trains.
PARAMS_ATTR = "n_parameters"
#: The user attribute of a queued trial the early-stopping rule does not stop (a warm start's
#: transferred configurations: their first epochs on new data are a poor judge of a
#: configuration chosen for how it finished elsewhere).
IN_FULL = "train_in_full"


class NeuralNetworkObjective:
    """Train one MLP per trial on a dataset and return its best validation metric.

    Classification returns validation accuracy (``direction == "maximize"``); regression
    returns validation RMSE (``"minimize"``). After every epoch the metric is reported, so a
    pruner can stop the trial. Every trial keeps its :class:`TrainingRecord` (configuration,
    curves, stop reason, learned-parameter count, training rows, device, seconds; read it
    back with :func:`read_record`); a diverged or pruned trial is PRUNED with the reason in
    ``system_attrs["prune_reason"]`` (and the record's ``stop_detail``).

    Every trial trains with the same ``seed``: differences between trials come from the
    hyperparameters, not from the initial weights or the batch order.

    ``objectives``: the first is the validation metric (``"metric"`` or its name, e.g.
    ``"accuracy"``); ``"params"`` and ``"seconds"`` may follow: the trial then returns one value
    per objective (a study with :attr:`directions`). ``max_params``: a configuration with more
    learned parameters is not trained: its trial is PRUNED at once, its count (known from the
    configuration) kept in ``user_attrs["n_parameters"]`` for :meth:`constraints`.
    """

    def __init__(
        self,
        dataset: Dataset,
        space: SearchSpace | None = None,
        *,
        seed: int = 0,
        device: str = "cpu",
        log_every: int | None = None,
        log: Callable[[str], Any] = print,
        target: str = "metric",
        objectives: Sequence[str] = ("metric",),
        max_params: int | None = None,
    ) -> None:
        if target not in ("metric", "loss"):
            raise ValueError(f"target must be 'metric' or 'loss', got target={target!r}")
        check_int("max_params", max_params, least=1, none_ok=True)
        #: The most learned parameters a configuration may have (None: no budget).
        self.max_params = max_params
        #: "metric": report and return the validation metric; "loss": the validation loss
        #: (cross-entropy or MSE: continuous where accuracy moves in steps of one example).
        self.target = target
        self.dataset = dataset
        self.space = space or default_space(dataset.n_features, dataset.n_train)
        self.seed = seed
        self.device = device
        self.log_every = log_every
        self.log = log
        #: The objectives, the validation metric first (by its name).
        self.objectives = self._check_objectives(objectives)
        #: Parameters :meth:`prepare` queues first (e.g. the best configurations of an
        #: earlier, simplified stage), and whether the rules of thumb follow them.
        self.first_params: list[dict[str, Any]] = []
        #: Where each of :attr:`first_params` comes from (its trial's ``source``).
        self.first_sources: list[str] = []
        self.rules_of_thumb = True
        #: Whether :attr:`first_params` train in full: the early-stopping rule hears their
        #: epochs but does not stop them (their trials carry ``user_attrs[IN_FULL]``).
        self.first_in_full = False
        #: How many rule-of-thumb configurations run before :attr:`first_params` (the rest
        #: run after them).
        self.leading_rules = 0

    @property
    def direction(self) -> str:
        """Return "maximize" for accuracy (classification), "minimize" for RMSE or a loss."""
        if self.target == "loss":
            return "minimize"
        return "maximize" if self.dataset.task == "classification" else "minimize"

    @property
    def metric(self) -> str:
        """Return the name of the validation metric the trials return."""
        if self.target == "loss":
            return "cross-entropy" if self.dataset.task == "classification" else "mse"
        return "accuracy" if self.dataset.task == "classification" else "rmse"

    def _check_objectives(self, objectives: Sequence[str]) -> tuple[str, ...]:
        names = list(objectives) if not isinstance(objectives, str) else [objectives]
        allowed = ("metric", self.metric)
        if not names or names[0] not in allowed or len(set(names)) != len(names) or any(
                name not in EXTRA_OBJECTIVES for name in names[1:]):
            raise ValueError(
                f"objectives must start with the validation metric ('metric' or "
                f"{self.metric!r}) and may add {list(EXTRA_OBJECTIVES)}, each once; got "
                f"objectives={list(names)!r}")
        return (self.metric, *names[1:])

    @property
    def directions(self) -> list[str]:
        """Return the direction of each objective (the metric's, then "minimize")."""
        return [self.direction] + ["minimize"] * (len(self.objectives) - 1)

    def constraints(self, trial: FrozenTrial) -> tuple[float]:
        """Return the parameter budget as a constraint (``n_parameters - max_params <= 0``),
        for a sampler's ``constraints_func``."""
        assert self.max_params is not None, "constraints() needs max_params"
        return (float(trial.user_attrs.get(PARAMS_ATTR, 0)) - self.max_params,)

    def n_parameters(self, config: MLPConfig) -> int:
        """Return the learned parameters of the network ``config`` builds on this data."""
        from hyperknob.nn._model import count_parameters

        n_outputs = int(self.dataset.n_classes or 0) if self.dataset.task == (
            "classification") else 1
        return count_parameters(config, self.dataset.n_features, n_outputs)

    def check_budget(self, trial: Trial, config: MLPConfig) -> None:
        """Record the configuration's parameter count; raise ``TrialPruned`` (no training)
        when it is over ``max_params``."""
        count = self.n_parameters(config)
        trial.set_user_attr(PARAMS_ATTR, count)
        if self.max_params is not None and count > self.max_params:
            raise TrialPruned(f"{count:,} learned parameters, over the budget of "
                              f"{self.max_params:,}: not trained")

    def prepare(self, study: Study) -> None:
        """Record the dataset on a new study and queue the article's rule-of-thumb trials."""
        if study.trials:
            return
        study.set_user_attr("dataset", self.dataset.summary())
        study.set_user_attr("metric", f"validation {self.metric}")
        ruled = [params for params in self.space.rule_of_thumb_params()
                 if params not in self.first_params] if self.rules_of_thumb else []
        for params in ruled[:self.leading_rules]:
            study.enqueue_trial(params, user_attrs={"source": RULE_OF_THUMB})
        for index, params in enumerate(self.first_params):
            where = (self.first_sources[index] if index < len(self.first_sources)
                     else "earlier stage")
            attrs: dict[str, Any] = {"source": where}
            if self.first_in_full:
                attrs[IN_FULL] = True
            study.enqueue_trial(params, user_attrs=attrs)
        for params in ruled[self.leading_rules:]:
            study.enqueue_trial(params, user_attrs={"source": RULE_OF_THUMB})

    def train_trial(self, trial: Trial) -> TrainResult:
        """Suggest a configuration, train it with pruning, and record the outcome (a
        configuration over the parameter budget raises ``TrialPruned`` untrained)."""
        config = self.space.suggest(trial)
        self.check_budget(trial, config)
        result = train(config, self.dataset, seed=self.seed, device=self.device,
                       on_epoch=lambda record: self.report(trial, record),
                       log_every=self.log_every, log=self.log)
        self.record(trial, result)
        return result

    def report(self, trial: Trial, record: EpochRecord) -> bool:
        """Report an epoch's validation value to the trial; return whether to prune it (never
        for a trial trained in full: ``user_attrs[IN_FULL]``)."""
        # Step = epochs trained so far: a pruner's resource (rungs at 1, 3, 9 epochs...).
        value = record.val_loss if self.target == "loss" else record.val_metric
        trial.report(value, record.epoch + 1)
        return not trial.user_attrs.get(IN_FULL, False) and trial.should_prune()

    def record(self, trial: Trial, result: TrainResult) -> None:
        """Store a trained configuration's outcome on the trial (its training record)."""
        store_record(trial, result.record(train_rows=self.dataset.n_train))

    def outcome(self, result: TrainResult) -> float | tuple[float, ...]:
        """Return the trial's value (one per objective when there are several), or raise
        ``TrialPruned`` for a pruned or diverged run."""
        if result.stop_reason is StopReason.DIVERGED:
            raise TrialPruned(f"diverged: {result.stop_detail}")
        if result.stop_reason is StopReason.STOPPED:
            raise TrialPruned()  # the reason the pruner gave is kept by should_prune()
        if self.target == "loss":
            losses = [r.val_loss for r in result.history if math.isfinite(r.val_loss)]
            value = min(losses) if losses else math.inf
        else:
            value = result.best.val_metric
        if len(self.objectives) == 1:
            return value
        extra = {"params": float(result.n_parameters), "seconds": float(result.seconds)}
        return (value, *(extra[name] for name in self.objectives[1:]))

    # -- as a BatchObjective: K trials trained as one batched model -------------------------
    def suggest(self, trial: Trial) -> MLPConfig:
        """Return the configuration the search space suggests for a just-asked trial."""
        return self.space.suggest(trial)

    def evaluate_batch(self, trials: Sequence[Trial], suggested: Sequence[MLPConfig]
                       ) -> list[float | tuple[float, ...] | BaseException]:
        """Train the trials' configurations together (``BatchedExecutor``); record each one
        and return its value, or the ``TrialPruned`` that ends it. The pruner judges each
        model alone at each rung while the others of the batch train on; a configuration
        over the parameter budget is not trained."""
        from hyperknob.nn._batched_train import train_batched

        outcomes: list[float | tuple[float, ...] | BaseException] = []
        kept: list[int] = []
        for index, (trial, config) in enumerate(zip(trials, suggested, strict=True)):
            try:
                self.check_budget(trial, config)
                kept.append(index)
                outcomes.append(0.0)  # replaced below
            except TrialPruned as over:
                outcomes.append(over)

        def on_epoch(index: int, record: EpochRecord) -> bool:
            return self.report(trials[kept[index]], record)

        results = train_batched([suggested[i] for i in kept], self.dataset, seed=self.seed,
                                device=self.device, on_epoch=on_epoch) if kept else []
        for index, result in zip(kept, results, strict=True):
            self.record(trials[index], result)
            try:
                outcomes[index] = self.outcome(result)
            except TrialPruned as pruned:
                outcomes[index] = pruned
        return outcomes

    def __call__(self, trial: Trial) -> float | tuple[float, ...]:
        """Train the trial's configuration; return its best validation metric (and the other
        objectives' values).

        A run the pruner stopped is PRUNED with the pruner's reason; a diverged run is PRUNED
        too, with ``"diverged: ..."`` and the evidence as the reason: like a pruned trial it
        stopped early by a rule and its region is bad, so samplers rank it below every
        COMPLETE trial (a FAIL would hide it from them). Either way the curves up to the stop
        stay in the trial's training record and its intermediate values.
        """
        return self.outcome(self.train_trial(trial))


def objective(
    dataset: str | Dataset,
    space: SearchSpace | None = None,
    *,
    target: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    log_every: int | None = None,
) -> NeuralNetworkObjective:
    """Return an objective for ``Study.optimize`` that tunes an MLP on ``dataset``.

    Example:
        >>> import hyperknob
        >>> from hyperknob import nn
        >>> job = nn.objective("digits")  # doctest: +SKIP
        >>> study = hyperknob.create_study(direction=job.direction)  # doctest: +SKIP
        >>> job.prepare(study)  # queue the rule-of-thumb configurations  # doctest: +SKIP
        >>> study.optimize(job, n_trials=30)  # doctest: +SKIP
    """
    data = dataset if isinstance(dataset, Dataset) else load_dataset(
        dataset, target=target, seed=seed)
    return NeuralNetworkObjective(data, space, seed=seed, device=device, log_every=log_every)
