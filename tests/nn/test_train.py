"""The training loop: optimizers, schedules, L1/L2, determinism, divergence, early stopping."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from hyperknob.nn import MLPConfig, evaluate, train
from hyperknob.nn._model import build_mlp
from hyperknob.nn._train import make_optimizer, make_schedule, resolve_device


def test_learns_iris_and_reports_curves(iris) -> None:  # type: ignore[no-untyped-def]
    result = train(MLPConfig(hidden_layers=(16,), learning_rate=0.01, epochs=60), iris)
    curves = result.curves()
    assert len(curves["train_loss"]) == 60 == len(curves["val_metric"])
    assert curves["train_loss"][-1] < 0.5 * curves["train_loss"][0]
    assert result.best.val_metric >= 0.85
    assert result.best.val_metric == max(curves["val_metric"])
    assert evaluate(result.model, iris, "val") == pytest.approx(result.best.val_metric)
    assert evaluate(result.model, iris, "test") >= 0.8
    assert result.metric == "accuracy" and result.stop_reason == "completed"
    assert result.n_parameters == 4 * 16 + 16 + 16 * 3 + 3


def test_regression_reports_rmse_in_target_units(diabetes) -> None:  # type: ignore[no-untyped-def]
    result = train(MLPConfig(hidden_layers=(32,), learning_rate=0.01, epochs=40), diabetes)
    assert result.metric == "rmse"
    # Predicting the mean gives the target's standard deviation (~77 on diabetes); learn less.
    assert result.best.val_metric < 0.9 * diabetes.target_std
    assert evaluate(result.model, diabetes, "val") == pytest.approx(result.best.val_metric,
                                                                    rel=1e-5)


def test_same_seed_same_curve_and_other_seed_another(iris) -> None:  # type: ignore[no-untyped-def]
    config = MLPConfig(hidden_layers=(8, 8), dropout=0.2, batch_size=16, epochs=8)
    first = train(config, iris, seed=3).curves()
    again = train(config, iris, seed=3).curves()
    other = train(config, iris, seed=4).curves()
    assert first == again
    assert first["train_loss"] != other["train_loss"]


def test_sgd_momentum_nesterov_and_the_other_optimizers() -> None:
    model = build_mlp(MLPConfig(), 4, 2)
    sgd = make_optimizer(model, MLPConfig(optimizer="sgd", momentum=0.9, nesterov=True,
                                          learning_rate=0.05, l2=1e-3))
    assert isinstance(sgd, torch.optim.SGD)
    group = sgd.param_groups[0]
    assert (group["lr"], group["momentum"], group["nesterov"], group["weight_decay"]) == (
        0.05, 0.9, True, 1e-3)
    adam = make_optimizer(model, MLPConfig(optimizer="adam", beta1=0.8, beta2=0.99, l2=1e-4))
    assert isinstance(adam, torch.optim.Adam) and not isinstance(adam, torch.optim.AdamW)
    assert adam.param_groups[0]["betas"] == (0.8, 0.99)
    assert adam.param_groups[0]["weight_decay"] == 1e-4
    adamw = make_optimizer(model, MLPConfig(optimizer="adamw", l2=0.01))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["weight_decay"] == 0.01
    rms = make_optimizer(model, MLPConfig(optimizer="rmsprop", momentum=0.5))
    assert isinstance(rms, torch.optim.RMSprop) and rms.param_groups[0]["momentum"] == 0.5


def test_step_and_cosine_schedules_change_the_learning_rate(iris) -> None:  # type: ignore[no-untyped-def]
    step = train(MLPConfig(learning_rate=0.1, schedule="step", step_size=2, gamma=0.5,
                           epochs=6, optimizer="sgd"), iris)
    assert [r.learning_rate for r in step.history] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    cosine = train(MLPConfig(learning_rate=0.1, schedule="cosine", epochs=4,
                             optimizer="sgd"), iris)
    expected = [0.05 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert [r.learning_rate for r in cosine.history] == pytest.approx(expected)
    model = build_mlp(MLPConfig(), 4, 2)
    assert make_schedule(make_optimizer(model, MLPConfig()), MLPConfig()) is None


def _one_full_batch_step(data, l1: float, l2: float = 0.0):  # type: ignore[no-untyped-def]
    config = MLPConfig(hidden_layers=(5,), optimizer="sgd", learning_rate=0.1, l1=l1, l2=l2,
                       batch_size=10_000, epochs=1)
    return train(config, data, seed=7).model


def test_l1_term_adds_lr_times_l1_times_sign_w_to_each_step(iris) -> None:  # type: ignore[no-untyped-def]
    start = build_mlp(MLPConfig(hidden_layers=(5,)), 4, 3, seed=7)
    plain = _one_full_batch_step(iris, l1=0.0)
    sparse = _one_full_batch_step(iris, l1=0.05)
    for w0, a, b in zip(start.weight_matrices(), plain.weight_matrices(),
                        sparse.weight_matrices(), strict=True):
        assert torch.allclose(a - b, 0.1 * 0.05 * torch.sign(w0), atol=1e-6)
    assert torch.allclose(plain.hidden[0].bias, sparse.hidden[0].bias)  # biases not penalized


def test_l2_is_weight_decay_on_every_parameter(iris) -> None:  # type: ignore[no-untyped-def]
    start = build_mlp(MLPConfig(hidden_layers=(5,)), 4, 3, seed=7)
    plain = _one_full_batch_step(iris, l1=0.0)
    decayed = _one_full_batch_step(iris, l1=0.0, l2=0.1)
    w0, a, b = start.hidden[0].weight, plain.hidden[0].weight, decayed.hidden[0].weight
    assert torch.allclose(a - b, 0.1 * 0.1 * w0, atol=1e-6)


def test_too_large_learning_rate_diverges_and_says_so(iris) -> None:  # type: ignore[no-untyped-def]
    result = train(MLPConfig(optimizer="sgd", learning_rate=1e4, epochs=20), iris)
    assert result.stop_reason == "diverged"
    assert len(result.history) < 20
    assert "learning rate 10000" in result.stop_detail
    assert "not finite" in result.stop_detail or "starting value" in result.stop_detail


def test_early_stopping_after_patience(iris) -> None:  # type: ignore[no-untyped-def]
    config = MLPConfig(hidden_layers=(64,), learning_rate=0.05, epochs=300, patience=5)
    result = train(config, iris)
    assert result.stop_reason == "early_stopping"
    losses = [r.val_loss for r in result.history]
    best = int(np.argmin(losses))
    assert len(losses) == best + 1 + 5
    assert "did not improve for 5 epochs" in result.stop_detail


def test_on_epoch_hook_can_stop_training(iris) -> None:  # type: ignore[no-untyped-def]
    seen = []

    def hook(record):  # type: ignore[no-untyped-def]
        seen.append(record.epoch)
        return record.epoch == 2

    result = train(MLPConfig(epochs=10), iris, on_epoch=hook)
    assert seen == [0, 1, 2] and result.stop_reason == "stopped"


def test_log_every_prints_the_cost(iris) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    train(MLPConfig(batch_size=10, epochs=2), iris, log_every=5, log=lines.append)
    n_iterations = 2 * math.ceil(iris.n_train / 10)
    assert len(lines) == n_iterations // 5
    assert lines[0].startswith("epoch 0 iteration 5: cost ")
    with pytest.raises(ValueError, match="log_every must be an int >= 1"):
        train(MLPConfig(epochs=1), iris, log_every=0)


def test_best_epoch_weights_are_restored(iris) -> None:  # type: ignore[no-untyped-def]
    config = MLPConfig(hidden_layers=(32,), learning_rate=0.05, epochs=40)
    result = train(config, iris)
    assert evaluate(result.model, iris, "val") == pytest.approx(result.best.val_metric)
    short = dataclasses.replace(config, epochs=result.best_epoch + 1)
    again = train(short, iris)
    for a, b in zip(result.model.parameters(), again.model.parameters(), strict=True):
        assert torch.allclose(a, b)


def test_device_resolution() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("toaster")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
