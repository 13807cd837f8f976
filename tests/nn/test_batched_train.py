"""Batched training equals K sequential ``train`` runs; padding is exact; updates match torch."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from hyperknob.nn import MLPConfig, evaluate, train, train_batched
from hyperknob.nn import _batched_model as stacked
from hyperknob.nn._batched_optim import BatchedOptimizer, learning_rates
from hyperknob.nn._batched_train import _epoch, _Model, _sort_key, _Stack
from hyperknob.nn._train import EpochRecord, make_optimizer

# benchmarks/batched_gpu.sh runs this file on CUDA too (no dropout there: CUDA's sequential
# dropout draws come from another generator).
DEVICE = os.environ.get("HYPERKNOB_TEST_DEVICE", "cpu")
# Batched matrix products sum in another order than nn.Linear's: the last bits differ, and Adam
# turns a rounding-sized change of a near-zero gradient into a step of ~lr; over a dozen epochs
# the curves drift apart by ~1e-5 relative (measured: <= 1.3e-5 on this mix).
RELATIVE = 2e-5 if DEVICE == "cpu" else 1e-3


MIX = [  # widths differ (padding), batch sizes differ, every optimizer and regularizer
    MLPConfig(hidden_layers=(16,), epochs=6, learning_rate=0.01, batch_size=16),
    MLPConfig(hidden_layers=(8,), epochs=5, learning_rate=0.01, batch_size=32, dropout=0.3),
    MLPConfig(hidden_layers=(12,), epochs=6, optimizer="sgd", momentum=0.9, nesterov=True,
              learning_rate=0.05, l2=1e-3, schedule="step", step_size=2, gamma=0.5),
    MLPConfig(hidden_layers=(10,), epochs=6, optimizer="sgd", learning_rate=0.1, l1=1e-3,
              batch_size=20),
    MLPConfig(hidden_layers=(16,), epochs=6, optimizer="adamw", learning_rate=0.01, l2=0.1,
              schedule="cosine", dropout=0.2, batch_size=7),
    MLPConfig(hidden_layers=(5,), epochs=6, optimizer="rmsprop", learning_rate=0.01,
              momentum=0.5, l2=1e-3),
    MLPConfig(hidden_layers=(9,), epochs=6, optimizer="rmsprop", learning_rate=0.003,
              init="xavier_normal", activation="relu"),
    MLPConfig(hidden_layers=(9,), epochs=6, optimizer="adam", learning_rate=0.003, l2=1e-2,
              init="he_normal", l1=1e-4),
    MLPConfig(hidden_layers=(9,), epochs=6, optimizer="sgd", learning_rate=50.0),  # diverges
    MLPConfig(hidden_layers=(8, 4), epochs=6, activation="tanh", dropout=0.1, batch_size=24),
    MLPConfig(hidden_layers=(6, 11), epochs=6, activation="tanh", optimizer="sgd",
              momentum=0.5, learning_rate=0.05),
    MLPConfig(hidden_layers=(16,), epochs=12, learning_rate=0.3, optimizer="sgd", patience=1,
              batch_size=16),  # stops early
    MLPConfig(hidden_layers=(7,), epochs=8, activation="sigmoid", learning_rate=0.02),
    MLPConfig(hidden_layers=(14,), epochs=8, activation="sigmoid", learning_rate=0.02,
              batch_size=128),
]
PRUNED = 1  # on_epoch stops this model after its third epoch in both runs


def _hook(index: int) -> object:
    def on_epoch(record: EpochRecord) -> bool:
        return index == PRUNED and record.epoch == 2
    return on_epoch


def _assert_close(first: float, second: float, what: str) -> None:
    if math.isnan(first) and math.isnan(second):
        return
    assert abs(first - second) <= RELATIVE * max(abs(first), 1e-3), (what, first, second)


def _mix() -> list[MLPConfig]:
    if DEVICE == "cpu":
        return MIX
    return [MLPConfig.from_dict({**c.to_dict(), "dropout": 0.0}) for c in MIX]


def test_batched_run_equals_sequential_runs(iris) -> None:  # type: ignore[no-untyped-def]
    configs = _mix()
    seeds = list(range(len(configs)))
    batched = train_batched(configs, iris, seed=seeds, device=DEVICE,
                            on_epoch=lambda i, record: _hook(i)(record))  # type: ignore[operator]
    for index, (config, result) in enumerate(zip(configs, batched, strict=True)):
        alone = train(config, iris, seed=seeds[index], device=DEVICE,
                      on_epoch=_hook(index))  # type: ignore[arg-type]
        assert result.stop_reason == alone.stop_reason, index
        assert result.stop_detail.split(" (")[0] == alone.stop_detail.split(" (")[0]
        assert len(result.history) == len(alone.history), index
        assert result.best_epoch == alone.best_epoch, index
        _assert_close(result.initial_loss, alone.initial_loss, f"{index} initial loss")
        for mine, theirs in zip(result.history, alone.history, strict=True):
            for name in ("train_loss", "val_loss", "val_metric", "learning_rate"):
                _assert_close(getattr(mine, name), getattr(theirs, name), f"{index} {name}")
        assert result.n_parameters == alone.n_parameters
        assert result.model.training == alone.model.training, index  # eval, unless diverged
        for (name, mine_p), theirs_p in zip(result.model.state_dict().items(),
                                            alone.model.state_dict().values(), strict=True):
            assert mine_p.shape == theirs_p.shape, name  # a real, unpadded MLP
            if result.stop_reason != "diverged":
                assert torch.allclose(mine_p, theirs_p, rtol=1e-4, atol=1e-5), (index, name)
    reasons = {r.stop_reason for r in batched}
    assert reasons == {"completed", "stopped", "diverged", "early_stopping"}


def test_regression_and_shared_seed_equal_sequential(diabetes) -> None:  # type: ignore[no-untyped-def]
    configs = [MLPConfig(hidden_layers=(w,), epochs=4, learning_rate=0.01, batch_size=b,
                         dropout=0.1 if DEVICE == "cpu" else 0.0)
               for w, b in ((8, 32), (20, 64), (13, 50))]
    batched = train_batched(configs, diabetes, seed=5, device=DEVICE)
    for config, result in zip(configs, batched, strict=True):
        alone = train(config, diabetes, seed=5, device=DEVICE)
        assert result.metric == alone.metric == "rmse"
        for mine, theirs in zip(result.history, alone.history, strict=True):
            _assert_close(mine.train_loss, theirs.train_loss, "train loss")
            _assert_close(mine.val_metric, theirs.val_metric, "val rmse")
        assert evaluate(result.model, diabetes, "val", device=DEVICE) == pytest.approx(
            result.best.val_metric, rel=1e-4)


def test_one_seed_and_batch_size_share_rows_and_equal_sequential(iris) -> None:  # type: ignore[no-untyped-def]
    configs = [MLPConfig(hidden_layers=(w,), epochs=5, optimizer=o, learning_rate=lr, l1=l1,
                         dropout=d if DEVICE == "cpu" else 0.0, batch_size=24, patience=pat)
               for w, o, lr, l1, d, pat in ((16, "adam", 0.01, 0.0, 0.2, None),
                                            (7, "sgd", 0.1, 1e-3, 0.0, None),
                                            (11, "rmsprop", 0.01, 0.0, 0.1, 1),
                                            (5, "adamw", 0.02, 0.0, 0.0, None))]
    models = sorted((_Model(i, c, 8, True) for i, c in enumerate(configs)),
                    key=lambda m: _sort_key(m, iris.n_train))
    assert _Stack(models, 4, 3, torch.device("cpu"), exact=True).shared  # the 2-D path
    batched = train_batched(configs, iris, seed=8, device=DEVICE)
    for index, (config, result) in enumerate(zip(configs, batched, strict=True)):
        alone = train(config, iris, seed=8, device=DEVICE)
        assert len(result.history) == len(alone.history), index
        for mine, theirs in zip(result.history, alone.history, strict=True):
            _assert_close(mine.train_loss, theirs.train_loss, f"{index} train loss")
            _assert_close(mine.val_loss, theirs.val_loss, f"{index} val loss")
        for mine_p, theirs_p in zip(result.model.parameters(), alone.model.parameters(),
                                    strict=True):
            assert torch.allclose(mine_p, theirs_p, rtol=1e-4, atol=1e-5), index


def _stack(configs: list[MLPConfig], n_train: int) -> _Stack:
    models = sorted((_Model(i, c, i, True) for i, c in enumerate(configs)),
                    key=lambda m: _sort_key(m, n_train))
    return _Stack(models, 4, 3, torch.device("cpu"), exact=True)


def test_padded_units_never_touch_outputs_or_real_gradients() -> None:
    configs = [MLPConfig(hidden_layers=(3, 5), activation="sigmoid"),
               MLPConfig(hidden_layers=(8, 2), activation="sigmoid")]
    stack = _stack(configs, 64)
    real = stacked.parameter_mask(stack.layout, stack.unit_masks)
    x = torch.randn(2, 6, 4)

    def run(data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        params = stacked.Parameters(data.clone(), stack.layout)
        out = stacked.forward(params.layers, x, "sigmoid", stack.unit_masks)
        params.backward(out.square().sum())
        reference = data.clone().requires_grad_(True)  # the same gradient through one leaf
        again = stacked.forward(stacked.views(reference, stack.layout), x, "sigmoid",
                                stack.unit_masks)
        torch.autograd.backward(again.square().sum())
        assert reference.grad is not None
        assert torch.allclose(params.grad, reference.grad, rtol=1e-6, atol=1e-7)
        return out.detach(), params.grad

    clean_out, clean_grad = run(stack.params.data)
    noisy_out, noisy_grad = run(stack.params.data + torch.randn_like(real) * (1 - real))
    assert torch.equal(clean_out, noisy_out)
    assert torch.equal(clean_grad * real, noisy_grad * real)
    assert torch.equal(clean_grad * (1 - real), torch.zeros_like(real))  # padded: exactly 0
    for k, config in enumerate(configs):  # each row is its own network
        alone = stacked.unstack(stack.params.data[k], stack.layout, config)
        assert torch.allclose(alone(x[k]), clean_out[k], atol=1e-6)


def test_padded_parameters_stay_exactly_zero_while_training(iris) -> None:  # type: ignore[no-untyped-def]
    configs = [MLPConfig(hidden_layers=(w,), optimizer=o, learning_rate=0.05, l1=1e-3,
                         l2=1e-2, momentum=m, dropout=0.2, batch_size=b)
               for w, o, m, b in ((3, "sgd", 0.9, 16), (9, "adam", 0.0, 32),
                                  (5, "adamw", 0.0, 64), (2, "rmsprop", 0.5, 8))]
    stack = _stack(configs, iris.n_train)
    real = stacked.parameter_mask(stack.layout, stack.unit_masks)
    x = torch.as_tensor(iris.x_train, dtype=torch.float32)
    y = torch.as_tensor(iris.y_train, dtype=torch.int64)
    stack.optimizer.set_learning_rates([m.config.learning_rate for m in stack.models])
    for _ in range(3):
        orders = torch.stack([torch.randperm(len(x)) for _ in stack.models])
        _epoch(stack, x, y, orders, classify=True)
    assert torch.equal(stack.params.data * (1 - real), torch.zeros_like(real))
    assert bool((stack.params.data * real != 0).any())


@pytest.mark.parametrize("config", [
    MLPConfig(optimizer="sgd", learning_rate=0.1),
    MLPConfig(optimizer="sgd", learning_rate=0.1, momentum=0.9, nesterov=True, l2=0.01),
    MLPConfig(optimizer="sgd", learning_rate=0.1, momentum=0.7),
    MLPConfig(optimizer="adam", learning_rate=0.01, l2=0.01, beta1=0.8, beta2=0.99),
    MLPConfig(optimizer="adamw", learning_rate=0.01, l2=0.1),
    MLPConfig(optimizer="rmsprop", learning_rate=0.01, l2=0.01),
    MLPConfig(optimizer="rmsprop", learning_rate=0.01, momentum=0.9),
], ids=lambda c: f"{c.optimizer}-m{c.momentum}-l2{c.l2}")
def test_one_update_is_torch_optim(config: MLPConfig) -> None:
    torch.manual_seed(0)
    start = torch.randn(1, 6)
    reference = torch.nn.Parameter(start[0].clone())
    optimizer = make_optimizer(torch.nn.ParameterList([reference]), config)
    params = start.clone()
    mine = BatchedOptimizer([config], params)
    mine.set_learning_rates([config.learning_rate])
    for _ in range(5):
        grad = torch.randn(6)
        reference.grad = grad.clone()
        optimizer.step()
        mine.step(params, grad.unsqueeze(0), [1])
        assert torch.allclose(params[0], reference.detach(), rtol=1e-6, atol=1e-7)


def test_a_model_without_a_minibatch_gets_no_update() -> None:
    configs = [MLPConfig(optimizer="adam"), MLPConfig(optimizer="adam")]
    params = torch.ones(2, 3)
    optimizer = BatchedOptimizer(configs, params)
    optimizer.step(params, torch.ones(2, 3), [2])
    before = (params.clone(), optimizer.state1.clone(), optimizer.state2.clone(),
              optimizer.steps.clone())
    optimizer.step(params, torch.ones(2, 3), [1])  # only the first of the family steps
    assert not torch.equal(params[0], before[0][0])
    assert torch.equal(params[1], before[0][1])
    assert torch.equal(optimizer.state1[1], before[1][1])
    assert torch.equal(optimizer.state2[1], before[2][1])
    assert optimizer.steps[:, 0].tolist() == [2.0, 1.0]


def test_schedules_come_from_torch() -> None:
    config = MLPConfig(learning_rate=0.1, schedule="cosine", epochs=4)
    assert learning_rates(config)[0] == 0.1
    assert learning_rates(config)[2] == pytest.approx(0.05)
    assert learning_rates(MLPConfig(learning_rate=0.3, epochs=3)) == [0.3] * 3


def test_groups_split_depth_and_activation_only() -> None:
    configs = [MLPConfig(hidden_layers=(8,)), MLPConfig(hidden_layers=(8,), activation="tanh"),
               MLPConfig(hidden_layers=(4, 4)), MLPConfig(hidden_layers=(30,), dropout=0.3,
                                                          optimizer="sgd", batch_size=7)]
    assert stacked.group_configs(configs) == [[0, 3], [1], [2]]
    layout = stacked.layout_for([configs[0], configs[3]], 4, 3)
    assert layout.widths == (4, 30, 3)
    with pytest.raises(ValueError, match="one depth"):
        stacked.layout_for(configs[:3], 4, 3)


def test_fast_mode_dropout_is_inverted_dropout_on_real_units_only() -> None:
    configs = [MLPConfig(hidden_layers=(16,), dropout=0.3), MLPConfig(hidden_layers=(40,)),
               MLPConfig(hidden_layers=(24,), dropout=0.6)]
    models = [_Model(i, c, 7, True) for i, c in enumerate(configs)]
    stack = _Stack(models, 4, 3, torch.device("cpu"), exact=False)
    before = torch.random.get_rng_state()
    (mask,) = stack.masks(4000)
    assert torch.equal(torch.random.get_rng_state(), before)  # drawn from the stack's own
    assert mask.shape == (3, 4000, 40)
    assert torch.equal(mask[1], torch.ones(4000, 40))  # no dropout: no noise at all
    for k, width, p in ((0, 16, 0.3), (2, 24, 0.6)):
        real = mask[k, :, :width]
        assert torch.equal(mask[k, :, width:], torch.zeros(4000, 40 - width))  # padded: 0
        kept = real != 0
        assert torch.equal(real[kept], torch.full_like(real[kept], 1 / (1 - p)))
        assert float(kept.float().mean()) == pytest.approx(1 - p, abs=0.01)  # sd ~0.0013
        per_unit = kept.float().mean(dim=0)  # each unit on its own too (sd ~0.008)
        assert torch.allclose(per_unit, torch.full_like(per_unit, 1 - p), atol=0.04)
    again = _Stack([_Model(i, c, 7, True) for i, c in enumerate(configs)], 4, 3,
                   torch.device("cpu"), exact=False)
    assert torch.equal(again.masks(4000)[0], mask)  # reproducible run to run


def test_fast_mode_without_dropout_is_exact_mode(iris) -> None:  # type: ignore[no-untyped-def]
    configs = [MLPConfig(hidden_layers=(16,), epochs=3),
               MLPConfig(hidden_layers=(9,), epochs=3, optimizer="sgd", batch_size=8)]
    fast = train_batched(configs, iris, seed=[1, 2], exact=False)
    exact = train_batched(configs, iris, seed=[1, 2], exact=True)
    for mine, theirs in zip(fast, exact, strict=True):
        assert mine.curves() == theirs.curves()
        for a, b in zip(mine.model.parameters(), theirs.model.parameters(), strict=True):
            assert torch.equal(a, b)


def test_results_leave_the_global_generator_as_train_does(iris) -> None:  # type: ignore[no-untyped-def]
    config = MLPConfig(hidden_layers=(12,), epochs=2)  # no dropout: train draws only W
    torch.manual_seed(99)
    alone = train(config, iris, seed=4)
    after_train = torch.random.get_rng_state()
    torch.manual_seed(99)
    (batched,) = train_batched([config], iris, seed=4)
    assert torch.equal(torch.random.get_rng_state(), after_train)  # unstacking drew nothing
    assert not batched.model.training and not alone.model.training


def test_numpy_and_other_integral_seeds(iris) -> None:  # type: ignore[no-untyped-def]
    configs = [MLPConfig(hidden_layers=(4,), epochs=1), MLPConfig(hidden_layers=(6,), epochs=1)]
    reference = [r.curves() for r in train_batched(configs, iris, seed=3)]
    for seed in (np.int64(3), [np.int32(3), 3], np.array([3, 3])):
        assert [r.curves() for r in train_batched(configs, iris, seed=seed)] == reference
    for bad in (3.0, "3", True, [3, 3.5], None):
        with pytest.raises(ValueError, match="seed must be an int or one int per config"):
            train_batched(configs, iris, seed=bad)  # type: ignore[arg-type]


def test_bad_input_names_the_value(iris) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="at least one"):
        train_batched([], iris)
    with pytest.raises(TypeError, match=r"configs\[1\] must be an MLPConfig"):
        train_batched([MLPConfig(), {"epochs": 3}], iris)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="one int per config"):
        train_batched([MLPConfig(), MLPConfig()], iris, seed=[1, 2, 3])
