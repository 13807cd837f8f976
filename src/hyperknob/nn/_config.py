"""MLPConfig: every hyperparameter of the article's table in one frozen dataclass."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hyperknob._checks import check_bool, check_choice, check_int, check_number

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu")
INITIALIZATIONS = ("default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine")


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    """The hyperparameters of a multilayer perceptron and of its training.

    The parameters (weights ``W`` and biases ``b`` of each layer) are learned; everything here
    is set before training. ``hidden_layers`` gives the width of each hidden layer, so its
    length is the number of hidden layers.

    Example:
        >>> config = MLPConfig(hidden_layers=(128, 64), activation="tanh", learning_rate=0.01)
        >>> config.n_hidden_layers
        2
    """

    hidden_layers: tuple[int, ...] = (64,)
    activation: str = "relu"
    init: str = "default"
    dropout: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0  # SGD and RMSprop
    nesterov: bool = False  # SGD, needs momentum > 0
    beta1: float = 0.9  # Adam and AdamW
    beta2: float = 0.999
    l1: float = 0.0  # coefficient of sum |W| added to the loss
    l2: float = 0.0  # weight decay; decoupled for AdamW
    schedule: str = "constant"
    step_size: int = 10  # "step": multiply the learning rate by gamma every step_size epochs
    gamma: float = 0.1
    batch_size: int = 64
    epochs: int = 50
    patience: int | None = None  # early stopping: epochs without a better validation loss

    def __post_init__(self) -> None:
        layers = self.hidden_layers
        if isinstance(layers, int) or not isinstance(layers, (tuple, list)):
            raise TypeError(f"'hidden_layers' must be a tuple of widths, got {layers!r}")
        object.__setattr__(self, "hidden_layers", tuple(layers))
        for index, width in enumerate(self.hidden_layers):
            check_int(f"hidden_layers[{index}]", width, least=1)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("init", self.init, INITIALIZATIONS)
        check_number("dropout", self.dropout, least=0.0, below=1.0)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("learning_rate", self.learning_rate, above=0.0)
        check_number("momentum", self.momentum, least=0.0, below=1.0)
        check_bool("nesterov", self.nesterov)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError(
                "'nesterov' needs optimizer='sgd' and momentum > 0, got "
                f"optimizer={self.optimizer!r}, momentum={self.momentum!r}"
            )
        check_number("beta1", self.beta1, least=0.0, below=1.0)
        check_number("beta2", self.beta2, least=0.0, below=1.0)
        check_number("l1", self.l1, least=0.0)
        check_number("l2", self.l2, least=0.0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("step_size", self.step_size, least=1)
        check_number("gamma", self.gamma, above=0.0, most=1.0)
        check_int("batch_size", self.batch_size, least=1)
        check_int("epochs", self.epochs, least=1)
        if self.patience is not None:
            check_int("patience", self.patience, least=1)

    @property
    def n_hidden_layers(self) -> int:
        """Return the number of hidden layers."""
        return len(self.hidden_layers)

    def to_dict(self) -> dict[str, Any]:
        """Return the hyperparameters as a JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["hidden_layers"] = list(self.hidden_layers)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MLPConfig:
        """Build a config from :meth:`to_dict`'s output; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown}; expected some of "
                             f"{sorted(known)}")
        values = dict(data)
        if "hidden_layers" in values and isinstance(values["hidden_layers"], list):
            values["hidden_layers"] = tuple(values["hidden_layers"])
        return cls(**values)
