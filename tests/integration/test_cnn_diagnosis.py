"""Acceptance: a user's own PyTorch CNN, recorded through the torch helper, is diagnosed.

A two-layer CNN learns three stripe patterns (horizontal, vertical, diagonal) on noisy 8x8
images with plain SGD. At lr=5 the first epoch blows the loss up (to about 200x where it
started) and the network never learns; at lr=0.03-0.3 it trains. The diagnosis must call the
first a too-high learning rate and name the user's own parameter, ``lr``.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from _frameworks import require

import hyperknob
from hyperknob.analysis import Pathology, diagnose_study, diagnose_trial

torch = require("torch", "'hyperknob[nn]'")
from hyperknob.integration.torch import LearningCurveRecorder  # noqa: E402

HIGH, SANE = 5.0, 0.1
TOO_HIGH = (Pathology.DIVERGED, Pathology.UNSTABLE)


def stripes(n: int, seed: int) -> tuple[Any, Any]:
    """Return ``n`` noisy 8x8 images of three stripe patterns (either sign) and the labels."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=generator)
    wave = torch.sin(torch.arange(8.0) * math.pi / 2)
    horizontal = wave.view(8, 1).expand(8, 8)
    diagonal = torch.sin((torch.arange(8.0).view(8, 1) + torch.arange(8.0)) * math.pi / 2)
    patterns = torch.stack([horizontal, horizontal.T, diagonal])
    sign = torch.randint(0, 2, (n, 1, 1), generator=generator) * 2.0 - 1.0
    images = patterns[labels] * sign + 0.8 * torch.randn(n, 8, 8, generator=generator)
    return images.unsqueeze(1), labels


def objective(trial: hyperknob.Trial) -> float:
    """The user's objective: their CNN, their loop, their parameter name ``lr``."""
    (x, y), (x_val, y_val) = stripes(384, seed=0), stripes(128, seed=1)
    lr = trial.suggest_float("lr", 1e-3, 10.0, log=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(8 * 8 * 8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    with torch.no_grad():  # where training starts: the untrained model's loss
        initial = loss_fn(model(x_val), y_val).item()
    recorder = LearningCurveRecorder(trial, model=model, initial_loss=initial,
                                     config={"optimizer": "sgd"})
    order = torch.Generator().manual_seed(0)
    for _ in range(10):
        losses = []
        for batch in torch.randperm(len(y), generator=order).split(32):
            loss = loss_fn(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            accuracy = (logits.argmax(1) == y_val).float().mean().item()
        recorder.record_epoch(train_loss=sum(losses) / len(losses), val_loss=val_loss,
                              val_metric=accuracy)
        recorder.check_pruned()
    recorder.finish()
    return val_loss


@pytest.fixture(scope="module")
def study() -> hyperknob.Study:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # fast on a shared machine, and the same runs everywhere
    try:
        study = hyperknob.create_study()
        for lr in (HIGH, SANE, 0.03, 0.3):
            study.enqueue_trial({"lr": lr})
        study.optimize(objective, n_trials=4)
    finally:
        torch.set_num_threads(threads)
    return study


def by_lr(study: hyperknob.Study, lr: float) -> hyperknob.FrozenTrial:
    return next(t for t in study.trials if t.params["lr"] == lr)


def test_the_high_learning_rate_is_diagnosed_as_too_high_by_the_users_name(
        study: hyperknob.Study) -> None:
    high = by_lr(study, HIGH)
    assert high.state is hyperknob.TrialState.PRUNED  # stopped after its first epoch
    assert high.system_attrs["prune_reason"].startswith("diverged: training loss")
    assert high.system_attrs["prune_reason"].endswith("; lr 5")
    diagnosis = diagnose_study(study.trials)[high.number]
    assert diagnosis.pathology in TOO_HIGH
    assert diagnosis.knobs[0] == "learning_rate"
    # drawn from the study: the three sane runs trained smoothly
    assert diagnosis.advice.startswith("lr 5 diverged; every trial with optimizer sgd and "
                                       "lr <= 0.3 trained smoothly (3 of 3)")
    assert diagnosis.advice.endswith("cap lr at 0.3 or below.")
    alone = diagnose_trial(high)  # no study to draw on: the generic step, by the user's name
    assert alone is not None and alone.pathology in TOO_HIGH
    assert "(by 10x to start: lr from 5 to 0.5)" in alone.advice


def test_the_sane_learning_rate_is_not_diagnosed_as_too_high(study: hyperknob.Study) -> None:
    sane = by_lr(study, SANE)
    assert sane.state is hyperknob.TrialState.COMPLETE
    diagnoses = diagnose_study(study.trials)
    assert diagnoses[sane.number].pathology not in TOO_HIGH
    assert all(diagnoses[t.number].pathology not in TOO_HIGH
               for t in study.trials if t.params["lr"] < HIGH)
    assert sane.value is not None and sane.value < 0.2  # it learned the stripes
