"""Record a user's training run on its trial: the curves, the pruning value, why it stopped.

:class:`LearningCurveRecorder` is what the plain-PyTorch, Lightning and Hugging Face
integrations share. After every epoch it stores the trial's training record
(:func:`~hyperknob._training_record.store_record`: the curves, the configuration, which
parameter is the learning rate ...), reports the monitored value to the trial with the number
of epochs trained as the step, asks the pruner, and stops a run whose loss diverged -- so
that :mod:`hyperknob.analysis` and the HTML report read a user's model as they read the
built-in MLP. It imports no framework: values may be floats or 0-d tensors.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from typing import Any

from hyperknob._checks import check_bool, check_choice, invalid
from hyperknob._training_record import CURVE_NAMES, StopReason, TrainingRecord, store_record
from hyperknob.analysis._diagnosis_advice import ROLES
from hyperknob.analysis._diagnosis_rules import DIVERGENCE_FACTOR
from hyperknob.exceptions import TrialPruned
from hyperknob.trial import Trial

__all__ = ["COMMON_KNOB_NAMES", "LearningCurveRecorder"]

#: The names taken for each knob the diagnosis knows when the user names none, compared
#: without case and with ``-`` as ``_``; the trial's parameters are searched before the
#: configuration. Hugging Face's ``TrainingArguments`` names are among them.
COMMON_KNOB_NAMES: dict[str, tuple[str, ...]] = {
    "learning_rate": ("learning_rate", "lr", "base_lr", "max_lr", "initial_lr", "init_lr"),
    "batch_size": ("batch_size", "bs", "per_device_train_batch_size", "train_batch_size"),
    "epochs": ("epochs", "n_epochs", "num_epochs", "max_epochs", "num_train_epochs"),
    "momentum": ("momentum", "sgd_momentum"),
    "l1": ("l1", "l1_penalty"),
    "l2": ("l2", "weight_decay", "wd"),
    "dropout": ("dropout", "dropout_rate", "p_dropout", "drop_rate", "hidden_dropout_prob"),
    "n_layers": ("n_layers", "num_layers", "depth"),
    "units": ("units", "n_units", "hidden_size", "hidden_units", "width"),
    "patience": ("patience",),
    "optimizer": ("optimizer", "optim", "optimizer_name"),
    "activation": ("activation", "hidden_act"),
    "init": ("init", "initialization", "weight_init"),
    "schedule": ("schedule", "scheduler", "lr_scheduler", "lr_scheduler_type"),
}

_Scalar = (str, int, float, bool, type(None))


class LearningCurveRecorder:
    """Record a training run's learning curves on its trial, report to the pruner, stop it.

    Call :meth:`record_epoch` after every epoch with that epoch's mean training loss,
    validation loss and validation metric (any may be omitted). It stores the curves on the
    trial, reports the ``monitor`` curve's value with ``step`` = epochs trained (1 after the
    first, as hyperknob's own trainer reports), and returns True when training should stop:
    the pruner said so, or the loss diverged (a loss that is not finite, or a training loss
    ``DIVERGENCE_FACTOR`` times ``initial_loss``, else times the first epoch's). Then
    :meth:`check_pruned` raises :class:`~hyperknob.TrialPruned` with the reason, so the trial
    ends PRUNED. A run that trains to the end calls :meth:`finish`.

    Args:
        trial: The running trial.
        monitor: The curve reported to the pruner: ``"val_loss"``, ``"val_metric"`` or
            ``"train_loss"``; it must improve in the study's direction.
        knobs: Which trial parameter (or ``config`` key) plays each knob the diagnosis knows,
            e.g. ``{"learning_rate": "lr", "batch_size": "bs"}``; the roles are those of
            :data:`COMMON_KNOB_NAMES`, whose names are tried for the roles not given.
        config: The run's fixed settings worth keeping (JSON scalars and lists of them; other
            values are left out), e.g. ``{"optimizer": "sgd", "lr": 0.1}``.
        model: The model (anything with ``parameters()``), to record its parameter count.
        initial_loss: The loss of the untrained model (e.g. on the validation set): where
            training started. Divergence, and the diagnosis, are measured against it; without
            it, against the first epoch's mean training loss -- which a run that blows up
            within its first epoch has already inflated.
        stop_on_divergence: Whether a diverged run stops (and ends PRUNED as diverged).

    Example:
        >>> import hyperknob
        >>> from hyperknob.analysis import diagnose_trial
        >>> from hyperknob.integration import LearningCurveRecorder
        >>> def objective(trial):
        ...     lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        ...     recorder = LearningCurveRecorder(trial)
        ...     loss = 1.0
        ...     for epoch in range(6):
        ...         loss *= 1 - lr / 2  # stands for one epoch of training
        ...         recorder.record_epoch(train_loss=loss, val_loss=1.1 * loss)
        ...         recorder.check_pruned()  # raises TrialPruned when pruned or diverged
        ...     recorder.finish()
        ...     return 1.1 * loss
        >>> study = hyperknob.create_study()
        >>> study.enqueue_trial({"lr": 0.05})
        >>> study.optimize(objective, n_trials=1)
        >>> diagnosis = diagnose_trial(study.trials[0])
        >>> diagnosis.pathology.value, diagnosis.advice[:54]
        ('too_slow', 'Raise the learning rate (by 3x to 10x: lr from 0.05 to')
    """

    def __init__(self, trial: Trial, *, monitor: str = "val_loss",
                 knobs: Mapping[str, str] | None = None,
                 config: Mapping[str, Any] | None = None, model: Any = None,
                 initial_loss: Any = None, stop_on_divergence: bool = True) -> None:
        self.trial = trial
        self.monitor = check_choice("monitor", monitor, CURVE_NAMES)
        self.knobs = _check_knobs(knobs)
        self.config = _json_config(config)
        self.n_parameters, self.device = _model_facts(model)
        self.initial_loss = _as_float("initial_loss", initial_loss)
        if self.initial_loss is not None and not (math.isfinite(self.initial_loss)
                                                  and self.initial_loss > 0):
            raise invalid("initial_loss", initial_loss, "a finite loss > 0, or None")
        self.stop_on_divergence = check_bool("stop_on_divergence", stop_on_divergence)
        self._curves: dict[str, list[float | None]] = {name: [] for name in CURVE_NAMES}
        self._stop: tuple[StopReason, str] | None = None
        self._reference = self.initial_loss  # else the first finite training loss
        self._last_value: float | None = None
        self._left_out: set[str] = set()
        self._started = time.monotonic()

    @property
    def epochs(self) -> int:
        """Return how many epochs were recorded."""
        return len(self._curves["train_loss"])

    @property
    def stop_reason(self) -> StopReason | None:
        """Return why the run stopped (None while it runs)."""
        return None if self._stop is None else self._stop[0]

    @property
    def last_value(self) -> float | None:
        """Return the monitored value last reported to the trial."""
        return self._last_value

    def record_epoch(self, *, train_loss: Any = None, val_loss: Any = None,
                     val_metric: Any = None) -> bool:
        """Store one epoch's numbers, report the monitored one, and say whether to stop.

        None means "not measured this epoch"; a curve must be measured at every epoch to be
        kept (the diagnosis needs one value per epoch). Returns True once the run should
        stop (pruned or diverged); then call :meth:`check_pruned`.
        """
        values = {"train_loss": _as_float("train_loss", train_loss),
                  "val_loss": _as_float("val_loss", val_loss),
                  "val_metric": _as_float("val_metric", val_metric)}
        for name, value in values.items():
            curve = self._curves[name]
            curve.append(value)
            if name not in self._left_out and any(v is None for v in curve) and any(
                    v is not None for v in curve):
                self._left_out.add(name)
                warnings.warn(f"{name} was not given at every epoch: its curve is left out of "
                              "the training record (the diagnosis needs one value per epoch)",
                              stacklevel=2)
        epoch = self.epochs - 1
        if self._stop is None:
            diverged = self._diverged(epoch, values) if self.stop_on_divergence else None
            value = values[self.monitor]
            if diverged is not None:
                self._stop = (StopReason.DIVERGED, diverged)
            elif value is not None and math.isfinite(value):
                self.trial.report(value, epoch + 1)
                self._last_value = value
                if self.trial.should_prune():
                    self._stop = (StopReason.STOPPED,
                                  f"pruned after epoch {epoch} ({self.monitor} {value:.4g})")
        self._store()
        return self._stop is not None

    def check_pruned(self) -> None:
        """Raise :class:`~hyperknob.TrialPruned` if the run was pruned or diverged.

        A pruned trial keeps the pruner's reason; a diverged one is PRUNED with
        ``"diverged: ..."`` and the evidence, as hyperknob's own trainer does.
        """
        if self._stop is None:
            return
        reason, detail = self._stop
        if reason is StopReason.DIVERGED:
            raise TrialPruned(f"diverged: {detail}")
        if reason is StopReason.STOPPED:
            raise TrialPruned()  # the pruner's reason is kept by should_prune()

    def finish(self, stop_reason: StopReason | str = StopReason.COMPLETED,
               detail: str | None = None) -> TrainingRecord:
        """Store why a run that was not pruned ended, and return its training record.

        ``stop_reason`` is ``"completed"`` (every epoch trained) or ``"early_stopping"``; a
        run already pruned or diverged keeps that reason.
        """
        reason = StopReason.parse(stop_reason)
        if reason not in (StopReason.COMPLETED, StopReason.EARLY_STOPPING):
            raise invalid("stop_reason", stop_reason, "'completed' or 'early_stopping'")
        if self._stop is None:
            self._stop = (reason, detail or (f"trained {self.epochs} epochs"
                                             if reason is StopReason.COMPLETED else
                                             f"stopped early after {self.epochs} epochs"))
        return self._store()

    @property
    def record(self) -> TrainingRecord:
        """Return the training record as it stands."""
        curves = {name: tuple(values) for name, values in self._curves.items()
                  if values and all(v is not None for v in values)}
        val = curves.get("val_loss", ())
        finite = [(v, i) for i, v in enumerate(val) if v is not None and math.isfinite(v)]
        return TrainingRecord(
            curves=curves, config=self.config, knob_names=self._knob_names(),
            initial_loss=self.initial_loss, stop_reason=self.stop_reason,
            stop_detail=None if self._stop is None else self._stop[1],
            n_parameters=self.n_parameters, best_epoch=min(finite)[1] if finite else None,
            device=self.device, seconds=time.monotonic() - self._started)

    # -- internals --------------------------------------------------------------------------
    def _store(self) -> TrainingRecord:
        record = self.record
        store_record(self.trial, record)
        return record

    def _diverged(self, epoch: int, values: Mapping[str, float | None]) -> str | None:
        """Return the evidence in words if this epoch's losses diverged, else None."""
        train, val = values["train_loss"], values["val_loss"]
        if train is not None and math.isfinite(train) and self._reference is None:
            self._reference = max(train, 1e-8)
        if train is not None and not math.isfinite(train):
            detail = f"training loss {train} at epoch {epoch} is not finite"
        elif val is not None and not math.isfinite(val):
            detail = f"validation loss {val} at epoch {epoch} is not finite"
        elif (train is not None and self._reference is not None
              and train > DIVERGENCE_FACTOR * self._reference):
            start = "initial loss" if self.initial_loss is not None else "first epoch's loss"
            detail = (f"training loss {train:.4g} at epoch {epoch} is over "
                      f"{DIVERGENCE_FACTOR:g}x its {start} {self._reference:.4g}")
        else:
            return None
        name = self._knob_names().get("learning_rate")
        value = self._lookup(name) if name is not None else None
        return detail + (f"; {name} {value:g}" if isinstance(value, (int, float)) else "")

    def _lookup(self, name: str) -> Any:
        params = self.trial.params
        return params[name] if name in params else (self.config or {}).get(name)

    def _knob_names(self) -> dict[str, str]:
        """Return role -> the parameter or config key that plays it (given, else found)."""
        params, config = self.trial.params, self.config or {}
        names: dict[str, str] = {}
        for role in ROLES:
            given = self.knobs.get(role)
            if given is not None:
                if given not in params and given not in config:
                    raise invalid(f"knobs[{role!r}]", given,
                                  f"a parameter of trial {self.trial.number} "
                                  f"({sorted(params)}) or a key of config ({sorted(config)})")
                names[role] = given
                continue
            for source in (params, config):
                found = _find(source, COMMON_KNOB_NAMES.get(role, (role,)))
                if found is not None:
                    names[role] = found
                    break
        return names


