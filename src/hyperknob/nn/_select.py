"""Model selection after a search: which configuration (or few) becomes the final network.

A small validation split cannot tell close configurations apart: on digits 270 rows make one
row 0.0037 of accuracy, and the best validation score is an optimistic, noisy pick. Three
remedies, each optional and measured in ``benchmarks/tune.py``:

- **reseed**: the top few configurations by validation are trained again with other seeds
  and ranked by their mean validation metric (then mean validation loss);
- **refit on train + validation**: the chosen configuration is trained once more on both
  splits for the epochs its validation run needed (no validation rows are left to stop it);
- **ensemble**: the final model averages the predictions (class probabilities, or values) of
  the top configurations.

The test split is never read here: :func:`finalize` selects on training and validation rows
only; the caller scores the result on test once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from hyperknob._checks import check_int
from hyperknob._training_record import read_record
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._data import Dataset, Task
from hyperknob.nn._train import TrainResult, train

if TYPE_CHECKING:
    from hyperknob.trial import FrozenTrial

SELECTIONS = ("validation", "reseed")
REFITS = ("train", "train+val")


class Ensemble(nn.Module):
    """Average several trained MLPs: the mean class probability (returned as its log, so that
    ``argmax`` and cross-entropy read it as logits) or the mean regression output."""

    def __init__(self, members: Sequence[nn.Module], *, classify: bool) -> None:
        super().__init__()
        if not members:
            raise ValueError("an Ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.classify = classify

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = torch.stack([member(x) for member in self.members])
        if self.classify:
            return torch.log(torch.softmax(outs, dim=-1).mean(dim=0).clamp_min(1e-12))
        return outs.mean(dim=0)


@dataclasses.dataclass(frozen=True)
class Final:
    """The outcome of :func:`finalize`: the model to score on test and how it was chosen."""

    model: nn.Module
    configs: tuple[MLPConfig, ...]
    trial_numbers: tuple[int, ...]
    validation: float  # the chosen configuration's validation metric (mean over seeds if reseeded)
    description: str
    epochs: int  # epochs trained by the selection itself (reseeds and refits)


def train_and_val(data: Dataset) -> Dataset:
    """Return ``data`` with the validation rows added to the training rows (validation kept
    as it is, now in-sample: it only logs the refit's curve)."""
    return dataclasses.replace(
        data, name=f"{data.name}[train+val]",
        x_train=np.concatenate([data.x_train, data.x_val]),
        y_train=np.concatenate([data.y_train, data.y_val]))


class Fits:
    """Train configurations on demand and remember them: ``(trial, seed, refit)`` is trained
    once, however many selection rules ask for it (the benchmark compares several)."""

    def __init__(self, data: Dataset, *, seed: int, device: str = "cpu") -> None:
        self.data = data
        self.seed = seed
        self.device = device
        self._merged: Dataset | None = None
        self._cache: dict[tuple[int, int, str], TrainResult] = {}
        self.epochs = 0  # epochs trained so far, for the cost the caller reports

    def get(self, trial: FrozenTrial, *, seed: int, refit: str = "train") -> TrainResult:
        """Return the config of ``trial`` trained with ``seed`` on train (``refit="train"``)
        or on train + validation for the epochs its run on train needed."""
        key = (trial.number, seed, refit)
        if key not in self._cache:
            config = config_of(trial)
            if config is None:
                raise ValueError(f"trial {trial.number} has no network configuration recorded")
            if refit == "train":
                result = train(config, self.data, seed=seed, device=self.device,
                               log=lambda _: None)
            else:
                run = self.get(trial, seed=seed)
                fixed = dataclasses.replace(config, epochs=run.best_epoch + 1, patience=None)
                if self._merged is None:
                    self._merged = train_and_val(self.data)
                result = train(fixed, self._merged, seed=seed, device=self.device,
                               log=lambda _: None, keep="last")
            self.epochs += len(result.history)
            self._cache[key] = result
        return self._cache[key]


def config_of(trial: FrozenTrial) -> MLPConfig | None:
    """Return the network configuration a trial's training record holds, if any."""
    record = read_record(trial)
    if record is None or record.config is None:
        return None
    return MLPConfig.from_dict(record.config)


def rank_key(result: TrainResult, classify: bool) -> tuple[float, float]:
    """Return a sort key of a training run, smaller is better: the best epoch's validation
    metric (accuracy negated), then its validation loss."""
    best = result.best
    metric = -best.val_metric if classify else best.val_metric
    return (metric if math.isfinite(metric) else math.inf,
            best.val_loss if math.isfinite(best.val_loss) else math.inf)


def candidates(trials: Sequence[FrozenTrial], k: int, *, maximize: bool) -> list[FrozenTrial]:
    """Return the ``k`` best COMPLETE trials with a network configuration, best first
    (ties on the value broken by the best epoch's validation loss)."""
    from hyperknob.trial import TrialState

    def key(trial: FrozenTrial) -> tuple[float, float]:
        value = float(trial.value if trial.value is not None else math.nan)
        record = read_record(trial)
        losses = [v for v in (record.curve("val_loss") if record else ()) if v is not None]
        loss = min(losses) if losses else math.inf
        return (-value if maximize else value, loss)

    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
            and math.isfinite(t.value) and config_of(t) is not None]
    return sorted(done, key=key)[:k]


