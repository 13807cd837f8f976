"""Tune a Hugging Face ``transformers.Trainer``: prune its trials and keep its curves.

:class:`PruningCallback` goes into the Trainer's callbacks. At every evaluation during
training it reports the monitored metric (``eval_loss``, or ``eval_<metric>`` from
``compute_metrics``) to the trial, with the number of evaluations so far as the step (the
epoch, with ``eval_strategy="epoch"``), and asks the pruner. When the pruner says stop -- or
the loss diverged -- it sets ``control.should_training_stop``: the Trainer ends ``train()``
normally, and :meth:`PruningCallback.check_pruned` then raises
:class:`~hyperknob.TrialPruned`, so the objective ends PRUNED with the reason. It also
keeps the training loss (averaged since the last evaluation: the callback asks the Trainer
to log the loss before each evaluation), the evaluation loss and metric as the trial's
training record, for :mod:`hyperknob.analysis` and the HTML report; the
``TrainingArguments`` that matter to the diagnosis (learning rate, batch size ...) are its
configuration, and an evaluation before training (``eval_on_start=True``) its starting loss.

``Trainer.hyperparameter_search`` cannot take hyperknob as its backend: transformers keeps
the backends in a fixed registry (``HPSearchBackend``, an enum of ``"optuna"``, ``"ray"``
and ``"wandb"``, mapped to classes in ``transformers.hyperparameter_search.
ALL_HYPERPARAMETER_SEARCH_BACKENDS``), and ``Trainer`` branches on those names when it sets
up and reports a trial; any other name raises ``ValueError``. :func:`hyperparameter_search`
does the same job over a hyperknob study instead, from a function that builds a Trainer for
a trial -- the search space is that function's ``trial.suggest_*`` calls.

Example:
    ::

        from transformers import Trainer, TrainingArguments
        import hyperknob
        from hyperknob.integration.huggingface import hyperparameter_search

        def make_trainer(trial: hyperknob.Trial) -> Trainer:
            args = TrainingArguments(
                output_dir="runs", eval_strategy="epoch", save_strategy="no",
                learning_rate=trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
                per_device_train_batch_size=trial.suggest_categorical("batch_size", [8, 16]),
                num_train_epochs=5, report_to="none")
            return Trainer(model=make_model(), args=args, train_dataset=train,
                           eval_dataset=val)

        study = hyperparameter_search(make_trainer, n_trials=20)
        print(study.best_params)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from hyperknob._checks import check_int, check_number
from hyperknob._training_record import StopReason
from hyperknob.integration._recorder import LearningCurveRecorder
from hyperknob.study import Study, create_study
from hyperknob.trial import Trial

try:
    import transformers
except ImportError as error:
    raise ImportError("hyperknob.integration.huggingface needs transformers: pip install "
                      "'hyperknob[huggingface]' (or pip install transformers accelerate)"
                      ) from error

__all__ = ["TRAINING_ARGUMENTS_KEPT", "PruningCallback", "hyperparameter_search"]

#: The ``TrainingArguments`` kept as a trial's configuration: the knobs the diagnosis reads.
TRAINING_ARGUMENTS_KEPT = ("learning_rate", "per_device_train_batch_size",
                           "gradient_accumulation_steps", "num_train_epochs", "weight_decay",
                           "warmup_steps", "lr_scheduler_type", "optim", "adam_beta1",
                           "max_grad_norm", "seed")


class PruningCallback(transformers.TrainerCallback):  # type: ignore[misc]
    """Report an evaluation metric at each evaluation, prune, and record the curves.

    Args:
        trial: The running trial.
        monitor: The evaluation metric reported to the pruner (it must improve in the study's
            direction): ``"eval_loss"`` or a ``compute_metrics`` key such as
            ``"eval_accuracy"``, which is then recorded as the validation metric.
        val_metric: The metric recorded as the validation metric when ``monitor`` is the
            loss, e.g. ``"eval_accuracy"``.
        knobs: Which parameter plays each knob the diagnosis knows, e.g.
            ``{"learning_rate": "lr"}``; the ``TrainingArguments`` names and common names are
            found without it (see :class:`~hyperknob.integration.LearningCurveRecorder`).

    Example:
        >>> callback = PruningCallback(trial, monitor="eval_loss")  # doctest: +SKIP
        >>> trainer = Trainer(model=model, args=args, callbacks=[callback])  # doctest: +SKIP
        >>> trainer.train()  # doctest: +SKIP
        >>> callback.check_pruned()  # doctest: +SKIP
    """

    def __init__(self, trial: Trial, monitor: str = "eval_loss", *,
                 val_metric: str | None = None,
                 knobs: Mapping[str, str] | None = None) -> None:
        if monitor != "eval_loss":
            if val_metric not in (None, monitor):
                raise ValueError(f"val_metric must be None or the monitored metric when "
                                 f"monitor is not 'eval_loss', got val_metric={val_metric!r} "
                                 f"with monitor={monitor!r}")
            val_metric = monitor
        self.trial = trial
        self.monitor = monitor
        self.val_metric = val_metric
        self.knobs = knobs
        self.recorder: LearningCurveRecorder | None = None
        self._model: Any = None
        self._config: dict[str, Any] | None = None
        self._initial_loss: float | None = None
        self._training = False
        self._loss_sum = 0.0  # the training loss since the last evaluation, times its steps
        self._loss_steps = 0
        self._last_step = 0

    # -- Trainer hooks --------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Start watching a training run: its model and arguments."""
        self._training = True
        self._model = kwargs.get("model")
        self._config = {name: _plain(getattr(args, name)) for name in TRAINING_ARGUMENTS_KEPT
                        if hasattr(args, name)}
        self._last_step = state.global_step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Have the loss logged before an evaluation, so each evaluation has its own."""
        if control.should_evaluate:
            control.should_log = True

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """As :meth:`on_step_end`, for evaluations at the end of an epoch."""
        self.on_step_end(args, state, control)

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
        """Add a logged training loss (the mean over the steps since the last log)."""
        if not self._training or not logs or "loss" not in logs:
            return
        steps = max(state.global_step - self._last_step, 1)
        self._loss_sum += float(logs["loss"]) * steps
        self._loss_steps += steps
        self._last_step = state.global_step

    def on_evaluate(self, args: Any, state: Any, control: Any,
                    metrics: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Record the evaluation, report the monitored metric, stop training if pruned."""
        if not self._training:
            return  # trainer.evaluate() after training: not an epoch of the run
        metrics = metrics or {}
        if state.global_step == 0:  # eval_on_start: the untrained model
            loss = _number(metrics.get("eval_loss"))
            self._initial_loss = (loss if loss is not None and math.isfinite(loss) and loss > 0
                                  else None)  # an untrained model may already overflow
            return
        if self.recorder is None:
            self.recorder = LearningCurveRecorder(
                self.trial, monitor="val_loss" if self.monitor == "eval_loss" else "val_metric",
                knobs=self.knobs, config=self._config, model=self._model,
                initial_loss=self._initial_loss)
        train = self._loss_sum / self._loss_steps if self._loss_steps else None
        self._loss_sum, self._loss_steps = 0.0, 0
        if self.recorder.record_epoch(
                train_loss=train, val_loss=_number(metrics.get("eval_loss")),
                val_metric=_number(metrics.get(self.val_metric)) if self.val_metric else None):
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Record why training ended: every step, or an early stop by another callback."""
        self._training = False
        if self.recorder is None or self.recorder.stop_reason is not None:
            return
        early = 0 < state.global_step < state.max_steps
        self.recorder.finish(StopReason.EARLY_STOPPING if early else StopReason.COMPLETED)

    def check_pruned(self) -> None:
        """Raise :class:`~hyperknob.TrialPruned` if this callback stopped the training.

        Call it after ``trainer.train()``: a pruned trial keeps the pruner's reason, a
        diverged one ``"diverged: ..."``.
        """
        if self.recorder is not None:
            self.recorder.check_pruned()


def hyperparameter_search(
    trainer_factory: Callable[[Trial], Any],
    *,
    n_trials: int,
    study: Study | None = None,
    direction: str = "minimize",
    monitor: str = "eval_loss",
    knobs: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Study:
    """Search a Trainer's hyperparameters with a hyperknob study; return the study.

    What ``Trainer.hyperparameter_search`` does with Optuna, over hyperknob (which it cannot
    take as a backend, see the module). Each trial calls ``trainer_factory(trial)``, which
    suggests the hyperparameters (``trial.suggest_*``) and returns a ``transformers.Trainer``
    built with them and an ``eval_dataset``; the trial trains it with a
    :class:`PruningCallback` and its value is ``monitor`` at the last evaluation (after
    training when the Trainer never evaluated). Pruned and diverged trials end PRUNED.

    Args:
        trainer_factory: Builds a fresh Trainer for a trial.
        n_trials: How many trials to run.
        study: The study to run them in; a new one in memory by default.
        direction: ``"minimize"`` or ``"maximize"`` ``monitor``, for a new study.
        monitor: The evaluation metric to optimize and prune on.
        knobs: Which parameter plays each knob the diagnosis knows (see
            :class:`PruningCallback`).
        timeout: Stop starting trials after this many seconds.
    """
    n_trials = check_int("n_trials", n_trials, least=1)
    timeout = check_number("timeout", timeout, above=0.0, none_ok=True)
    if study is None:
        study = create_study(direction=direction)

    def objective(trial: Trial) -> float:
        trainer = trainer_factory(trial)
        callback = PruningCallback(trial, monitor=monitor, knobs=knobs)
        trainer.add_callback(callback)
        trainer.train()
        callback.check_pruned()
        value = None if callback.recorder is None else callback.recorder.last_value
        if value is None:
            metrics = trainer.evaluate()
            if monitor not in metrics:
                raise ValueError(f"monitor must be a metric the Trainer evaluates "
                                 f"({sorted(metrics)}), got monitor={monitor!r}")
            value = float(metrics[monitor])
        return value

    study.optimize(objective, n_trials=n_trials, timeout=timeout)
    return study


def _plain(value: Any) -> Any:
    """Return an argument as JSON: an enum (``lr_scheduler_type``) as its value."""
    value = getattr(value, "value", value)
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _number(value: Any) -> float | None:
    """Return a metric as a float (NaN kept: a diverged loss), None when it is missing."""
    return None if value is None or isinstance(value, (bool, str)) else float(value)