def _find(source: Mapping[str, Any], candidates: tuple[str, ...]) -> str | None:
    """Return the first key of ``source`` that is one of ``candidates`` (case, - and _ aside)."""
    keys = {key.lower().replace("-", "_"): key for key in source}
    return next((keys[name] for name in candidates if name in keys), None)


def _check_knobs(knobs: Mapping[str, str] | None) -> dict[str, str]:
    if knobs is None:
        return {}
    if not isinstance(knobs, Mapping):
        raise invalid("knobs", knobs, "a mapping of knob to parameter name, or None")
    for role, name in knobs.items():
        check_choice("knobs key", role, ROLES)
        if not isinstance(name, str):
            raise invalid(f"knobs[{role!r}]", name, "a parameter name (str)")
    return dict(knobs)


def _json_config(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return the JSON-ready part of ``config``: scalars and lists of scalars."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise invalid("config", config, "a mapping of setting to value, or None")
    kept: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, _Scalar):
            kept[str(key)] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, _Scalar) for v in value):
            kept[str(key)] = list(value)
    return kept


def _model_facts(model: Any) -> tuple[int | None, str | None]:
    """Return a model's parameter count and device, if it has ``parameters()``."""
    parameters = getattr(model, "parameters", None)
    if not callable(parameters):
        return None, None
    tensors = list(parameters())
    count = sum(int(p.numel()) for p in tensors)
    return count, str(tensors[0].device) if tensors else None


def _as_float(name: str, value: Any) -> float | None:
    """Return a loss or metric as a float (NaN and inf kept), None when not given."""
    if value is None:
        return None
    if isinstance(value, (bool, str, bytes)):
        raise invalid(name, value, "a number, a 0-d tensor, or None")
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise invalid(name, value, "a number, a 0-d tensor, or None") from error