def finalize(
    trials: Sequence[FrozenTrial],
    fits: Fits,
    *,
    maximize: bool,
    select: str = "validation",
    refit: str = "train",
    ensemble: int = 1,
    top: int = 3,
    extra_seeds: int = 2,
    log: Callable[[str], Any] | None = None,
) -> Final:
    """Choose the final model from a finished search (see the module's text).

    Args:
        trials: The study's trials.
        fits: Where trainings come from (and are remembered).
        maximize: Whether a larger validation metric is better (accuracy) or not (RMSE).
        select: ``"validation"`` (the best trial) or ``"reseed"`` (the ``top`` best, each
            trained with ``extra_seeds`` more seeds, ranked by the mean).
        refit: ``"train"`` (the trial's own network) or ``"train+val"``.
        ensemble: How many of the best configurations the final model averages (1: one model).
        top: How many trials ``"reseed"`` re-trains.
        extra_seeds: How many more seeds each of them gets.
        log: Where a line about the choice goes, or None.

    Raises:
        ValueError: For an unknown option, or when no trial completed.
    """
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got select={select!r}")
    if refit not in REFITS:
        raise ValueError(f"refit must be one of {REFITS}, got refit={refit!r}")
    for name, value, least in (("ensemble", ensemble, 1), ("top", top, 1),
                               ("extra_seeds", extra_seeds, 0)):
        check_int(name, value, least=least)
    classify = fits.data.task == Task.CLASSIFICATION
    pool = candidates(trials, max(top if select == "reseed" else 1, ensemble), maximize=maximize)
    if not pool:
        raise ValueError("no trial completed with a network configuration: nothing to select")
    seeds = [fits.seed] + [fits.seed + 1 + i for i in range(extra_seeds)]
    scores: dict[int, float] = {}
    if select == "reseed":
        ranked = []
        for trial in pool[:top]:
            runs = [fits.get(trial, seed=s) for s in seeds]
            keys = [rank_key(r, classify) for r in runs]
            mean = (float(np.mean([k[0] for k in keys])), float(np.mean([k[1] for k in keys])))
            scores[trial.number] = float(np.mean([r.best.val_metric for r in runs]))
            ranked.append((mean, trial.number, trial))
        ranked.sort(key=lambda item: (item[0], item[1]))
        order = [item[2] for item in ranked] + pool[top:]
    else:
        order = pool
    chosen = order[:ensemble]
    results = [fits.get(t, seed=fits.seed, refit=refit) for t in chosen]
    model: nn.Module = results[0].model if len(results) == 1 else Ensemble(
        [r.model for r in results], classify=classify)
    first = chosen[0]
    validation = scores.get(first.number, float(first.value or math.nan))
    how = ("the best trial by validation" if select == "validation" else
           f"the best of the top {min(top, len(pool))} by validation re-trained with "
           f"{len(seeds)} seeds (mean validation)")
    if ensemble > 1:
        how = (f"an ensemble of {len(chosen)} configurations (trials "
               f"{', '.join('#' + str(t.number) for t in chosen)}, averaged predictions), "
               f"ranked by {how.replace('the best trial by ', '').replace('the best of ', '')}")
    if refit == "train+val":
        how += "; refit on train + validation for the epochs each run needed"
    if log is not None:
        log(f"Model selection: {how}.")
    return Final(model=model, configs=tuple(r.config for r in results),
                 trial_numbers=tuple(t.number for t in chosen), validation=validation,
                 description=how, epochs=fits.epochs)
