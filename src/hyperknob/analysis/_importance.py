"""Which hyperparameters mattered in a study: fANOVA and PED-ANOVA behind one function."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperknob.analysis._encoding import Table, encode
from hyperknob.analysis._fanova import fanova
from hyperknob.analysis._ped_anova import ped_anova
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study import Study

EVALUATORS = ("fanova", "ped_anova")


@dataclasses.dataclass(frozen=True)
class Importance:
    """Importances of a study's parameters, largest first.

    Attributes:
        importances: Parameter -> importance; normalized to sum to 1 (when any is non-zero).
        raw: Parameter -> the evaluator's own number: fANOVA's share of the variance its main
            effect explains; PED-ANOVA's Pearson divergence.
        spread: fANOVA: parameter -> standard deviation of its share over the trees; PED-ANOVA:
            empty.
        evaluator: ``"fanova"`` or ``"ped_anova"``.
        n_trials: The COMPLETE trials used.
        explained: fANOVA: the share of the variance all main effects explain together (the
            rest is interactions); PED-ANOVA: None.
    """

    importances: dict[str, float]
    raw: dict[str, float]
    spread: dict[str, float]
    evaluator: str
    n_trials: int
    explained: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready record."""
        return dataclasses.asdict(self)


def _trials(study_or_trials: Study | Sequence[FrozenTrial]) -> tuple[list[FrozenTrial], bool]:
    """Return the trials and whether lower is better; a study with several objectives is
    read on its first one."""
    if isinstance(study_or_trials, Sequence):
        return list(study_or_trials), True
    from hyperknob._losses import objective_trials

    trials = study_or_trials.trials
    if study_or_trials.is_multi_objective():
        trials = objective_trials(trials, 0)
    return trials, study_or_trials.directions[0].name == "MINIMIZE"


def param_importances(
    study_or_trials: Study | Sequence[FrozenTrial],
    *,
    evaluator: str = "fanova",
    params: Sequence[str] | None = None,
    seed: int = 0,
    n_trees: int = 64,
    quantile: float = 0.1,
    minimize: bool | None = None,
) -> Importance:
    """Return the importance of each parameter of a study (its COMPLETE trials).

    ``evaluator="fanova"``: the share of the value's variance each parameter's main effect
    explains, from a random forest ([H14], needs scikit-learn); ``"ped_anova"``: how much the
    best ``quantile`` of trials crowd a parameter's range compared with all trials ([W23b];
    fast, no model). Conditional parameters count "not set" as one more value. References in
    ``_fanova`` and ``_ped_anova``.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(seed=0)
        >>> study.optimize(lambda t: 10 * t.suggest_float("x", 0, 1)
        ...                + t.suggest_float("y", 0, 1), n_trials=60)
        >>> result = param_importances(study, evaluator="ped_anova")
        >>> list(result.importances)[0]
        'x'
    """
    if evaluator not in EVALUATORS:
        raise ValueError(f"evaluator must be one of {EVALUATORS}, got {evaluator!r}")
    trials, study_minimizes = _trials(study_or_trials)
    table: Table = encode(trials, params)
    n = len(table.y)
    if n < 2:
        raise ValueError(f"importance needs at least 2 COMPLETE trials with a finite value, "
                         f"got {n}")
    names = [c.name for c in table.columns]
    explained: float | None = None
    spread: dict[str, float] = {}
    if evaluator == "fanova":
        raw, std, explained = fanova(table, n_trees=n_trees, seed=seed)
        spread = {name: float(s) for name, s in zip(names, std, strict=True)}
    else:
        raw = ped_anova(table, quantile=quantile,
                        minimize=study_minimizes if minimize is None else minimize)
    total = float(np.sum(raw))
    normalized = raw / total if total > 0 else np.zeros(len(raw))
    order = sorted(range(len(names)), key=lambda i: (-normalized[i], names[i]))
    return Importance(
        importances={names[i]: float(normalized[i]) for i in order},
        raw={names[i]: float(raw[i]) for i in order},
        spread={names[i]: spread[names[i]] for i in order} if spread else {},
        evaluator=evaluator, n_trials=n, explained=explained)
