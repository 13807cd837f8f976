"""Each hyperparameter's effect on the built model: architecture, initialization, dropout."""

from __future__ import annotations

import math

import pytest
import torch

from hyperknob.nn import MLPConfig, build_mlp, describe
from hyperknob.nn._model import MLP


def test_architecture_follows_hidden_layers_and_activation() -> None:
    model = build_mlp(MLPConfig(hidden_layers=(32, 16, 8), activation="tanh"), 10, 3)
    shapes = [tuple(layer.weight.shape) for layer in (*model.hidden, model.output)]
    assert shapes == [(32, 10), (16, 32), (8, 16), (3, 8)]
    assert isinstance(model.activation, torch.nn.Tanh)
    assert model(torch.zeros(5, 10)).shape == (5, 3)


@pytest.mark.parametrize(("name", "cls"), [
    ("relu", torch.nn.ReLU), ("sigmoid", torch.nn.Sigmoid), ("tanh", torch.nn.Tanh),
    ("leaky_relu", torch.nn.LeakyReLU), ("gelu", torch.nn.GELU),
])
def test_each_activation_is_used(name: str, cls: type[torch.nn.Module]) -> None:
    model = build_mlp(MLPConfig(hidden_layers=(4,), activation=name), 3, 2, seed=0)
    assert isinstance(model.activation, cls)
    x = torch.randn(7, 3)
    hidden = cls()(model.hidden[0](x))
    assert torch.allclose(model(x), model.output(hidden))


@pytest.mark.parametrize(("scheme", "activation", "expected_variance"), [
    # Glorot & Bengio (2010): 2 / (fan_in + fan_out), times gain^2 (tanh: (5/3)^2).
    ("xavier_uniform", "tanh", (5 / 3) ** 2 * 2 / (400 + 600)),
    ("xavier_normal", "sigmoid", 2 / (400 + 600)),
    # He et al. (2015): 2 / fan_in for ReLU.
    ("he_uniform", "relu", 2 / 400),
    ("he_normal", "relu", 2 / 400),
    ("he_normal", "leaky_relu", 2 / (1 + 0.01**2) / 400),
])
def test_initializer_variance(scheme: str, activation: str, expected_variance: float) -> None:
    model = build_mlp(MLPConfig(hidden_layers=(600,), activation=activation, init=scheme),
                      400, 5, seed=1)
    weight = model.hidden[0].weight
    assert weight.shape == (600, 400)
    assert float(weight.detach().var()) == pytest.approx(expected_variance, rel=0.03)
    assert float(model.hidden[0].bias.detach().abs().max()) == 0.0
    # The output layer has no activation after it: gain 1.
    out = model.output.weight
    gain_free = {"xavier_uniform": 2 / (600 + 5), "xavier_normal": 2 / (600 + 5),
                 "he_uniform": 1 / 600, "he_normal": 1 / 600}[scheme]
    assert float(out.detach().var()) == pytest.approx(gain_free, rel=0.25)


def test_default_init_is_pytorchs_and_differs_from_he() -> None:
    default = build_mlp(MLPConfig(hidden_layers=(600,)), 400, 5, seed=1).hidden[0].weight
    # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance 1 / (3 fan_in).
    assert float(default.detach().var()) == pytest.approx(1 / (3 * 400), rel=0.03)


def test_dropout_is_active_in_training_and_off_in_evaluation() -> None:
    model = build_mlp(MLPConfig(hidden_layers=(256,), dropout=0.5), 8, 1, seed=0)
    x = torch.randn(64, 8)
    model.train()
    first, second = model(x), model(x)
    assert not torch.allclose(first, second)  # a fresh mask each call
    hidden = model.dropout(model.activation(model.hidden[0](x)))
    assert 0.35 < float((hidden == 0).float().mean()) < 0.8
    model.eval()
    assert torch.allclose(model(x), model(x))
    expected = model.output(model.activation(model.hidden[0](x)))
    assert torch.allclose(model(x), expected)


def test_no_dropout_means_identity() -> None:
    model = build_mlp(MLPConfig(dropout=0.0), 4, 2)
    assert isinstance(model.dropout, torch.nn.Identity)


def test_describe_counts_every_learned_parameter() -> None:
    config = MLPConfig(hidden_layers=(128, 64), dropout=0.2)
    model = build_mlp(config, 64, 10)
    info = describe(model)
    assert [layer.weight_shape for layer in info.layers] == [(128, 64), (64, 128), (10, 64)]
    assert [layer.bias_shape for layer in info.layers] == [(128,), (64,), (10,)]
    assert info.n_parameters == sum(p.numel() for p in model.parameters())
    assert info.n_parameters == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert info.hyperparameters["hidden_layers"] == [128, 64]
    text = str(info)
    assert "128 x 64" in text and f"{info.n_parameters:,}" in text
    assert "relu + dropout 0.2" in text and "learning_rate" in text
    record = info.to_dict()
    assert record["layers"][0]["W"] == [128, 64] and record["n_parameters"] == info.n_parameters


def test_weight_matrices_exclude_biases() -> None:
    model = MLP(5, 2, MLPConfig(hidden_layers=(3,)))
    assert [tuple(w.shape) for w in model.weight_matrices()] == [(3, 5), (2, 3)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"hidden_layers": (0,)}, "hidden_layers[0] must be an int >= 1, got hidden_layers[0]=0"),
    ({"hidden_layers": 64}, "'hidden_layers' must be a tuple of widths"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"init": "orthogonal"}, "init must be one of"),
    ({"dropout": 1.0}, "dropout must be a finite number >= 0 and < 1, got dropout=1.0"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0, got learning_rate=0.0"),
    ({"learning_rate": math.nan}, "learning_rate must be a finite number > 0, got learning_rate="),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"nesterov": True}, "'nesterov' needs optimizer='sgd' and momentum > 0"),
    ({"batch_size": 0}, "batch_size must be an int >= 1, got batch_size=0"),
    ({"epochs": 2.5}, "epochs must be an int >= 1, got epochs=2.5"),
    ({"schedule": "linear"}, "schedule must be one of"),
    ({"patience": 0}, "patience must be an int >= 1, got patience=0"),
])
def test_config_rejects_bad_values_by_name(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        MLPConfig(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_config_round_trips_through_a_dict() -> None:
    config = MLPConfig(hidden_layers=(3, 4), optimizer="sgd", momentum=0.9, nesterov=True)
    assert MLPConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['lr'\]"):
        MLPConfig.from_dict({"lr": 0.1})
