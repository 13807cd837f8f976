"""Model selection: the ensemble's arithmetic, the refit on train + validation, the ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import hyperknob
from hyperknob import nn
from hyperknob.nn._select import Fits, candidates, finalize, train_and_val
from hyperknob.trial import FrozenTrial


class Fixed(torch.nn.Module):
    def __init__(self, out: list[float]) -> None:
        super().__init__()
        self.out = torch.tensor(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out.expand(x.shape[0], -1)


def test_an_ensemble_averages_probabilities_not_logits() -> None:
    a, b = Fixed([10.0, 0.0]), Fixed([0.0, 0.1])  # a is sure of class 0, b barely prefers 1
    out = nn.Ensemble([a, b], classify=True)(torch.zeros(3, 2))
    mean = (torch.softmax(a.out, 0) + torch.softmax(b.out, 0)) / 2
    assert torch.allclose(out[0].exp(), mean) and int(out[0].argmax()) == 0
    assert torch.allclose(nn.Ensemble([Fixed([1.0]), Fixed([3.0])], classify=False)(
        torch.zeros(2, 1)), torch.full((2, 1), 2.0))
    with pytest.raises(ValueError, match="at least one member"):
        nn.Ensemble([], classify=False)


def test_train_keep_last_returns_the_last_epochs_weights() -> None:
    data = nn.load_dataset("iris", seed=0)
    config = nn.MLPConfig(hidden_layers=(8,), epochs=6, learning_rate=0.05)
    last = nn.train(config, data, seed=0, keep="last", log=lambda _: None)
    assert last.best_epoch == len(last.history) - 1 == 5
    assert nn.evaluate(last.model, data, "val") == pytest.approx(last.history[-1].val_metric)
    with pytest.raises(ValueError, match="keep='first'"):
        nn.train(config, data, keep="first")


def test_train_and_val_adds_the_validation_rows() -> None:
    data = nn.load_dataset("iris", seed=0)
    merged = train_and_val(data)
    assert merged.n_train == data.n_train + data.x_val.shape[0]
    assert np.array_equal(merged.x_test, data.x_test)  # test untouched


def _study(values: list[float]) -> list[FrozenTrial]:
    trials = []
    for i, value in enumerate(values):
        config = nn.MLPConfig(hidden_layers=(4 + i,), epochs=5, learning_rate=0.05).to_dict()
        trials.append(FrozenTrial(i, i, hyperknob.TrialState.COMPLETE, value,
                                  user_attrs={"config": config,
                                              "curves": {"val_loss": [1.0 - value]}}))
    return trials


def test_candidates_rank_by_value_then_validation_loss() -> None:
    trials = _study([0.5, 0.9, 0.7, 0.9])
    assert [t.number for t in candidates(trials, 3, maximize=True)] == [1, 3, 2]
    assert [t.number for t in candidates(trials, 2, maximize=False)] == [0, 2]


def test_refit_trains_for_the_epochs_its_run_needed_on_more_rows() -> None:
    data = nn.load_dataset("iris", seed=0)
    trials = _study([0.9])
    fits = Fits(data, seed=0)
    run = fits.get(trials[0], seed=0)
    refit = fits.get(trials[0], seed=0, refit="train+val")
    assert len(refit.history) == run.best_epoch + 1 and refit.config.patience is None
    assert fits.epochs == len(run.history) + len(refit.history)
    assert fits.get(trials[0], seed=0, refit="train+val") is refit  # remembered
    final = finalize(trials, fits, maximize=True, refit="train+val")
    assert final.model is refit.model and "train + validation" in final.description


def test_reseed_ranks_by_the_mean_over_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    trials = _study([0.9, 0.8, 0.7])
    data = nn.load_dataset("iris", seed=0)
    # trial 0 is lucky on its own seed only; trial 1 is good on every seed
    table = {(0, 0): 0.9, (0, 1): 0.5, (0, 2): 0.5, (1, 0): 0.8, (1, 1): 0.8, (1, 2): 0.8,
             (2, 0): 0.7, (2, 1): 0.7, (2, 2): 0.7}

    class Planted(Fits):
        def get(self, trial: Any, *, seed: int, refit: str = "train") -> Any:
            result = super().get(trial, seed=0, refit=refit)
            record = result.best.__class__(**{**result.best.__dict__,
                                              "val_metric": table[(trial.number, seed)]})
            history = list(result.history)
            history[result.best_epoch] = record
            return result.__class__(**{**result.__dict__, "history": tuple(history)})

    fits = Planted(data, seed=0)
    final = finalize(trials, fits, maximize=True, select="reseed")
    assert final.trial_numbers == (1,) and final.validation == pytest.approx(0.8)
    plain = finalize(trials, fits, maximize=True, select="validation")
    assert plain.trial_numbers == (0,)


@pytest.mark.parametrize(("options", "named"), [
    ({"select": "x"}, "select='x'"), ({"refit": "x"}, "refit='x'"),
    ({"ensemble": 0}, "ensemble=0"), ({"top": 0}, "top=0"), ({"extra_seeds": -1},
                                                             "extra_seeds=-1"),
])
def test_finalize_names_a_bad_option(options: dict[str, Any], named: str) -> None:
    fits = Fits(nn.load_dataset("iris", seed=0), seed=0)
    with pytest.raises(ValueError, match=named):
        finalize(_study([0.9]), fits, maximize=True, **options)
    with pytest.raises(ValueError, match="nothing to select"):
        finalize([], fits, maximize=True)
