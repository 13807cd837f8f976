"""The default search space (the article's rules of thumb) and its TOML/YAML overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

import hyperknob
from hyperknob.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
)
from hyperknob.nn import default_space, load_space


def test_default_space_follows_the_rules_of_thumb() -> None:
    space = default_space(n_features=64, n_train=1257)
    dims = space.dimensions
    # The article's starting points are priors: lr between 0.01 and 0.001, batch 64, one or
    # two layers, 1.5x the input width, Adam.
    assert dims["learning_rate"] == FloatDistribution(1e-4, 1e-1, log=True,
                                                      prior=Prior(10 ** -2.5))
    assert dims["batch_size"] == CategoricalDistribution((32, 64, 128), prior=Prior(64))
    assert dims["n_layers"] == IntDistribution(1, 5, prior=Prior(1.5))
    # 1x to 2x the input width
    assert dims["units"] == IntDistribution(64, 128, prior=Prior(96))
    assert set(dims["activation"].choices) == {"relu", "tanh", "sigmoid"}
    assert set(dims["optimizer"].choices) == {"sgd", "adam", "rmsprop"}
    assert dims["optimizer"].prior == Prior("adam", confidence=0.3)
    assert dims["dropout"] == FloatDistribution(0.0, 0.5)
    assert isinstance(dims["l2"], FloatDistribution) and dims["l2"].log
    epochs = dims["epochs"]
    assert isinstance(epochs, IntDistribution) and epochs.low == 10 and 10 < epochs.high <= 1000


def test_width_and_epochs_are_bounded_for_tiny_and_wide_data() -> None:
    tiny = default_space(n_features=2, n_train=50).dimensions
    assert tiny["units"] == IntDistribution(8, 16, prior=Prior(8))  # 1.5x clipped into range
    assert tiny["epochs"].high == 1000
    wide = default_space(n_features=5000, n_train=100_000).dimensions
    assert wide["units"] == IntDistribution(512, 1024, prior=Prior(1024))
    assert wide["epochs"].high == 10
    with pytest.raises(ValueError, match="max_epochs must be an int >= 10"):
        default_space(4, 100, max_epochs=5)


def test_suggest_builds_a_config_with_per_layer_widths_and_matching_init() -> None:
    space = default_space(n_features=10, n_train=500)
    study = hyperknob.create_study(seed=0)
    for _ in range(40):
        trial = study.ask()
        config = space.suggest(trial)
        assert len(config.hidden_layers) == trial.params["n_layers"]
        assert config.hidden_layers == tuple(trial.params[f"units_l{i}"]
                                             for i in range(config.n_hidden_layers))
        assert all(10 <= w <= 20 for w in config.hidden_layers)
        expected = "he_uniform" if config.activation == "relu" else "xavier_uniform"
        assert config.init == expected
        assert ("momentum" in trial.params) == (config.optimizer in ("sgd", "rmsprop"))
        assert config.patience == 10
        study.tell(trial, 0.0)


def test_suggest_passes_the_priors_to_the_trial() -> None:
    space = default_space(n_features=10, n_train=500)
    study = hyperknob.create_study(seed=0)
    trial = study.ask()
    space.suggest(trial)
    for name in ("learning_rate", "batch_size", "n_layers", "optimizer"):
        assert trial.distributions[name] == space.dimensions[name]
    assert trial.distributions["units_l0"].prior == Prior(15)


def test_rule_of_thumb_configurations_come_first() -> None:
    space = default_space(n_features=64, n_train=1257)
    params = space.rule_of_thumb_params()
    assert len(params) == 4
    assert {(p["learning_rate"], p["n_layers"]) for p in params} == {
        (0.01, 1), (0.001, 1), (0.01, 2), (0.001, 2)}
    for p in params:
        assert p["batch_size"] == 64 and p["optimizer"] == "adam"
        assert all(p[f"units_l{i}"] == 128 for i in range(p["n_layers"]))


def test_rule_of_thumb_drops_values_the_space_forbids(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text('[space]\nlearning_rate = { low = 0.05, high = 0.1 }\nbatch_size = 32\n')
    space = load_space(path, default_space(64, 1257))
    for p in space.rule_of_thumb_params():
        assert "learning_rate" not in p and "batch_size" not in p


def test_toml_overrides_ranges_choices_and_fixed_values(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(
        "[space]\n"
        "learning_rate = { low = 1e-3, high = 1e-2, log = true }\n"
        "n_layers = { low = 1, high = 2 }\n"
        'activation = ["relu", "gelu"]\n'
        'optimizer = "adamw"\n'
        "dropout = 0.0\n"
        "patience = 5\n"
    )
    space = load_space(path, default_space(64, 1257))
    dims = space.dimensions
    assert dims["learning_rate"] == FloatDistribution(1e-3, 1e-2, log=True)
    assert dims["n_layers"] == IntDistribution(1, 2)
    assert dims["activation"] == CategoricalDistribution(("relu", "gelu"))
    assert dims["optimizer"] == "adamw" and dims["dropout"] == 0.0 and dims["patience"] == 5
    # Untouched knobs keep the default, prior included; overridden ones have none.
    assert dims["units"] == IntDistribution(64, 128, prior=Prior(96))


def test_yaml_config_works_too(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("space:\n  batch_size: [16, 32]\n  epochs: {low: 5, high: 20}\n")
    dims = load_space(path, default_space(64, 1257)).dimensions
    assert dims["batch_size"] == CategoricalDistribution((16, 32))
    assert dims["epochs"] == IntDistribution(5, 20)


@pytest.mark.parametrize(("text", "message"), [
    ("[space]\nlr = 0.1\n", "unknown key space.lr; expected one of"),
    ("[space]\nlearning_rate = { low = 0.1, high = 0.01 }\n",
     "space.learning_rate: 'low' must be <= 'high', got low=0.1, high=0.01"),
    ("[space]\nactivation = \"swish\"\n", "space.activation: expected one of"),
    ("[space]\nbatch_size = { low = 8 }\n", "space.batch_size: expected a table with 'low'"),
    ("[space]\nn_layers = 1.5\n", "space.n_layers: expected an int, got 1.5"),
    ("[tuning]\nx = 1\n", "expected a single top-level table 'space'"),
    ("[space\n", "not valid TOML"),
])
def test_config_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_space(path, default_space(64, 1257))
    assert message in str(info.value) and "bad.toml" in str(info.value)


def test_missing_or_unknown_config_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_space(tmp_path / "nope.toml", default_space(4, 100))
    other = tmp_path / "space.ini"
    other.write_text("x")
    with pytest.raises(ValueError, match=r"expected a \.toml, \.yaml or \.yml file"):
        load_space(other, default_space(4, 100))
