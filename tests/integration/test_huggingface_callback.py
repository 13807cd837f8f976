"""The Hugging Face callback and search with a tiny BERT built from a config (no download)."""

from __future__ import annotations

from typing import Any

import pytest
from _frameworks import require

import hyperknob
from hyperknob._training_record import StopReason, read_record
from hyperknob.pruners import ThresholdPruner

torch = require("torch", "'hyperknob[nn]'")
transformers = require("transformers", "'hyperknob[huggingface]'")
require("accelerate", "'hyperknob[huggingface]'")
from hyperknob.integration.huggingface import (  # noqa: E402
    PruningCallback,
    hyperparameter_search,
)

EPOCHS = 3


class Tokens(torch.utils.data.Dataset):
    """Pre-tokenized sequences of 8 ids; the label says whether the first id is above 10."""

    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(3, 20, (n, 8), generator=generator)
        self.labels = (self.ids[:, 0] > 10).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"input_ids": self.ids[index], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.labels[index]}


def accuracy(prediction: Any) -> dict[str, float]:
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def make_trainer(trial: hyperknob.Trial, tmp: str) -> Any:
    config = transformers.BertConfig(
        vocab_size=24, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    transformers.set_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_config(config)
    args = transformers.TrainingArguments(
        output_dir=tmp, num_train_epochs=EPOCHS, per_device_train_batch_size=16,
        learning_rate=trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
        eval_strategy="epoch", save_strategy="no", report_to="none", use_cpu=True,
        disable_tqdm=True, logging_steps=100, seed=0)
    return transformers.Trainer(model=model, args=args, train_dataset=Tokens(48, 0),
                                eval_dataset=Tokens(24, 1), compute_metrics=accuracy)


def test_search_reports_each_evaluation_and_records_the_curves(tmp_path: Any) -> None:
    study = hyperknob.create_study()
    for learning_rate in (3e-3, 1e-2):
        study.enqueue_trial({"learning_rate": learning_rate})
    returned = hyperparameter_search(lambda trial: make_trainer(trial, str(tmp_path)),
                                     n_trials=2, study=study)
    assert returned is study and len(study.trials) == 2
    for trial in study.trials:
        assert trial.state is hyperknob.TrialState.COMPLETE
        assert sorted(trial.intermediate_values) == list(range(1, EPOCHS + 1))
        record = read_record(trial)
        assert record is not None and record.stop_reason is StopReason.COMPLETED
        # logging_steps=100 never logs within an epoch: the callback has the loss logged
        # before each evaluation, so the training curve is complete
        assert {name: len(curve) for name, curve in record.curves.items()} == {
            "train_loss": EPOCHS, "val_loss": EPOCHS}
        assert trial.value == pytest.approx(record.curve("val_loss")[-1])
        assert record.config is not None
        assert record.config["per_device_train_batch_size"] == 16
        assert record.knob_names is not None
        assert record.knob_names["learning_rate"] == "learning_rate"
        assert record.knob_names["batch_size"] == "per_device_train_batch_size"


def test_the_callback_prunes_and_the_trial_ends_pruned(tmp_path: Any) -> None:
    def objective(trial: hyperknob.Trial) -> float:
        trainer = make_trainer(trial, str(tmp_path))
        callback = PruningCallback(trial, monitor="eval_accuracy")
        trainer.add_callback(callback)
        trainer.train()
        callback.check_pruned()
        return float(trainer.evaluate()["eval_accuracy"])

    study = hyperknob.create_study(direction="maximize",
                                   pruner=ThresholdPruner(lower=2.0, n_warmup_steps=1))
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state is hyperknob.TrialState.PRUNED
    assert trial.system_attrs["prune_reason"].startswith("ThresholdPruner: value")
    assert list(trial.intermediate_values) == [1]
    record = read_record(trial)
    assert record is not None and record.stop_reason is StopReason.STOPPED
    assert {name: len(curve) for name, curve in record.curves.items()} == {
        "train_loss": 1, "val_loss": 1, "val_metric": 1}  # stopped after the first epoch


def test_the_trainer_takes_no_other_search_backend(tmp_path: Any) -> None:
    """Why hyperparameter_search exists: transformers' backends are a fixed enum."""
    trainer = make_trainer(hyperknob.create_study().ask(), str(tmp_path))
    with pytest.raises(ValueError, match="not a valid HPSearchBackend"):
        trainer.hyperparameter_search(backend="hyperknob", n_trials=1)


def test_an_untrained_model_whose_loss_overflows_starts_no_broken_record() -> None:
    """eval_on_start may measure an infinite loss; the record then has no initial loss
    instead of failing when the first epoch is recorded."""
    from types import SimpleNamespace

    study = hyperknob.create_study()
    trial = study.ask()
    callback = PruningCallback(trial)
    callback._training = True  # as on_train_begin leaves it
    control = SimpleNamespace(should_training_stop=False)
    callback.on_evaluate(None, SimpleNamespace(global_step=0), control,
                         metrics={"eval_loss": float("inf")})
    callback.on_evaluate(None, SimpleNamespace(global_step=5), control,
                         metrics={"eval_loss": 0.5})
    assert callback.recorder is not None
    study.tell(trial, 0.5)
    record = read_record(study.trials[0])
    assert record is not None and record.initial_loss is None
    assert record.curve("val_loss") == (0.5,)
