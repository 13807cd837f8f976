"""The default search space, from the article's rules of thumb, and its TOML/YAML overrides."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int, is_int, is_number
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
)
from hyperknob.nn._config import ACTIVATIONS, INITIALIZATIONS, OPTIMIZERS, SCHEDULES, MLPConfig

if TYPE_CHECKING:
    from hyperknob.trial import Trial

# Every knob the space may search, with its kind. "units" is the width of each hidden layer,
# suggested once per layer as units_l0, units_l1, ...; "init" may be "auto": He for the ReLU
# family, Xavier for tanh and sigmoid.
KNOBS: dict[str, str] = {
    "learning_rate": "float", "batch_size": "int", "n_layers": "int", "units": "int",
    "epochs": "int", "activation": "choice", "init": "choice", "optimizer": "choice",
    "momentum": "float", "l1": "float", "l2": "float", "dropout": "float",
    "schedule": "choice", "patience": "int",
}
Value = Any  # a fixed value, or a BaseDistribution to search


def _he_or_xavier(activation: str) -> str:
    return "he_uniform" if activation in ("relu", "leaky_relu", "gelu") else "xavier_uniform"


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """What the tuner searches: each knob is a distribution (searched) or a value (fixed).

    Example:
        >>> space = default_space(n_features=64, n_train=1257)
        >>> units = space.dimensions["units"]
        >>> units.low, units.high, units.prior
        (64, 128, Prior(center=96, confidence=0.5))
    """

    dimensions: Mapping[str, Value]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.dimensions) - set(KNOBS))
        if unknown:
            raise ValueError(f"unknown search-space key(s) {unknown}; expected some of "
                             f"{sorted(KNOBS)}")
        missing = sorted(set(KNOBS) - set(self.dimensions))
        if missing:
            raise ValueError(f"search space is missing {missing}")
        object.__setattr__(self, "dimensions", dict(self.dimensions))

    def searched(self) -> dict[str, BaseDistribution]:
        """Return the knobs that are searched, with their distributions."""
        return {k: v for k, v in self.dimensions.items() if isinstance(v, BaseDistribution)}

    def replace(self, **changes: Value) -> SearchSpace:
        """Return a copy with some knobs changed (a distribution or a fixed value)."""
        return SearchSpace({**self.dimensions, **changes})

    def _pick(self, trial: Trial, name: str, knob: str | None = None) -> Any:
        value = self.dimensions[knob or name]
        if isinstance(value, FloatDistribution):
            return trial.suggest_float(name, value.low, value.high, log=value.log,
                                       step=value.step, prior=value.prior)
        if isinstance(value, IntDistribution):
            return trial.suggest_int(name, value.low, value.high, log=value.log,
                                     step=value.step, prior=value.prior)
        if isinstance(value, CategoricalDistribution):
            return trial.suggest_categorical(name, value.choices, prior=value.prior)
        return value

    def suggest(self, trial: Trial) -> MLPConfig:
        """Ask the trial for every searched knob and return the configuration to train."""
        n_layers = int(self._pick(trial, "n_layers"))
        units = tuple(int(self._pick(trial, f"units_l{i}", "units")) for i in range(n_layers))
        activation = self._pick(trial, "activation")
        init = self._pick(trial, "init")
        optimizer = self._pick(trial, "optimizer")
        momentum = self._pick(trial, "momentum") if optimizer in ("sgd", "rmsprop") else 0.0
        return MLPConfig(
            hidden_layers=units, activation=activation,
            init=_he_or_xavier(activation) if init == "auto" else init,
            dropout=float(self._pick(trial, "dropout")), optimizer=optimizer,
            learning_rate=float(self._pick(trial, "learning_rate")), momentum=float(momentum),
            l1=float(self._pick(trial, "l1")), l2=float(self._pick(trial, "l2")),
            schedule=self._pick(trial, "schedule"),
            batch_size=int(self._pick(trial, "batch_size")),
            epochs=int(self._pick(trial, "epochs")), patience=self._pick(trial, "patience"),
        )

    def rule_of_thumb_params(self) -> list[dict[str, Any]]:
        """Return the article's starting points, as trial params that fit this space.

        Learning rate 0.01 and 0.001, batch 64, one or two hidden layers twice the input
        width, Adam, ReLU. Values a user's space does not allow are left to the sampler; a
        configuration whose every knob is fixed or outside the space is dropped.
        """
        dims = self.searched()
        units = dims.get("units")
        width = units.high if isinstance(units, IntDistribution) else None
        epochs = dims.get("epochs")
        layers_knob = self.dimensions["n_layers"]
        depths = [d for d in (1, 2) if self.fits("n_layers", d)] if isinstance(
            layers_knob, BaseDistribution) else [int(layers_knob)]
        wished: list[dict[str, Any]] = []
        for n_layers in depths:
            for learning_rate in (0.01, 0.001):
                params: dict[str, Any] = {
                    "learning_rate": learning_rate, "batch_size": 64, "n_layers": n_layers,
                    "optimizer": "adam", "activation": "relu", "dropout": 0.0,
                }
                if width is not None:
                    params.update({f"units_l{i}": width for i in range(n_layers)})
                if isinstance(epochs, IntDistribution):
                    params["epochs"] = epochs.high  # early stopping ends it when it plateaus
                l2 = dims.get("l2")
                if isinstance(l2, FloatDistribution):
                    params["l2"] = l2.low
                wished.append(params)
        fitted = []
        for params in wished:
            kept = {k: v for k, v in params.items() if self.fits(k, v)}
            if kept and kept not in fitted:
                fitted.append(kept)
        return fitted

    def fits(self, name: str, value: Any) -> bool:
        """Return whether parameter ``name`` may take ``value`` in this space."""
        knob = "units" if name.startswith("units_l") else name
        dist = self.dimensions.get(knob)
        if not isinstance(dist, BaseDistribution):
            return False
        try:
            return dist.contains(dist.to_internal(value))
        except (TypeError, ValueError):
            return False


def default_space(
    n_features: int, n_train: int, *, max_epochs: int | None = None
) -> SearchSpace:
    """Return the rule-of-thumb search space for data with ``n_features`` inputs.

    - learning rate log-uniform in [1e-4, 1e-1] (the article: start at 0.01 or 0.001);
    - batch size 32, 64 or 128;
    - 1 to 5 hidden layers (1 or 2 are enough for most tasks: tried first);
    - each layer 1x to 2x the input width, kept within [8, 1024];
    - epochs log-uniform from 10 to a cap that shrinks as the data grows (the article's
      10..1000), with early stopping after 10 epochs without a better validation loss;
    - ReLU, tanh or sigmoid; He initialization for ReLU, Xavier for tanh and sigmoid;
    - SGD (with momentum), Adam or RMSprop; L2 log-uniform in [1e-6, 1e-2]; dropout 0..0.5.

    The rules of thumb are also :class:`~hyperknob.distributions.Prior` beliefs the samplers
    look near first and forget when the data disagrees: learning rate near 10^-2.5 (between
    0.01 and 0.001), batch 64, 1.5 layers ("one or two"), 1.5x the input width, Adam (a weak
    belief: confidence 0.3).
    """
    if n_features < 1 or n_train < 1:
        raise ValueError(f"n_features and n_train must be >= 1, got {n_features}, {n_train}")
    low = min(max(n_features, 8), 512)
    high = min(max(2 * n_features, 16), 1024)
    if max_epochs is None:
        # ~200k example-passes in all: 160 epochs for 1,250 rows, 10 for 20,000 rows and more.
        max_epochs = int(min(1000, max(10, round(200_000 / n_train))))
    check_int("max_epochs", max_epochs, least=10)
    width = min(max(1.5 * n_features, low), high)
    return SearchSpace({
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True, prior=Prior(10 ** -2.5)),
        "batch_size": CategoricalDistribution((32, 64, 128), prior=Prior(64)),
        "n_layers": IntDistribution(1, 5, prior=Prior(1.5)),
        "units": IntDistribution(low, high, prior=Prior(width)),
        "epochs": IntDistribution(10, max_epochs, log=True),
        "activation": CategoricalDistribution(("relu", "tanh", "sigmoid")),
        "init": "auto",
        "optimizer": CategoricalDistribution(("sgd", "adam", "rmsprop"),
                                             prior=Prior("adam", confidence=0.3)),
        "momentum": FloatDistribution(0.0, 0.99),
        "l1": 0.0,
        "l2": FloatDistribution(1e-6, 1e-2, log=True),
        "dropout": FloatDistribution(0.0, 0.5),
        "schedule": "constant",
        "patience": 10,
    })


_CHOICES = {"activation": ACTIVATIONS, "init": (*INITIALIZATIONS, "auto"),
            "optimizer": OPTIMIZERS, "schedule": SCHEDULES}


def _parse_knob(key: str, value: Any) -> Value:
    kind = KNOBS[key]
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"low", "high", "log", "step"})
        if extra or "low" not in value or "high" not in value:
            raise ValueError(f"expected a table with 'low' and 'high' (and optionally 'log', "
                             f"'step'), got {dict(value)!r}")
        if kind == "choice":
            raise ValueError(f"expected a list of choices or one value, got a range {value!r}")
        if kind == "int":
            return IntDistribution(value["low"], value["high"], log=value.get("log", False),
                                   step=value.get("step", 1))
        return FloatDistribution(value["low"], value["high"], log=value.get("log", False),
                                 step=value.get("step"))
    if isinstance(value, list):
        for choice in value:
            _check_value(key, kind, choice)
        return CategoricalDistribution(tuple(value))
    _check_value(key, kind, value)
    return value


def _check_value(key: str, kind: str, value: Any) -> None:
    if key == "patience" and value is None:
        return
    if kind == "choice":
        if value not in _CHOICES[key]:
            raise ValueError(f"expected one of {list(_CHOICES[key])}, got {value!r}")
    elif kind == "int":
        if not is_int(value):
            raise ValueError(f"expected an int, got {value!r}")
    elif not (is_number(value) and math.isfinite(value)):
        raise ValueError(f"expected a finite number, got {value!r}")


def load_space(path: str | Path, base: SearchSpace) -> SearchSpace:
    """Override knobs of ``base`` from the ``[space]`` table of a TOML or YAML file.

    A table ``{low, high, log, step}`` is a range, a list is a set of choices, a single value
    fixes the knob. Errors name the file and the key.

    Example TOML::

        [space]
        learning_rate = { low = 1e-4, high = 1e-2, log = true }
        batch_size = [64, 128]
        activation = "relu"
    """
    path = Path(path)
    data = _read_config(path)
    if not isinstance(data, Mapping) or not set(data) <= {"space"}:
        keys = sorted(data) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f"{path}: expected a single top-level table 'space', got {keys}")
    table = data.get("space", {})
    if not isinstance(table, Mapping):
        raise ValueError(f"{path}: 'space' must be a table of knobs, got {table!r}")
    changes: dict[str, Value] = {}
    for key, value in table.items():
        if key not in KNOBS:
            raise ValueError(f"{path}: unknown key space.{key}; expected one of {sorted(KNOBS)}")
        try:
            changes[key] = _parse_knob(key, value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: space.{key}: {error}") from error
    return base.replace(**changes)


def _read_config(path: Path) -> Any:
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as error:
            raise ImportError("YAML config files need PyYAML: pip install pyyaml") from error
        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from error
    if path.suffix != ".toml":
        raise ValueError(f"{path}: expected a .toml, .yaml or .yml file")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from error
