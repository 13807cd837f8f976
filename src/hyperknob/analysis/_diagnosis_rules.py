"""The rules that read a training curve: what went wrong, and the numbers that show it.

Pure functions over the per-epoch losses a trial stores; numpy only. Every threshold is a
named module constant, tuned on the labelled real runs in ``tests/analysis/data`` (see
``tests/analysis/make_labelled_runs.py``) and explained where it is defined. The rules run
in order and the first that holds wins: diverged, unstable, overfitting, too slow,
underfitting, healthy -- a run that blew up or oscillates says little about capacity, and a
run whose validation loss turned up is not "still improving".

Every loss is measured against a *reference loss*: the chance-level loss when the caller
knows it (``log(n_classes)`` for cross-entropy, 1.0 for the mean squared error of
standardized targets), else the first epoch's training loss (averaged over that epoch's
batches, so close to the loss before training). It stands for "where training started", so a
jump or a rise reads the same on every dataset.

The thresholds were chosen on the ``"tuning"`` runs of the labelled set and then checked,
unchanged, on its ``"holdout"`` runs. Each can move by half its value either way (the ratio
``UNDERFIT_GAP`` up to 0.99) with the others fixed and the accuracy on the whole set stays at
94 % or more.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DIVERGENCE_FACTOR",
    "INFLUENCE",
    "OVERFIT_FLOOR",
    "OVERFIT_RISE",
    "OVERFIT_TRAIN_DROP",
    "SLOW_FLOOR",
    "SLOW_SHARE",
    "SLOW_WINDOW",
    "SWING_FLOOR",
    "UNDERFIT_GAP",
    "UNDERFIT_LEVEL",
    "UNSTABLE_SWINGS",
    "CurveVerdict",
    "Pathology",
    "judge_curves",
]

#: Diverged: a training loss this many times the starting one (the trainer's own rule: the
#: chance-level loss when known, else the first epoch's), or a loss that is not a finite number.
DIVERGENCE_FACTOR = 10.0
#: A swing is a peak of the loss: up by at least 5 % of the reference loss from one epoch to
#: the next and down again by at least as much the epoch after -- one period of an
#: oscillation. Noise near a converged loss is far smaller; a steady rise (overfitting) has no
#: fall after it.
SWING_FLOOR = 0.05
#: Unstable: this many swings, training and validation loss together ("many sign changes").
#: The labelled healthy and overfitting runs have at most two (a jump while Adam warms up);
#: the oscillating ones have three to twenty.
UNSTABLE_SWINGS = 3
#: Overfitting: the validation loss at the end (median of the last three epochs) is at least
#: 25 % above its minimum ...
OVERFIT_RISE = 0.25
#: ... by at least 2 % of the reference loss (a creep of a loss near zero is not overfitting),
#: and the minimum (of the 3-epoch running median, so one lucky epoch is no yardstick) is two
#: or more epochs before the end ...
OVERFIT_FLOOR = 0.02
#: ... while the training loss at least halved after it: the network memorized its training
#: rows. (When both losses rise, regularization is pulling them up: that is no overfitting.)
OVERFIT_TRAIN_DROP = 0.5
#: Too slow: over the last quarter of the epochs (a least-squares line through them) ...
SLOW_WINDOW = 0.25
#: ... the loss still fell by at least 5 % of its whole decrease since the first epoch (a
#: straight line gives 25 %, the labelled converged runs 3 % or less) ...
SLOW_SHARE = 0.05
#: ... and by at least 1 % of the reference loss (a loss already near zero that keeps
#: shrinking is converged, not slow).
SLOW_FLOOR = 0.01
#: Underfitting: the validation loss ends above 35 % of the reference loss (the model removed
#: less than about two thirds of the starting loss) ...
UNDERFIT_LEVEL = 0.35
#: ... and the training loss is at least 90 % of it: the model fits its own training rows
#: hardly better than new ones (high bias, no variance), so more data would not help.
UNDERFIT_GAP = 0.9

_END_EPOCHS = 3  # "the end" of a curve is the median of its last three epochs: noise-robust
_MIN_EPOCHS_OVERFIT = 4
_MIN_EPOCHS_UNDERFIT = 3


class Pathology(str, enum.Enum):
    """What a training curve shows, worst first."""

    DIVERGED = "diverged"
    UNSTABLE = "unstable"
    TOO_SLOW = "too_slow"
    UNDERFITTING = "underfitting"
    OVERFITTING = "overfitting"
    HEALTHY = "healthy"


INFLUENCE: dict[Pathology, tuple[str, ...]] = {
    Pathology.DIVERGED: ("learning_rate", "init", "batch_size", "optimizer", "momentum"),
    Pathology.UNSTABLE: ("learning_rate", "batch_size", "optimizer", "momentum", "schedule"),
    Pathology.TOO_SLOW: ("learning_rate", "optimizer", "batch_size", "epochs", "schedule",
                         "momentum"),
    Pathology.UNDERFITTING: ("hidden_layers", "activation", "l2", "l1", "dropout", "epochs"),
    Pathology.OVERFITTING: ("hidden_layers", "l2", "l1", "dropout", "epochs", "patience"),
    Pathology.HEALTHY: (),
}
"""The MLPConfig knobs the article links to each pathology, most likely first.

