"""The trained models of ``benchmarks/pruning.py`` and the bookkeeping of epochs spent.

Problems (validation loss -- cross-entropy -- minimized: it moves continuously where accuracy
moves by one validation example; every epoch reported as step = epochs trained):

- ``torch-<dataset>``: ``hyperknob.nn.NeuralNetworkObjective`` on a built-in dataset with the
  default space capped at ``MAX_EPOCHS`` (epochs searched in [10, 27], early stopping after 10
  epochs without a better validation loss), training seed 0;
- ``sklearn-digits``: scikit-learn's ``MLPClassifier`` (adam) trained epoch by epoch with
  ``partial_fit`` on the same digits split, 5 knobs (width, alpha, initial learning rate,
  batch size, epochs in [10, 27]).

A trial's value is its lowest validation loss. Cost: one epoch on ``r`` training rows costs
``r / n_full`` epochs (the progressive strategy's first stage trains on fewer rows).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import hyperknob
from hyperknob import nn

MAX_EPOCHS = 27
TORCH_DATASETS = ("digits", "classification", "moons")
PROBLEMS = (*(f"torch-{d}" for d in TORCH_DATASETS), "sklearn-digits")


@dataclasses.dataclass
class Ledger:
    """Epochs spent so far (in full-data epochs) and the anytime record of a run."""

    budget: float
    spent: float = 0.0
    best: float = math.inf
    events: list[tuple[float, float, str]] = dataclasses.field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.budget

    def close_trial(self, state: str, value: float | None) -> None:
        """Record a finished trial: a COMPLETE trial's value can lower the best so far."""
        if state == "COMPLETE" and value is not None and math.isfinite(value):
            self.best = min(self.best, value)
        self.events.append((self.spent, self.best, state))


class Counted:
    """A trial (hyperknob's or Optuna's) whose reports charge the ledger, one epoch each.

    ``prior=`` arguments are dropped for Optuna (its API has none); ``set_user_attr`` goes
    to Optuna's trial as well. hyperknob's ``TrialPruned`` is what the objectives raise; the
    Optuna runner turns it into Optuna's.
    """

    def __init__(self, trial: Any, ledger: Ledger, cost: float, optuna: bool) -> None:
        self._trial, self._ledger, self._cost, self._optuna = trial, ledger, cost, optuna

    def report(self, value: float, step: int) -> None:
        self._ledger.spent += self._cost
        self._trial.report(value, step)

    def should_prune(self) -> bool:
        return bool(self._trial.should_prune())

    def set_user_attr(self, key: str, value: Any) -> None:
        self._trial.set_user_attr(key, value)

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False,
                      step: float | None = None, prior: Any = None) -> float:
        if self._optuna:
            return float(self._trial.suggest_float(name, low, high, log=log, step=step))
        return float(self._trial.suggest_float(name, low, high, log=log, step=step,
                                               prior=prior))

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False, step: int = 1,
                    prior: Any = None) -> int:
        if self._optuna:
            return int(self._trial.suggest_int(name, low, high, log=log, step=step))
        return int(self._trial.suggest_int(name, low, high, log=log, step=step, prior=prior))

    def suggest_categorical(self, name: str, choices: Any, *, prior: Any = None) -> Any:
        if self._optuna:
            return self._trial.suggest_categorical(name, list(choices))
        return self._trial.suggest_categorical(name, choices, prior=prior)


def load(problem: str) -> nn.Dataset:
    """Return the dataset of a problem (split under seed 0)."""
    return nn.load_dataset(problem.split("-", 1)[1], seed=0)


def torch_job(data: nn.Dataset, space: nn.SearchSpace | None = None) -> Callable[[Any], float]:
    """Return the torch MLP objective on ``data`` (default space capped at MAX_EPOCHS)."""
    space = space or nn.default_space(data.n_features, data.n_train, max_epochs=MAX_EPOCHS)
    return nn.NeuralNetworkObjective(data, space, seed=0, log=lambda _: None, target="loss")


def sklearn_job(data: nn.Dataset) -> Callable[[Any], float]:
    """Return scikit-learn's MLPClassifier trained epoch by epoch with ``partial_fit``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    classes = np.arange(int(data.n_classes or 2))

    def objective(trial: Any) -> float:
        width = trial.suggest_int("hidden_layer_sizes", 16, 256, log=True)
        alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        rate = trial.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True)
        batch = trial.suggest_categorical("batch_size", (32, 64, 128))
        epochs = trial.suggest_int("epochs", 10, MAX_EPOCHS, log=True)
        model = MLPClassifier(hidden_layer_sizes=(width,), alpha=alpha, batch_size=batch,
                              learning_rate_init=rate, random_state=0)
        best = math.inf
        for epoch in range(1, epochs + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(data.x_train, data.y_train, classes=classes)
            loss = float(log_loss(data.y_val, model.predict_proba(data.x_val), labels=classes))
            best = min(best, loss)
            trial.report(loss, epoch)
            if trial.should_prune():
                raise hyperknob.TrialPruned()
        return best

    return objective


def make_job(problem: str, data: nn.Dataset,
             space: nn.SearchSpace | None = None) -> Callable[[Any], float]:
    """Return the objective of ``problem`` trained on ``data`` (maybe a lower fidelity)."""
    if problem.startswith("torch-"):
        return torch_job(data, space)
    if problem == "sklearn-digits":
        return sklearn_job(data)
    raise ValueError(f"unknown problem {problem!r}; expected one of {PROBLEMS}")
