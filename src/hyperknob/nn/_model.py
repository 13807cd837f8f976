"""Build the MLP from its hyperparameters, and show its learned parameters beside them."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import torch
from torch import nn

from hyperknob.nn._config import MLPConfig

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU,
}
LEAKY_SLOPE = 0.01  # torch's default negative slope for LeakyReLU


class MLP(nn.Module):
    """A multilayer perceptron: Linear -> activation -> dropout per hidden layer, then Linear.

    Example:
        >>> model = MLP(64, 10, MLPConfig(hidden_layers=(128,)))
        >>> model(torch.zeros(2, 64)).shape
        torch.Size([2, 10])
    """

    def __init__(self, n_inputs: int, n_outputs: int, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        widths = [n_inputs, *config.hidden_layers]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.output = nn.Linear(widths[-1], n_outputs)
        self.activation = _ACTIVATIONS[config.activation]()
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits (classification) or predictions (regression) for a batch."""
        for layer in self.hidden:
            x = self.dropout(self.activation(layer(x)))
        out: torch.Tensor = self.output(x)
        return out

    def weight_matrices(self) -> list[torch.Tensor]:
        """Return every weight matrix W (not the biases), e.g. for an L1 penalty."""
        return [layer.weight for layer in (*self.hidden, self.output)]


def _gain(activation: str) -> float:
    if activation == "leaky_relu":
        return nn.init.calculate_gain("leaky_relu", LEAKY_SLOPE)
    if activation == "tanh":
        return nn.init.calculate_gain("tanh")
    if activation == "sigmoid":
        return nn.init.calculate_gain("sigmoid")
    return nn.init.calculate_gain("relu")  # relu, and gelu which behaves like it for large x


def initialize(model: MLP, scheme: str) -> None:
    """Re-initialize every weight with ``scheme``; biases start at zero (not for "default").

    Xavier/Glorot (Glorot & Bengio, 2010): Var(W) = gain^2 * 2 / (fan_in + fan_out).
    He/Kaiming (He et al., 2015): Var(W) = gain^2 / fan_in, gain sqrt(2) for ReLU.
    "default" keeps PyTorch's own initialization of ``nn.Linear``.
    """
    if scheme == "default":
        return
    gain = _gain(model.config.activation)
    layers = [*model.hidden, model.output]
    for index, layer in enumerate(layers):
        # The output layer has no activation after it: use gain 1 there.
        layer_gain = gain if index < len(layers) - 1 else 1.0
        weight = layer.weight
        fan_in = weight.shape[1]
        if scheme == "xavier_uniform":
            nn.init.xavier_uniform_(weight, gain=layer_gain)
        elif scheme == "xavier_normal":
            nn.init.xavier_normal_(weight, gain=layer_gain)
        elif scheme == "he_uniform":
            bound = layer_gain * math.sqrt(3.0 / fan_in)
            nn.init.uniform_(weight, -bound, bound)
        elif scheme == "he_normal":
            nn.init.normal_(weight, 0.0, layer_gain / math.sqrt(fan_in))
        else:
            raise ValueError(f"unknown initialization {scheme!r}")
        nn.init.zeros_(layer.bias)


def build_mlp(config: MLPConfig, n_inputs: int, n_outputs: int, *,
              seed: int | None = None) -> MLP:
    """Build and initialize an MLP; with ``seed`` the initial weights are reproducible (drawn
    from a fork of torch's generator: the caller's random state is left as it was)."""
    if seed is None:
        model = MLP(n_inputs, n_outputs, config)
        initialize(model, config.init)
        return model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_mlp(config, n_inputs, n_outputs)


def count_parameters(config: MLPConfig, n_inputs: int, n_outputs: int) -> int:
    """Return the learned parameters (every W and b) of the MLP ``config`` builds, without
    building it: sum over layers of ``in * out + out``."""
    widths = [n_inputs, *config.hidden_layers, n_outputs]
    return sum(a * b + b for a, b in itertools.pairwise(widths))


@dataclasses.dataclass(frozen=True)
class LayerParameters:
    """The learned parameters of one linear layer."""

    name: str
    weight_shape: tuple[int, int]
    bias_shape: tuple[int]
    activation: str | None

    @property
    def n_weights(self) -> int:
        """Return the number of entries of W."""
        return self.weight_shape[0] * self.weight_shape[1]

    @property
    def n_biases(self) -> int:
        """Return the number of entries of b."""
        return self.bias_shape[0]

    @property
    def n_parameters(self) -> int:
        """Return the number of learned numbers in the layer."""
        return self.n_weights + self.n_biases


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """Learned parameters per layer beside the hyperparameters that built them."""

    layers: tuple[LayerParameters, ...]
    hyperparameters: dict[str, Any]

    @property
    def n_parameters(self) -> int:
        """Return the total number of learned parameters."""
        return sum(layer.n_parameters for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready record."""
        return {
            "layers": [
                {"name": layer.name, "W": list(layer.weight_shape), "b": list(layer.bias_shape),
                 "n_weights": layer.n_weights, "n_biases": layer.n_biases,
                 "activation": layer.activation}
                for layer in self.layers
            ],
            "n_parameters": self.n_parameters,
            "hyperparameters": self.hyperparameters,
        }

    def __str__(self) -> str:
        rows = [("layer", "W (out x in)", "b", "parameters", "then")]
        for layer in self.layers:
            rows.append((
                layer.name, f"{layer.weight_shape[0]} x {layer.weight_shape[1]}",
                str(layer.bias_shape[0]), f"{layer.n_parameters:,}", layer.activation or "-",
            ))
        rows.append(("total", "", "", f"{self.n_parameters:,}", ""))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ["Learned parameters (W, b: set by backpropagation and gradient descent)"]
        for index, row in enumerate(rows):
            cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            lines.append("  " + "  ".join(cells))
            if index == 0 or index == len(rows) - 2:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines.append("Hyperparameters (set before training, searched by the tuner)")
        width = max(len(k) for k in self.hyperparameters)
        lines.extend(f"  {k.ljust(width)}  {v}" for k, v in self.hyperparameters.items())
        return "\n".join(lines)


def describe(model: MLP) -> ModelDescription:
    """Return each layer's W and b shapes and counts, with the hyperparameters of the model.

    Example:
        >>> print(describe(build_mlp(MLPConfig(hidden_layers=(8,)), 4, 3)))  # doctest: +SKIP
    """
    config = model.config
    suffix = f" + dropout {config.dropout}" if config.dropout > 0 else ""
    linears: list[nn.Linear] = [*model.hidden, model.output]
    layers = [
        LayerParameters(
            f"hidden {i + 1}" if i < len(linears) - 1 else "output",
            (layer.out_features, layer.in_features), (layer.out_features,),
            config.activation + suffix if i < len(linears) - 1 else None,
        )
        for i, layer in enumerate(linears)
    ]
    counted = sum(p.numel() for p in model.parameters())
    description = ModelDescription(tuple(layers), config.to_dict())
    assert counted == description.n_parameters, "every parameter belongs to a Linear layer"
    return description