The article (section 4, "what each hyperparameter influences") says:

- learning rate, mini-batch size and optimizer decide the *speed of convergence*: "too large a
  learning rate oscillates and never converges; too small a one converges very slowly"; "too
  small a batch makes training unstable and noisy";
- the number of hidden layers, the neurons per layer and the activation decide the model's
  *capacity* (whether it can fit complex patterns): "too many layers overfit";
- regularization (L1/L2) and dropout decide *generalization* (they prevent overfitting);
- the initialization decides the *stability* of training (whether it diverges early);
- the number of epochs decides whether training is *sufficient*: too few underfit, too many
  overfit.

Hence diverged -> learning rate, initialization, batch, optimizer (and SGD's momentum);
unstable -> learning rate, batch, optimizer, momentum, a decaying schedule; too slow ->
learning rate, optimizer, batch, epochs, schedule; underfitting -> layers and units,
activation, less L2/L1/dropout, more epochs; overfitting -> fewer layers or units, more
L2/L1/dropout, fewer epochs or early stopping (patience).
"""


@dataclasses.dataclass(frozen=True)
class CurveVerdict:
    """The rule that held, the numbers it used, and one sentence that says it with them."""

    pathology: Pathology
    evidence: dict[str, float]
    summary: str


def _clean(values: Sequence[float | None] | None) -> np.ndarray:
    """Return a float array with NaN for None, NaN and infinite entries."""
    if values is None:
        return np.empty(0)
    array = np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    array[~np.isfinite(array)] = math.nan
    return array


def _end(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite[-_END_EPOCHS:]))


def _g(value: float) -> str:
    return f"{value:.3g}"


def _swings(values: np.ndarray, reference: float) -> tuple[int, float]:
    """Count the swings of a curve; return the count and the largest one (in loss units)."""
    finite = values[np.isfinite(values)]
    rises, falls = np.diff(finite)[:-1], -np.diff(finite)[1:]
    size = np.minimum(rises, falls)
    swings = size[size >= SWING_FLOOR * reference]
    return len(swings), float(swings.max()) if len(swings) else 0.0


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _diverged(train: np.ndarray, val: np.ndarray, stop_reason: str | None,
              chance_loss: float | None) -> CurveVerdict | None:
    # The trainer's rule compares with the loss before training: chance when known, else the
    # first epoch's training loss stands for it.
    finite = train[np.isfinite(train)]
    start = chance_loss if chance_loss is not None and chance_loss > 0 else (
        float(finite[0]) if len(finite) else math.nan)
    exploded = _first(train > DIVERGENCE_FACTOR * start) if math.isfinite(start) else None
    not_finite = _first(~np.isfinite(train))
    val_not_finite = _first(~np.isfinite(val))
    if exploded is not None and (not_finite is None or exploded < not_finite):
        loss = float(train[exploded])
        return CurveVerdict(Pathology.DIVERGED, {
            "epoch": exploded, "train_loss": loss, "start_loss": start,
            "factor": loss / start}, f"training loss reached {_g(loss)} at epoch {exploded}, "
            f"{loss / start:.3g}x its starting value {_g(start)}")
    if not_finite is not None:
        return CurveVerdict(Pathology.DIVERGED, {"epoch": not_finite},
                            f"training loss is not a finite number (NaN or inf) at epoch "
                            f"{not_finite}")
    if stop_reason != "diverged" and val_not_finite is None:
        return None
    epoch = len(train) - 1 if stop_reason == "diverged" or val_not_finite is None else (
        val_not_finite)
    summary = (f"the trainer stopped it as diverged at epoch {epoch}"
               if stop_reason == "diverged" else
               f"validation loss is not a finite number (NaN or inf) at epoch {epoch}")
    evidence: dict[str, float] = {"epoch": epoch}
    if 0 <= epoch < len(train):
        evidence["train_loss"] = float(train[epoch])
        summary += f" (training loss {_g(train[epoch])})"
    return CurveVerdict(Pathology.DIVERGED, evidence, summary)


def _unstable(train: np.ndarray, val: np.ndarray, reference: float) -> CurveVerdict | None:
    train_swings, train_size = _swings(train, reference)
    val_swings, val_size = _swings(val, reference)
    if train_swings + val_swings < UNSTABLE_SWINGS:
        return None
    largest = max(train_size, val_size)
    evidence = {"train_swings": float(train_swings), "val_swings": float(val_swings),
                "largest_swing": largest, "reference_loss": reference}
    summary = (f"the loss rose and fell back by {SWING_FLOOR:.0%} or more of the reference loss "
               f"{_g(reference)} {train_swings + val_swings} times ({train_swings} in training, "
               f"{val_swings} in validation), the largest swing {_g(largest)} "
               f"({largest / reference:.0%} of it)")
    return CurveVerdict(Pathology.UNSTABLE, evidence, summary)


def _running_median(values: np.ndarray) -> np.ndarray:
    return np.array([np.median(values[max(0, i - 1):i + 2]) for i in range(len(values))])


def _overfitting(train: np.ndarray, val: np.ndarray, reference: float) -> CurveVerdict | None:
    epochs = np.flatnonzero(np.isfinite(val))
    if len(epochs) < _MIN_EPOCHS_OVERFIT:
        return None
    smooth = _running_median(val[epochs])
    low = int(np.argmin(smooth))
    val_low, val_end = float(smooth[low]), _end(val)
    rise = val_end - val_low
    if low > len(epochs) - 3 or rise < OVERFIT_RISE * val_low or rise < OVERFIT_FLOOR * reference:
        return None
    best = int(epochs[np.argmin(val[epochs])])
    val_min = float(val[best])
    train_at_min = float(train[best]) if best < len(train) else math.nan
    train_end = _end(train) if np.isfinite(train).any() else math.nan
    if not (math.isfinite(train_at_min) and math.isfinite(train_end)
            and train_end <= OVERFIT_TRAIN_DROP * train_at_min):
        return None
    evidence = {"val_loss_min": val_min, "epoch_of_min": float(best), "val_loss_low": val_low,
                "val_loss_end": val_end, "rise": rise / max(val_low, 1e-12),
                "train_loss_at_min": train_at_min, "train_loss_end": train_end,
                "gap_at_min": val_min - train_at_min, "gap_end": val_end - train_end,
                "reference_loss": reference}
    summary = (f"validation loss bottomed at {_g(val_min)} at epoch {best} and ended at "
               f"{_g(val_end)}, {evidence['rise']:.0%} above its low (3-epoch median "
               f"{_g(val_low)}), while the training loss fell from {_g(train_at_min)} to "
               f"{_g(train_end)}: the gap between them widened from {_g(val_min - train_at_min)} "
               f"to {_g(val_end - train_end)}")
    return CurveVerdict(Pathology.OVERFITTING, evidence, summary)


def _late_trend(values: np.ndarray) -> dict[str, float] | None:
    """Return how much the curve still fell over its last quarter, or None if too short."""
    epochs = np.flatnonzero(np.isfinite(values))
    if len(epochs) < 2:
        return None
    finite = values[epochs]
    window = max(1, round(SLOW_WINDOW * (len(finite) - 1)))
    if window == 1:
        late_drop, end = float(finite[-2] - finite[-1]), float(finite[-1])
    else:
        x = np.arange(window + 1, dtype=float)
        slope, intercept = np.polyfit(x, finite[-window - 1:], 1)
        late_drop, end = float(-slope * window), float(intercept + slope * window)
    total_drop = float(finite[0]) - end
    share = late_drop / total_drop if total_drop > 0 else 0.0
    return {"epochs": float(len(finite)), "window": float(window), "first": float(finite[0]),
            "end": end, "late_drop": late_drop, "late_share": share}


def _too_slow(train: np.ndarray, val: np.ndarray, reference: float,
              stop_reason: str | None) -> CurveVerdict | None:
    if stop_reason == "early_stopping":
        return None  # the trainer saw the validation loss stop improving
    name, trend = "validation", _late_trend(val)
    if trend is None:
        name, trend = "training", _late_trend(train)
    if (trend is None or trend["late_share"] < SLOW_SHARE
            or trend["late_drop"] < SLOW_FLOOR * reference):
        return None
    evidence = {"loss_first": trend["first"], "loss_end": trend["end"],
                "late_drop": trend["late_drop"], "late_share": trend["late_share"],
                "window": trend["window"], "epochs": trend["epochs"]}
    if name == "training":
        evidence["on_training_loss"] = 1.0
    how = {"stopped": "when it was stopped", "completed": "when its epochs ran out"}.get(
        stop_reason or "", "when training ended")
    summary = (f"{name} loss was still falling {how}: by {_g(trend['late_drop'])} over the last "
               f"{int(trend['window'])} of {int(trend['epochs'])} epochs, "
               f"{trend['late_share']:.0%} of its whole decrease from {_g(trend['first'])} to "
               f"{_g(trend['end'])}")
    return CurveVerdict(Pathology.TOO_SLOW, evidence, summary)


def _underfitting(train: np.ndarray, val: np.ndarray, reference: float) -> CurveVerdict | None:
    if np.isfinite(train).sum() < _MIN_EPOCHS_UNDERFIT:
        return None
    train_end = _end(train)
    val_end = _end(val) if np.isfinite(val).sum() >= _MIN_EPOCHS_UNDERFIT else train_end
    if val_end < UNDERFIT_LEVEL * reference or train_end < UNDERFIT_GAP * val_end:
        return None
    evidence = {"train_loss_end": train_end, "val_loss_end": val_end,
                "reference_loss": reference, "level": val_end / reference,
                "train_to_val": train_end / val_end if val_end > 0 else math.inf}
    summary = (f"training loss {_g(train_end)} and validation loss {_g(val_end)} levelled off at "
               f"{val_end / reference:.0%} of the reference loss {_g(reference)}: the model fits "
               f"its own training rows no better than new ones")
    return CurveVerdict(Pathology.UNDERFITTING, evidence, summary)


def _healthy(train: np.ndarray, val: np.ndarray, reference: float) -> CurveVerdict:
    n_epochs = max(len(train), len(val))
    evidence = {"epochs": float(n_epochs), "reference_loss": reference}
    parts = []
    if np.isfinite(train).any():
        evidence["train_loss_end"] = _end(train)
        parts.append(f"training loss {_g(evidence['train_loss_end'])}")
    if np.isfinite(val).any():
        epochs = np.flatnonzero(np.isfinite(val))
        best = int(epochs[np.argmin(val[epochs])])
        evidence.update(val_loss_min=float(val[best]), epoch_of_min=float(best),
                        val_loss_end=_end(val))
        parts.append(f"validation loss {_g(evidence['val_loss_end'])} (best {_g(val[best])} at "
                     f"epoch {best})")
    if n_epochs < _MIN_EPOCHS_UNDERFIT:
        verdict = "too few epochs to show a problem"
    else:
        verdict = "it converged without oscillating, overfitting or stalling high"
    summary = (" and ".join(parts) + f" after {n_epochs} epoch{'s' * (n_epochs != 1)}, from a "
               f"reference loss of {_g(reference)}: {verdict}")
    return CurveVerdict(Pathology.HEALTHY, evidence, summary)


def reference_loss(train: np.ndarray, val: np.ndarray, chance_loss: float | None) -> float:
    """Return the scale losses are measured against: see the module docstring."""
    if chance_loss is not None and math.isfinite(chance_loss) and chance_loss > 0:
        return float(chance_loss)
    for curve in (train, val):
        finite = curve[np.isfinite(curve) & (curve > 0)]
        if len(finite):
            return float(finite[0])
    return 1.0


def judge_curves(
    train_loss: Sequence[float | None],
    val_loss: Sequence[float | None] | None = None,
    *,
    stop_reason: str | None = None,
    chance_loss: float | None = None,
) -> CurveVerdict:
    """Apply the rules in order to one run's per-epoch losses and return the first that holds.

    None, NaN and infinite entries count as "not a finite number" (the trainer stores None for
    them). Raises ValueError when neither curve has an epoch.
    """
    train, val = _clean(train_loss), _clean(val_loss)
    if len(train) == 0 and len(val) == 0:
        raise ValueError("cannot diagnose a run without epochs: train_loss and val_loss are "
                         "both empty")
    diverged = _diverged(train, val, stop_reason, chance_loss)
    if diverged is not None:
        return diverged
    reference = reference_loss(train, val, chance_loss)
    for verdict in (_unstable(train, val, reference), _overfitting(train, val, reference),
                    _too_slow(train, val, reference, stop_reason),
                    _underfitting(train, val, reference)):
        if verdict is not None:
            return verdict
    return _healthy(train, val, reference)
