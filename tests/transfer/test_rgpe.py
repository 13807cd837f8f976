"""RGPE: ranking losses, leave-one-out draws, weights, and the GP with transfer sources."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import hyperknob
from hyperknob.samplers import BaseSampler, GPSampler
from hyperknob.samplers.gp._gp import condition, fit_hyperparameters, posterior
from hyperknob.samplers.gp._rgpe import (
    leave_one_out_draws,
    ranking_losses,
    rgpe_weights,
)
from hyperknob.testing import SamplerContract
from hyperknob.transfer import Source


def test_ranking_losses_count_misordered_pairs() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal(7)
    draws = rng.standard_normal((5, 7))
    expected = [sum((d[i] < d[j]) != (y[i] < y[j]) for i, j in itertools.combinations(range(7), 2))
                for d in draws]
    assert ranking_losses(draws, y).tolist() == expected
    assert ranking_losses(y[None], y).tolist() == [0]
    assert ranking_losses(-y[None], y).tolist() == [21]


def test_leave_one_out_matches_refitting_without_the_point() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.random((9, 2)), rng.standard_normal(9)
    theta = np.array([np.log(0.4), np.log(0.6), 0.0, np.log(1e-2)])
    model = condition(theta, x, y)
    draws = leave_one_out_draws(model, y, np.random.default_rng(0), n_draws=20000)
    for i in range(9):
        keep = np.arange(9) != i
        mean, var = posterior(condition(theta, x[keep], y[keep]), x[i:i + 1])
        noise = float(np.exp(theta[-1]))
        assert draws[:, i].mean() == pytest.approx(mean[0], abs=0.03)
        assert draws[:, i].var() == pytest.approx(var[0] + noise, rel=0.05)


def _fit(x: np.ndarray, y: np.ndarray, seed: int) -> object:
    theta = fit_hyperparameters(x, y, np.random.default_rng(seed))
    return condition(theta, x, y)


def test_weights_favour_the_source_that_ranks_the_new_data_right() -> None:
    rng = np.random.default_rng(2)
    xs = rng.random((40, 1))
    related = _fit(xs, (xs[:, 0] - 0.3) ** 2, 0)          # the same bowl
    opposite = _fit(xs, -(xs[:, 0] - 0.3) ** 2, 1)        # its mirror image
    x = rng.random((8, 1))
    y = (x[:, 0] - 0.3) ** 2
    y = (y - y.mean()) / y.std()
    target = condition(np.array([np.log(0.5), 0.0, np.log(1e-4)]), x, y)
    weights = rgpe_weights([related, opposite], target, x, y,  # type: ignore[list-item]
                           np.random.default_rng(0))
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.5 and weights[1] == 0.0  # the mirror image is dropped outright


def _bowl(shift: float) -> object:
    def objective(trial: hyperknob.Trial) -> float:
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
        return (x - shift) ** 2 + (y - 1) ** 2
    return objective


def _source(shift: float) -> Source:
    study = hyperknob.create_study(sampler=GPSampler(seed=0, n_candidates=256))
    study.optimize(_bowl(shift), n_trials=25)  # type: ignore[arg-type]
    return Source.from_study(study)


def test_a_related_source_speeds_the_search_and_a_misleading_one_is_weighed_down() -> None:
    related, misleading = _source(2.0), _source(-4.0)
    gaps = {}
    for name, sources in (("none", []), ("related", [related]), ("misleading", [misleading])):
        best = []
        for seed in range(3):
            study = hyperknob.create_study(sampler=GPSampler(
                seed=seed, n_candidates=256, transfer=sources))
            study.optimize(_bowl(2.3), n_trials=10)  # type: ignore[arg-type]
            best.append(study.best_value)
            weights = [t.system_attrs.get("transfer_weights") for t in study.trials]
            if name == "misleading":  # by the last trials it barely counts
                assert weights[-1] is not None and weights[-1][misleading.name] < 0.2
        gaps[name] = float(np.median(best))
    assert gaps["related"] < 0.5 * gaps["none"], gaps
    assert gaps["misleading"] < 2.0 * gaps["none"] + 0.05, gaps


def test_transfer_takes_sources_only() -> None:
    with pytest.raises(TypeError, match=r"hyperknob\.transfer\.Source"):
        GPSampler(transfer=["wine-mlp"])  # type: ignore[list-item]


class TestGPTransferContract(SamplerContract):
    """GPSampler with a transfer source behaves as a sampler must."""

    max_examples = 5
    source: Source | None = None

    def make_sampler(self, seed: int | None) -> BaseSampler:
        if TestGPTransferContract.source is None:
            TestGPTransferContract.source = _source(1.0)
        return GPSampler(seed=seed, n_candidates=128, n_restarts=1, constant_liar=False,
                         transfer=[TestGPTransferContract.source])
