"""Plot data for learning curves: one line per trial, with its state and diagnosis. No plotly."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence

import numpy as np

from hyperknob._direction import StudyDirection
from hyperknob._training_record import read_record
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.viz._data import StudyOrTrials, _Record, direction_of, finite_value, trials_of

CURVE_KEYS = ("train_loss", "val_loss", "val_metric")


@dataclasses.dataclass(frozen=True)
class CurvesData(_Record):
    """Learning curves, one per kept trial, ordered by trial number.

    Attributes:
        key: The curve drawn: None for the reported intermediate values, else a curve of
            the training record (``"train_loss"``, ``"val_loss"``, ``"val_metric"``).
        numbers, states: Each kept trial's number and state name.
        labels: Each kept trial's diagnosis label from the ``labels`` given, else None.
        steps: Each curve's steps: the reported steps, or ``1, 2, ...`` (epochs trained) for
            a training record's curve, as the trainer reports epoch ``e`` at step
            ``e + 1``.
        values: Each curve's values, None where not finite (a gap in the line).
        n_left_out: Trials with a curve that were not kept (beyond ``max_lines``).
        n_without_curve: Trials with no such curve (e.g. failed before the first epoch).
        direction: ``"minimize"`` or ``"maximize"``.
    """

    key: str | None
    numbers: list[int]
    states: list[str]
    labels: list[str | None]
    steps: list[list[int]]
    values: list[list[float | None]]
    n_left_out: int
    n_without_curve: int
    direction: str


def _finite_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _label_text(label: object) -> str | None:
    """Return a label as text: an enum member (e.g. a diagnosis ``Pathology``) by its value."""
    if label is None:
        return None
    if isinstance(label, enum.Enum):
        label = label.value
    return str(label)


def _curve(trial: FrozenTrial, key: str | None) -> tuple[list[int], list[float | None]]:
    if key is None:
        steps = sorted(trial.intermediate_values)
        return steps, [_finite_or_none(trial.intermediate_values[s]) for s in steps]
    record = read_record(trial)
    values = record.curve(key) if record is not None else ()
    return list(range(1, len(values) + 1)), list(values)


def _has_curve(trial: FrozenTrial, key: str | None) -> bool:
    if key is None:
        return bool(trial.intermediate_values)
    record = read_record(trial)
    return record is not None and len(record.curve(key)) > 0


def select_lines(
    trials: Sequence[FrozenTrial], max_lines: int, direction: StudyDirection
) -> list[FrozenTrial]:
    """Return at most ``max_lines`` trials: the best half by value, then an even sample of the
    rest by number (so early, late, pruned and failed trials all stay in view)."""
    if len(trials) <= max_lines:
        return list(trials)
    sign = 1.0 if direction is StudyDirection.MINIMIZE else -1.0
    scored = [(sign * v, t.number, t) for t in trials if (v := finite_value(t)) is not None]
    scored.sort(key=lambda row: (row[0], row[1]))
    best = [t for _, _, t in scored[: max_lines // 2]]
    chosen = {t.number for t in best}
    rest = [t for t in trials if t.number not in chosen]
    n_sample = max_lines - len(best)
    picks = np.unique(np.linspace(0, len(rest) - 1, n_sample).round().astype(int))
    kept = best + [rest[i] for i in picks]
    return sorted(kept, key=lambda t: t.number)


def curves_data(
    source: StudyOrTrials,
    key: str | None = None,
    *,
    labels: Mapping[int, str] | None = None,
    max_lines: int = 200,
    direction: str | StudyDirection | None = None,
) -> CurvesData:
    """Return one learning curve per trial, at most ``max_lines`` of them.

    ``key=None`` takes the intermediate values each trial reported; a curve of the trial's
    training record (``"train_loss"``, ``"val_loss"``, ``"val_metric"``, as
    :mod:`hyperknob.nn` records them) takes that curve.
    ``labels`` maps trial numbers to a diagnosis label (e.g. ``"overfitting"``; an enum
    member counts as its value). Past
    ``max_lines``, the best half of ``max_lines`` trials by value and an even sample of the
    others are kept; ``n_left_out`` says how many were not.

    Example:
        >>> data = curves_data([], key="val_metric")
        >>> data.numbers, data.n_left_out
        ([], 0)
    """
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a str or None, got key={key!r}")
    if not isinstance(max_lines, int) or isinstance(max_lines, bool) or max_lines < 1:
        raise ValueError(f"max_lines must be an int >= 1, got max_lines={max_lines!r}")
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(f"labels must map trial numbers to label strings, got {labels!r}")
    trials = trials_of(source)
    sense = direction_of(source, direction)
    with_curve = [t for t in trials if _has_curve(t, key)]
    kept = select_lines(with_curve, max_lines, sense)
    curves = [_curve(t, key) for t in kept]
    found = labels or {}
    return CurvesData(
        key=key, numbers=[t.number for t in kept], states=[t.state.name for t in kept],
        labels=[_label_text(found.get(t.number)) for t in kept],
        steps=[s for s, _ in curves], values=[v for _, v in curves],
        n_left_out=len(with_curve) - len(kept), n_without_curve=len(trials) - len(with_curve),
        direction=sense.name.lower())
