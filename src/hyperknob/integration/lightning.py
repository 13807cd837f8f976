"""Tune a PyTorch Lightning model: prune its trials and keep its learning curves.

:class:`PruningCallback` goes into the ``Trainer``'s callbacks. After every training epoch
that ran a validation it reports the monitored metric (``self.log``'d by the module) to the
trial, with the number of epochs trained as the step, and asks the pruner. When the pruner
says stop -- or the loss diverged -- it sets ``trainer.should_stop``: Lightning ends the epoch
and ``fit`` returns normally (checkpoints and loggers finish as usual). Then
:meth:`PruningCallback.check_pruned` raises :class:`~hyperknob.TrialPruned`, so the objective
ends PRUNED with the reason. Raising from the hook would work in one process too (Lightning
calls ``on_exception``, tears down and re-raises), but a flag is what survives a strategy
that runs the hooks in other processes, and it lets the trainer close cleanly.

Every epoch's training loss, validation loss and validation metric are kept as the trial's
training record, so that :mod:`hyperknob.analysis` diagnoses the run and the HTML report
draws it. The module's ``hparams`` (``self.save_hyperparameters()``) are kept as its
configuration, and the sanity check's validation loss (before training) as the loss where
training started.

Works with Lightning 2.x, installed as ``lightning`` or as ``pytorch_lightning`` (the callback
is a ``Callback`` of each one installed, so either ``Trainer`` accepts it). Single process:
the trial lives in the process that calls ``fit``.

Example:
    ::

        import lightning as L
        import hyperknob
        from hyperknob.integration.lightning import PruningCallback

        def objective(trial: hyperknob.Trial) -> float:
            model = LitClassifier(lr=trial.suggest_float("lr", 1e-4, 1.0, log=True))
            pruning = PruningCallback(trial, monitor="val_loss", val_metric="val_acc")
            trainer = L.Trainer(max_epochs=20, callbacks=[pruning], logger=False)
            trainer.fit(model, train_loader, val_loader)
            pruning.check_pruned()  # raises TrialPruned if the pruner stopped it
            return trainer.callback_metrics["val_loss"].item()
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyperknob._training_record import StopReason
from hyperknob.integration._recorder import LearningCurveRecorder
from hyperknob.trial import Trial

__all__ = ["PruningCallback"]


def _lightning_modules() -> list[Any]:
    """Return the Lightning packages installed: ``lightning.pytorch``, ``pytorch_lightning``."""
    found = []
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    if not found:
        raise ImportError("hyperknob.integration.lightning needs PyTorch Lightning 2.x: "
                          "pip install 'hyperknob[lightning]' (or pip install lightning)")
    return found


_MODULES = _lightning_modules()
if TYPE_CHECKING:
    _Callback = object
else:
    # Both packages may be installed (``lightning`` depends on ``pytorch_lightning``), each
    # with its own Callback class that its Trainer checks for: be both.
    _Callback = type("_Callback", tuple(m.Callback for m in _MODULES), {})


class PruningCallback(_Callback):
    """Report a logged metric after each validated epoch, prune, and record the curves.

    Args:
        trial: The running trial.
        monitor: The logged metric reported to the pruner (it must improve in the study's
            direction): the validation loss, the training loss, or a validation metric.
        train_loss: The logged name of the training loss (log it with ``on_epoch=True``).
        val_loss: The logged name of the validation loss.
        val_metric: The logged name of a validation metric (e.g. ``"val_acc"``); ``monitor``
            when it names neither loss.
        knobs: Which hyperparameter plays each knob the diagnosis knows, e.g.
            ``{"learning_rate": "lr"}`` (see :class:`~hyperknob.integration.LearningCurveRecorder`;
            common names are found without it).

    Example:
        >>> callback = PruningCallback(trial, monitor="val_acc")  # doctest: +SKIP
        >>> trainer = lightning.Trainer(callbacks=[callback])  # doctest: +SKIP
    """

    def __init__(self, trial: Trial, monitor: str = "val_loss", *,
                 train_loss: str = "train_loss", val_loss: str = "val_loss",
                 val_metric: str | None = None,
                 knobs: Mapping[str, str] | None = None) -> None:
        if val_metric is None and monitor not in (train_loss, val_loss):
            val_metric = monitor
        keys = {"train_loss": train_loss, "val_loss": val_loss, "val_metric": val_metric}
        curve = next((name for name, key in keys.items() if key == monitor), None)
        if curve is None:
            raise ValueError(f"monitor must be one of the recorded metrics (train_loss, "
                             f"val_loss or val_metric), got monitor={monitor!r} with "
                             f"train_loss={train_loss!r}, val_loss={val_loss!r}, "
                             f"val_metric={val_metric!r}")
        self.trial = trial
        self.monitor = monitor
        self.keys = keys
        self.knobs = knobs
        self.curve = curve
        self.recorder: LearningCurveRecorder | None = None
        self._initial_loss: float | None = None
        self._validated: dict[str, float | None] | None = None
        self._missing_warned = False

    # -- Lightning hooks ----------------------------------------------------------------------
    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        """Start the record (after the sanity check, which measured the untrained model)."""
        hparams = getattr(pl_module, "hparams", None)
        start = self._initial_loss
        self.recorder = LearningCurveRecorder(
            self.trial, monitor=self.curve, knobs=self.knobs,
            config=dict(hparams) if isinstance(hparams, Mapping) else None, model=pl_module,
            initial_loss=start if start is not None and math.isfinite(start) and start > 0
            else None)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Keep this validation's numbers (the sanity check's loss is where training starts)."""
        metrics = trainer.callback_metrics
        if trainer.sanity_checking:
            self._initial_loss = _value(metrics, self.keys["val_loss"])
            return
        self._validated = {name: _value(metrics, self.keys[name])
                           for name in ("val_loss", "val_metric")}

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Record the epoch, report the monitored value, and stop the trainer if pruned."""
        validated, self._validated = self._validated, None
        recorder = self.recorder
        if recorder is None or (validated is None and self.curve != "train_loss"):
            return  # no validation ran this epoch (check_val_every_n_epoch > 1)
        train = _value(trainer.callback_metrics, self.keys["train_loss"])
        numbers = {"train_loss": train, **(validated or {})}
        if numbers.get(self.curve) is None and not self._missing_warned:
            self._missing_warned = True
            warnings.warn(f"the monitored metric {self.monitor!r} is not logged (logged: "
                          f"{sorted(trainer.callback_metrics)}): nothing is reported to the "
                          "pruner", stacklevel=2)
        if recorder.record_epoch(**numbers):
            trainer.should_stop = True

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Record why training ended: every epoch, or another callback's early stop."""
        if self.recorder is None or self.recorder.stop_reason is not None:
            return
        stopped_early = any(getattr(cb, "stopped_epoch", 0) > 0 for cb in trainer.callbacks)
        self.recorder.finish(StopReason.EARLY_STOPPING if stopped_early
                             else StopReason.COMPLETED)

    def check_pruned(self) -> None:
        """Raise :class:`~hyperknob.TrialPruned` if this callback stopped the training.

        Call it after ``trainer.fit``: a pruned trial keeps the pruner's reason, a diverged
        one ``"diverged: ..."``.
        """
        if self.recorder is not None:
            self.recorder.check_pruned()


def _value(metrics: Mapping[str, Any], key: str | None) -> float | None:
    """Return a logged metric as a float, None when it is not logged."""
    if key is None or key not in metrics:
        return None
    return float(metrics[key])
