"""The Lightning callback inside a real study: one report per epoch, pruning, the record."""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import pytest
from _frameworks import require

import hyperknob
from hyperknob._training_record import StopReason, read_record
from hyperknob.analysis import diagnose_trial
from hyperknob.pruners import ThresholdPruner

torch = require("torch", "'hyperknob[nn]'")
L = require("lightning.pytorch", "'hyperknob[lightning]'")
from hyperknob.integration.lightning import PruningCallback  # noqa: E402

EPOCHS = 4


class Classifier(L.LightningModule):
    """Logistic regression on four features; logs train_loss, val_loss and val_acc."""

    def __init__(self, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Linear(4, 2)

    def training_step(self, batch: Any, index: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loaders() -> tuple[Any, Any]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    data = torch.utils.data.TensorDataset
    return (torch.utils.data.DataLoader(data(x[:64], y[:64]), batch_size=16),
            torch.utils.data.DataLoader(data(x[64:], y[64:]), batch_size=32))


def objective(trial: hyperknob.Trial, trainer_class: Any = None) -> float:
    torch.manual_seed(0)
    model = Classifier(lr=trial.suggest_float("lr", 1e-3, 1e4, log=True))
    callback = PruningCallback(trial, monitor="val_loss", val_metric="val_acc")
    trainer = (trainer_class or L.Trainer)(
        max_epochs=EPOCHS, callbacks=[callback], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on workers and log intervals
        trainer.fit(model, *loaders())
    callback.check_pruned()
    return float(trainer.callback_metrics["val_loss"])


def run(lr: float, pruner: Any = None) -> hyperknob.FrozenTrial:
    study = hyperknob.create_study(pruner=pruner)
    study.enqueue_trial({"lr": lr})
    study.optimize(objective, n_trials=1)
    return study.trials[0]


def test_reports_one_value_per_epoch_and_records_the_curves() -> None:
    trial = run(0.5)
    assert trial.state is hyperknob.TrialState.COMPLETE
    record = read_record(trial)
    assert record is not None
    assert sorted(trial.intermediate_values) == list(range(1, EPOCHS + 1))
    assert {name: len(curve) for name, curve in record.curves.items()} == {
        "train_loss": EPOCHS, "val_loss": EPOCHS, "val_metric": EPOCHS}
    assert list(trial.intermediate_values.values()) == pytest.approx(record.curve("val_loss"))
    assert trial.value == pytest.approx(record.curve("val_loss")[-1])
    assert record.stop_reason is StopReason.COMPLETED
    assert record.knob_names == {"learning_rate": "lr"} and record.config == {"lr": 0.5}
    assert record.n_parameters == 10 and record.initial_loss is not None  # the sanity check
    assert all(0.0 <= v <= 1.0 for v in record.curve("val_metric") if v is not None)


def test_a_pruned_run_stops_and_ends_pruned_with_the_pruners_reason() -> None:
    trial = run(0.5, ThresholdPruner(upper=0.0, n_warmup_steps=2))
    assert trial.state is hyperknob.TrialState.PRUNED
    assert trial.system_attrs["prune_reason"].startswith("ThresholdPruner: value")
    assert sorted(trial.intermediate_values) == [1, 2]
    record = read_record(trial)
    assert record is not None and record.stop_reason is StopReason.STOPPED
    assert len(record.curve("train_loss")) == 2  # the trainer stopped after epoch 2


def test_a_diverged_run_ends_pruned_and_is_diagnosed_by_its_own_knob() -> None:
    trial = run(1e4)
    assert trial.state is hyperknob.TrialState.PRUNED
    assert trial.system_attrs["prune_reason"].startswith("diverged: training loss")
    diagnosis = diagnose_trial(trial)
    assert diagnosis is not None and diagnosis.pathology.value == "diverged"
    assert "lr from 1e+04 to 1e+03" in diagnosis.advice


def test_either_lightning_package_accepts_the_callback() -> None:
    if importlib.util.find_spec("pytorch_lightning") is None:
        pytest.skip("pytorch_lightning is not installed")
    import pytorch_lightning

    trial = hyperknob.create_study().ask()
    callback = PruningCallback(trial)
    assert isinstance(callback, L.Callback)
    assert isinstance(callback, pytorch_lightning.Callback)


def test_a_monitor_that_is_no_recorded_metric_is_refused() -> None:
    trial = hyperknob.create_study().ask()
    with pytest.raises(ValueError, match="monitor must be one of the recorded metrics"):
        PruningCallback(trial, monitor="val_f1", val_metric="val_acc")
    assert PruningCallback(trial, monitor="val_acc").keys["val_metric"] == "val_acc"
