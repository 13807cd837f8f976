"""The early-stopping tracker: the best epoch, patience and divergence of one training run.

``train`` and ``train_batched`` feed it the same numbers after every epoch and stop a model
when it says so, so that both trainers stop, and keep weights, by the same rules.
"""

from __future__ import annotations

import math

from hyperknob._training_record import StopReason
from hyperknob.nn._config import MLPConfig

DIVERGENCE_FACTOR = 10.0  # a loss this many times its starting value has diverged


class EpochTracker:
    """Follow one model's epochs: which is best, whether it diverged, when it should stop.

    Args:
        config: The model's configuration (``epochs``, ``patience``, ``learning_rate``).
        classify: Whether a higher validation metric is better (accuracy) or lower (RMSE).
        initial_loss: The training loss before the first step (divergence is judged
            against it); may be set later, before the first epoch is observed.
    """

    def __init__(self, config: MLPConfig, classify: bool,
                 initial_loss: float = math.nan) -> None:
        self.config = config
        self.classify = classify
        self.initial_loss = initial_loss
        self.best_epoch = -1
        self._best_key = (math.inf, math.inf)
        self._best_val_loss = math.inf
        self._since_better = 0
        #: Why the model stopped and the evidence in words, once it did.
        self.stop: tuple[StopReason, str] | None = None

    def diverged(self, epoch: int, train_loss: float) -> bool:
        """Return whether ``train_loss`` of ``epoch`` shows divergence (then stop)."""
        limit = DIVERGENCE_FACTOR * max(self.initial_loss, 1e-8)
        if math.isfinite(train_loss) and train_loss <= limit:
            return False
        self.stop = (StopReason.DIVERGED, (
            f"training loss {train_loss:.4g} at epoch {epoch} "
            + ("is not finite" if not math.isfinite(train_loss) else
               f"is over {DIVERGENCE_FACTOR:g}x its starting value {self.initial_loss:.4g}")
            + f"; learning rate {self.config.learning_rate:g}"))
        return True

    def validated(self, epoch: int, val_loss: float, val_metric: float) -> bool:
        """Take an epoch's validation numbers; return whether its weights are the best yet
        (best metric, ties broken by the lower loss)."""
        key = (-val_metric if self.classify else val_metric, val_loss)
        better = math.isfinite(val_loss) and key < self._best_key
        if better:
            self.best_epoch, self._best_key = epoch, key
        if val_loss < self._best_val_loss:
            self._best_val_loss, self._since_better = val_loss, 0
        else:
            self._since_better += 1
        return better

    def decide(self, epoch: int, *, hook_stops: bool) -> bool:
        """Return whether training stops after ``epoch``: the epoch hook said so (a pruner),
        the validation loss has not improved for ``patience`` epochs, or it was the last."""
        patience = self.config.patience
        if hook_stops:
            self.stop = (StopReason.STOPPED, f"stopped after epoch {epoch} by on_epoch")
        elif patience is not None and self._since_better >= patience:
            self.stop = (StopReason.EARLY_STOPPING,
                         f"validation loss did not improve for {patience} epochs "
                         f"(best {self._best_val_loss:.4g})")
        elif epoch + 1 >= self.config.epochs:
            self.stop = (StopReason.COMPLETED, f"trained all {self.config.epochs} epochs")
        return self.stop is not None
