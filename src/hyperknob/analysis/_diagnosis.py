"""Diagnosis of every neural-network trial from its curves, with evidence and a next step.

Each trial the MLP trainer ran keeps its per-epoch training loss, validation loss and
validation metric in its training record (:func:`hyperknob.nn.read_record`); so does a trial
of the user's own model recorded through :mod:`hyperknob.integration` (plain PyTorch,
Lightning, the Hugging Face Trainer), whose record also says which of its parameters is the
learning rate, the batch size... so that the advice names them.
:func:`diagnose_curves` reads them and names what they show -- diverged, unstable
(oscillating), too slow (still improving when it stopped), underfitting, overfitting or
healthy -- with the numbers that show it, the knobs
the article links to it (:data:`INFLUENCE`), and a next step. :func:`diagnose_trial` and
:func:`diagnose_study` draw that step from the study itself: "learning_rate 0.3 diverged;
every trial with learning_rate <= 0.03 trained smoothly (12 of 12) ...: cap learning_rate at
0.03 or below."

The rules and their thresholds live in :mod:`hyperknob.analysis._diagnosis_rules`; they were
tuned on, and are tested against, a labelled set of real training runs made to show each
pathology (``tests/analysis/data/labelled_runs.json``).

Example:
    >>> d = diagnose_curves([1.1, 0.5, 0.2, 0.1, 0.05, 0.02], [1.0, 0.6, 0.4, 0.5, 0.7, 0.9])
    >>> d.pathology.value, d.knobs[:3]
    ('overfitting', ('hidden_layers', 'l2', 'l1'))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperknob._training_record import TrainingRecord, read_record
from hyperknob.analysis._diagnosis_advice import (
    TrialFacts,
    advice_from_study,
    generic_advice,
    trial_facts,
)
from hyperknob.analysis._diagnosis_rules import (
    DIVERGENCE_FACTOR,
    INFLUENCE,
    OVERFIT_FLOOR,
    OVERFIT_RISE,
    OVERFIT_TRAIN_DROP,
    SLOW_FLOOR,
    SLOW_SHARE,
    SLOW_WINDOW,
    SWING_FLOOR,
    UNDERFIT_GAP,
    UNDERFIT_LEVEL,
    UNSTABLE_SWINGS,
    Pathology,
    judge_curves,
)
from hyperknob.trial._frozen import FrozenDict, FrozenTrial

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
    "Diagnosis",
    "Pathology",
    "diagnose_curves",
    "diagnose_study",
    "diagnose_trial",
]

Curve = Sequence[float | None]


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What a training curve shows, the numbers that show it, and what to change.

    ``evidence`` holds the finite numbers the rule used (losses, epochs, ratios), ``summary``
    says them in one sentence, ``knobs`` are the :class:`~hyperknob.nn.MLPConfig` fields the
    article links to the pathology, and ``advice`` is the next step (drawn from the study when
    one was given).

    Example:
        >>> d = diagnose_curves([1.0, 0.99, 0.98, 0.97], [1.0, 0.99, 0.98, 0.97])
        >>> d.pathology, d.knobs[0]
        (<Pathology.TOO_SLOW: 'too_slow'>, 'learning_rate')
    """

    pathology: Pathology
    evidence: Mapping[str, float]
    summary: str
    knobs: tuple[str, ...]
    advice: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "pathology", Pathology(self.pathology))
        object.__setattr__(self, "evidence", FrozenDict(
            {str(k): float(v) for k, v in self.evidence.items() if math.isfinite(float(v))}))
        object.__setattr__(self, "knobs", tuple(self.knobs))

    def __hash__(self) -> int:
        return hash((self.pathology, self.summary, self.knobs, self.advice))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready record."""
        return {"pathology": self.pathology.value, "evidence": dict(self.evidence),
                "summary": self.summary, "knobs": list(self.knobs), "advice": self.advice}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnosis:
        """Rebuild a diagnosis from :meth:`to_dict`'s output."""
        return cls(pathology=Pathology(data["pathology"]), evidence=dict(data["evidence"]),
                   summary=str(data["summary"]), knobs=tuple(data["knobs"]),
                   advice=str(data["advice"]))


def _metric_clause(val_metric: Curve | None, higher_is_better: bool,
                   evidence: dict[str, float]) -> str:
    values = [float(v) for v in val_metric or () if v is not None and math.isfinite(v)]
    if not values:
        return ""
    best = max(values) if higher_is_better else min(values)
    evidence.update(val_metric_best=best, val_metric_last=values[-1])
    return f" (best validation metric {best:.4g}, last {values[-1]:.4g})"


def diagnose_curves(
    train_loss: Curve,
    val_loss: Curve,
    val_metric: Curve | None = None,
    *,
    stop_reason: str | None = None,
    metric_higher_is_better: bool = True,
    chance_loss: float | None = None,
) -> Diagnosis:
    """Diagnose one training run from its per-epoch curves; pure and deterministic.

    Args:
        train_loss: Training loss per epoch; None, NaN or inf where it was not finite.
        val_loss: Validation loss per epoch (cross-entropy or mean squared error).
        val_metric: Validation metric per epoch (accuracy, or RMSE), reported as evidence.
        stop_reason: Why training ended, as the trainer says it: ``"completed"``,
            ``"early_stopping"``, ``"diverged"`` or ``"stopped"`` (a pruner).
        metric_higher_is_better: True for accuracy, False for RMSE.
        chance_loss: The loss of a model that learned nothing, when known:
            ``log(n_classes)`` for cross-entropy, 1.0 for the MSE of standardized targets.
            Without it the first epoch's training loss stands for it.

    Returns:
        The diagnosis, with generic advice (:func:`diagnose_trial` draws it from a study).

    Raises:
        ValueError: Both curves are empty.
    """
    verdict = judge_curves(train_loss, val_loss, stop_reason=stop_reason,
                           chance_loss=chance_loss)
    evidence = dict(verdict.evidence)
    summary = verdict.summary
    if verdict.pathology is not Pathology.DIVERGED:
        summary += _metric_clause(val_metric, metric_higher_is_better, evidence)
    return Diagnosis(verdict.pathology, evidence, summary + ".",
                     INFLUENCE[verdict.pathology],
                     generic_advice(verdict.pathology, evidence))


