"""The training record: what training one network left on its trial, as one typed value.

``hyperknob.nn`` stores it (:func:`store_record`) and analysis, viz and the CLI read it
(:func:`read_record`); nobody else spells the attribute keys. It lives outside ``nn`` so
that readers need no torch; ``hyperknob.nn`` re-exports it. On the trial it is kept as
flat user attributes (``config``, ``curves``, ``stop_reason``...), the layout studies have
always had, so older studies read back and ``trials_dataframe()`` columns stay the same.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hyperknob.trial._frozen import FrozenTrial

Curve = tuple[float | None, ...]  # one value per epoch; None where it was NaN or inf
CURVE_NAMES = ("train_loss", "val_loss", "val_metric")


class StopReason(str, enum.Enum):
    """Why a network stopped training. A ``str``: ``StopReason.DIVERGED == "diverged"``."""

    COMPLETED = "completed"  # trained every epoch it was given
    EARLY_STOPPING = "early_stopping"  # the validation loss stopped improving (patience)
    DIVERGED = "diverged"  # the training loss went NaN/inf or far above its start
    STOPPED = "stopped"  # the epoch hook asked to stop: a pruner's decision

    @classmethod
    def parse(cls, value: object) -> StopReason | None:
        """Return the reason ``value`` names, or None for anything else."""
        try:
            return cls(value)
        except ValueError:
            return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingRecord:
    """One trained configuration, as stored on its trial.

    ``curves`` maps ``train_loss``, ``val_loss``, ``val_metric`` to one value per epoch.
    Only the curves are required: a record written by another trainer, or by an older
    hyperknob, may lack the rest (None).

    ``knob_names`` says which of the trial's parameters (or ``config`` keys) plays each knob
    the diagnosis knows, for a model hyperknob did not build: ``{"learning_rate": "lr"}``
    makes the advice about a user's ``lr``. The MLP trainer leaves it None: its knobs carry
    the diagnosis' own names. ``initial_loss`` is the loss of the untrained model, where
    training started: the diagnosis measures the curves against it when it is known.
    """

    curves: Mapping[str, Curve]
    config: Mapping[str, Any] | None = None
    knob_names: Mapping[str, str] | None = None
    initial_loss: float | None = None
    stop_reason: StopReason | None = None
    stop_detail: str | None = None
    n_parameters: int | None = None
    best_epoch: int | None = None
    train_rows: int | None = None
    device: str | None = None
    seconds: float | None = None

    @property
    def epochs_run(self) -> int:
        """Return how many epochs were trained (the length of the longest curve)."""
        return max((len(c) for c in self.curves.values()), default=0)

    @property
    def hidden_layers(self) -> tuple[int, ...] | None:
        """Return the widths of the hidden layers, if the configuration is recorded."""
        layers = (self.config or {}).get("hidden_layers")
        if isinstance(layers, (list, tuple)) and all(isinstance(w, int) for w in layers):
            return tuple(layers)
        return None

    def curve(self, name: str) -> Curve:
        """Return one curve (empty when not recorded)."""
        return self.curves.get(name, ())


class _Writable(Protocol):
    def set_user_attr(self, key: str, value: Any) -> None: ...


def store_record(trial: _Writable, record: TrainingRecord) -> None:
    """Store ``record`` on a running trial (its user attributes)."""
    attrs: dict[str, Any] = {"curves": {name: [_finite(v) for v in values]
                                        for name, values in record.curves.items()}}
    if record.config is not None:
        attrs["config"] = dict(record.config)
        layers = record.hidden_layers
        if layers is not None:
            attrs["hidden_layers"] = list(layers)
        if "init" in record.config:
            attrs["init"] = record.config["init"]
    if record.knob_names is not None:
        attrs["knob_names"] = dict(record.knob_names)
    attrs["epochs_run"] = record.epochs_run
    for name in ("n_parameters", "best_epoch", "stop_detail", "train_rows", "device",
                 "seconds", "initial_loss"):
        value = getattr(record, name)
        if value is not None:
            attrs[name] = value
    if record.stop_reason is not None:
        attrs["stop_reason"] = record.stop_reason.value
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def read_record(trial: FrozenTrial) -> TrainingRecord | None:
    """Return the training record stored on ``trial``, or None if it has no curves.

    A trial pruned as diverged by an older trainer, which stored no ``stop_reason``, reads
    back with :attr:`StopReason.DIVERGED`.
    """
    attrs = trial.user_attrs
    raw = attrs.get("curves")
    if not isinstance(raw, Mapping):
        return None
    curves = {str(name): tuple(_number(v) for v in values) for name, values in raw.items()
              if isinstance(values, Sequence) and not isinstance(values, str)}
    reason = StopReason.parse(attrs.get("stop_reason"))
    pruned = trial.system_attrs.get("prune_reason")
    if reason is None and isinstance(pruned, str) and pruned.startswith("diverged"):
        reason = StopReason.DIVERGED
    config, names = attrs.get("config"), attrs.get("knob_names")
    return TrainingRecord(
        curves=curves, config=dict(config) if isinstance(config, Mapping) else None,
        knob_names={str(k): v for k, v in names.items() if isinstance(v, str)}
        if isinstance(names, Mapping) else None,
        stop_reason=reason, stop_detail=_typed(attrs.get("stop_detail"), str),
        n_parameters=_typed(attrs.get("n_parameters"), int),
        best_epoch=_typed(attrs.get("best_epoch"), int),
        train_rows=_typed(attrs.get("train_rows"), int),
        device=_typed(attrs.get("device"), str), seconds=_seconds(attrs.get("seconds")),
        initial_loss=_positive(attrs.get("initial_loss")))


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _typed(value: Any, kind: type) -> Any:
    if kind is int and isinstance(value, bool):
        return None
    return value if isinstance(value, kind) else None


def _seconds(value: Any) -> float | None:
    number = _number(value)
    return None if number is None or number < 0 else number


def _positive(value: Any) -> float | None:
    number = _number(value)
    return None if number is None or number <= 0 else number