def _record(trial: FrozenTrial) -> TrainingRecord | None:
    """Return the trial's training record if it has a training or validation loss curve."""
    record = read_record(trial)
    if record is None or not (record.curve("train_loss") or record.curve("val_loss")):
        return None
    return record


def _metric_is_rmse(val_loss: Curve, val_metric: Curve) -> bool:
    """Tell RMSE from accuracy: the trainer's RMSE is sqrt(MSE) x the target's std, so
    metric**2 / loss is the same at every epoch; accuracy is at most 1."""
    pairs = [(float(m), float(v)) for m, v in zip(val_metric, val_loss, strict=False)
             if m is not None and v is not None and math.isfinite(m) and math.isfinite(v)
             and v > 0]
    if not pairs:
        return False
    if any(m > 1.0 for m, _ in pairs):
        return True
    ratios = np.array([m * m / v for m, v in pairs])
    return len(pairs) >= 2 and float(np.ptp(ratios)) <= 1e-3 * float(np.median(ratios))


def _base(trial: FrozenTrial, chance_loss: float | None,
          metric_higher_is_better: bool | None) -> Diagnosis | None:
    record = _record(trial)
    if record is None:
        return None
    train, val = list(record.curve("train_loss")), list(record.curve("val_loss"))
    metric = list(record.curve("val_metric"))
    higher = (not _metric_is_rmse(val, metric) if metric_higher_is_better is None
              else metric_higher_is_better)
    reason = None if record.stop_reason is None else record.stop_reason.value
    # The untrained model's loss, when the record has it, is where this run started.
    start = chance_loss if chance_loss is not None else record.initial_loss
    return diagnose_curves(train, val, metric, stop_reason=reason,
                           metric_higher_is_better=higher, chance_loss=start)


def _facts(trial: FrozenTrial, diagnosis: Diagnosis) -> TrialFacts:
    record = _record(trial)
    val = [float(v) for v in (record.curve("val_loss") if record else ())
           if v is not None and math.isfinite(v)]
    return trial_facts(trial.number, diagnosis.pathology, record.config if record else None,
                       trial.params, min(val) if val else None,
                       record.knob_names if record else None)


def diagnose_trial(
    trial: FrozenTrial,
    trials: Sequence[FrozenTrial] = (),
    *,
    chance_loss: float | None = None,
    metric_higher_is_better: bool | None = None,
) -> Diagnosis | None:
    """Diagnose a trial from its curves: one of :class:`~hyperknob.nn.NeuralNetworkObjective`,
    or one of a user's model that :mod:`hyperknob.integration` recorded.

    The advice is drawn from ``trials`` (the study's trials; the trial itself may be among
    them) when enough of them are comparable, e.g. for a diverged trial the largest learning
    rate below which every trial converged. ``metric_higher_is_better`` is inferred from the
    curves when None (the trainer's RMSE is sqrt(MSE) times the target's scale). Without
    ``chance_loss`` a trial is measured against the untrained model's loss its record keeps
    (``initial_loss``), else against its first epoch's training loss.

    Returns:
        The diagnosis, or None for a trial without curves (no training record, or one that
        failed before its first epoch).

    Example:
        >>> import hyperknob
        >>> t = hyperknob.FrozenTrial(number=0, trial_id=0, state=hyperknob.TrialState.PRUNED,
        ...     user_attrs={"curves": {"train_loss": [2.2, 9e4], "val_loss": [2.0, None],
        ...                            "val_metric": [0.3, None]}, "stop_reason": "diverged"})
        >>> diagnose_trial(t).pathology.value
        'diverged'
    """
    diagnosis = _base(trial, chance_loss, metric_higher_is_better)
    if diagnosis is None:
        return None
    others = []
    for other in trials:
        if other.number == trial.number:
            continue
        base = _base(other, chance_loss, metric_higher_is_better)
        if base is not None:
            others.append(_facts(other, base))
    advice = advice_from_study(_facts(trial, diagnosis), others, diagnosis.evidence)
    return dataclasses.replace(diagnosis, advice=advice)


def diagnose_study(
    trials: Sequence[FrozenTrial],
    *,
    chance_loss: float | None = None,
    metric_higher_is_better: bool | None = None,
) -> dict[int, Diagnosis]:
    """Diagnose every trial that has curves; return trial number -> diagnosis.

    Each trial's advice is drawn from all the others (see :func:`diagnose_trial`); every
    curve is read once.
    """
    bases = {t.number: (t, d) for t in trials
             if (d := _base(t, chance_loss, metric_higher_is_better)) is not None}
    facts = {number: _facts(t, d) for number, (t, d) in bases.items()}
    everyone = list(facts.values())
    return {number: dataclasses.replace(
        d, advice=advice_from_study(facts[number], everyone, d.evidence))
        for number, (_, d) in sorted(bases.items())}
