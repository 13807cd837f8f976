"""The trainer: one plain loop that learns W and b, with a hook after every epoch."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from hyperknob._training_record import StopReason, TrainingRecord
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._model import MLP, build_mlp
from hyperknob.nn._tracker import DIVERGENCE_FACTOR, EpochTracker

__all__ = ["DIVERGENCE_FACTOR", "EpochRecord", "TrainResult", "evaluate", "resolve_device",
           "to_tensors", "train"]

if TYPE_CHECKING:
    from hyperknob.nn._data import Dataset



@dataclasses.dataclass(frozen=True, kw_only=True)
class EpochRecord:
    """What one epoch of training produced."""

    epoch: int
    train_loss: float
    val_loss: float
    val_metric: float
    learning_rate: float
    seconds: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainResult:
    """The trained model (best epoch's weights) and the curves that led there.

    ``stop_reason`` is a :class:`StopReason` (a ``str``: ``"completed"``,
    ``"early_stopping"``, ``"diverged"`` or ``"stopped"`` -- the ``on_epoch`` hook asked to
    stop, e.g. a pruner); ``stop_detail`` says why in words.
    """

    model: MLP
    config: MLPConfig
    history: tuple[EpochRecord, ...]
    metric: str
    best_epoch: int
    stop_reason: StopReason
    stop_detail: str
    n_parameters: int
    initial_loss: float
    device: str = "cpu"
    seconds: float = 0.0

    @property
    def best(self) -> EpochRecord:
        """Return the record of the best epoch (the weights the model holds)."""
        return self.history[self.best_epoch]

    def record(self, *, train_rows: int | None = None) -> TrainingRecord:
        """Return what a trial keeps of this run (see :func:`hyperknob.nn.store_record`)."""
        return TrainingRecord(
            curves={name: tuple(values) for name, values in self.curves().items()},
            config=self.config.to_dict(), stop_reason=self.stop_reason,
            stop_detail=self.stop_detail, n_parameters=self.n_parameters,
            best_epoch=self.best_epoch, train_rows=train_rows, device=self.device,
            seconds=self.seconds)

    def curves(self) -> dict[str, list[float]]:
        """Return train loss, validation loss and validation metric per epoch."""
        return {
            "train_loss": [r.train_loss for r in self.history],
            "val_loss": [r.val_loss for r in self.history],
            "val_metric": [r.val_metric for r in self.history],
        }


def resolve_device(device: str) -> torch.device:
    """Return the device for ``"auto"`` (CUDA, then MPS, then CPU) or a name like ``"cuda:0"``."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', "
                         f"got {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here")
    if resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {device!r} was asked for but MPS (Apple's GPU) is not "
                             "available here; expected 'cpu', 'auto' or a CUDA device")
    return resolved


def make_optimizer(model: nn.Module, config: MLPConfig) -> torch.optim.Optimizer:
    """Return the optimizer the config names, with its own settings. L2 is weight decay."""
    params = model.parameters()
    lr, decay = config.learning_rate, config.l2
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(config.beta1, config.beta2),
                                weight_decay=decay)
    if config.optimizer == "adamw":  # decoupled weight decay (Loshchilov & Hutter, 2019)
        return torch.optim.AdamW(params, lr=lr, betas=(config.beta1, config.beta2),
                                 weight_decay=decay)
    return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=decay)


def make_schedule(optimizer: torch.optim.Optimizer,
                  config: MLPConfig) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Return the learning-rate schedule, stepped once per epoch, or None for "constant"."""
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, config.step_size, config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return None


def to_tensors(data: Dataset, device: torch.device) -> dict[str, torch.Tensor]:
    """Return the training and validation splits as tensors on ``device``."""
    classify = data.task == "classification"
    out = {}
    for split in ("train", "val"):
        x = getattr(data, f"x_{split}")
        y = getattr(data, f"y_{split}")
        out[f"x_{split}"] = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
        out[f"y_{split}"] = torch.as_tensor(
            np.asarray(y, dtype=np.int64 if classify else np.float32), device=device)
    return out


@dataclasses.dataclass
class _Problem:
    """The data as tensors on the device, the loss, and how the metric is read."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classify: bool
    target_std: float
    loss_fn: nn.Module

    @classmethod
    def on(cls, data: Dataset, device: torch.device) -> _Problem:
        classify = data.task == "classification"
        tensors = to_tensors(data, device)
        y_train, y_val = tensors["y_train"], tensors["y_val"]
        if not classify:
            y_train, y_val = y_train.unsqueeze(1), y_val.unsqueeze(1)
        return cls(tensors["x_train"], y_train, tensors["x_val"], y_val, classify,
                   data.target_std, nn.CrossEntropyLoss() if classify else nn.MSELoss())

    def validate(self, model: nn.Module) -> tuple[float, float]:
        """Return the validation loss and metric (accuracy, or RMSE in target units)."""
        model.eval()
        with torch.no_grad():
            out = model(self.x_val)
            val_loss = float(self.loss_fn(out, self.y_val))
            if self.classify:
                return val_loss, float((out.argmax(dim=1) == self.y_val).float().mean())
            return val_loss, math.sqrt(val_loss) * self.target_std


def train(
    config: MLPConfig,
    data: Dataset,
    *,
    seed: int = 0,
    device: str = "cpu",
    on_epoch: Callable[[EpochRecord], bool] | None = None,
    log_every: int | None = None,
    log: Callable[[str], Any] = print,
    keep: str = "best",
) -> TrainResult:
    """Train an MLP on ``data`` and return the best epoch's model with every epoch's record.

    Classification minimizes cross-entropy and reports validation accuracy; regression
    minimizes mean squared error and reports validation RMSE in the target's own units.
    ``on_epoch`` is called after every epoch; returning True stops training (a pruner's
    decision). Every ``log_every`` iterations the current cost is printed — the article's
    advice to watch the cost often. A loss that turns NaN/inf or grows past
    ``DIVERGENCE_FACTOR`` times its starting value stops training as diverged. ``keep`` is
    ``"best"`` (the weights of the best validation epoch) or ``"last"`` (the last epoch's: a
    refit whose validation rows are in its training set has nothing to choose by).

    ``seed`` fixes the initial weights, the batch order and the dropout draws; the
    caller's random state (torch's, numpy's, Python's) is left as it was.

    Example:
        >>> from hyperknob.nn import load_dataset
        >>> result = train(MLPConfig(epochs=5), load_dataset("iris"))  # doctest: +SKIP
    """
    if log_every is not None and (isinstance(log_every, bool) or log_every < 1):
        raise ValueError(f"log_every must be an int >= 1 or None, got {log_every!r}")
    if keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', got keep={keep!r}")
    target = resolve_device(device)
    began = time.perf_counter()
    # The weights' initial draws and dropout come from torch's generator: seed it inside a
    # fork, so the caller's random state is untouched and every run with ``seed`` is alike.
    with torch.random.fork_rng(devices=[target] if target.type == "cuda" else []):
        torch.manual_seed(seed)
        problem = _Problem.on(data, target)
        n_outputs = int(data.n_classes or 0) if problem.classify else 1
        model = build_mlp(config, data.n_features, n_outputs).to(target)
        with torch.no_grad():
            initial_loss = float(problem.loss_fn(model(problem.x_train), problem.y_train))
        tracker = EpochTracker(config, problem.classify, initial_loss)
        history, best_state = _fit(model, config, problem, tracker, seed, on_epoch,
                                   _Logger(log_every, log))
    if tracker.stop is None:  # e.g. zero epochs ran
        tracker.stop = (StopReason.COMPLETED, f"trained all {config.epochs} epochs")
    best_epoch = tracker.best_epoch
    if keep == "last" or best_state is None:
        best_epoch = len(history) - 1
    else:
        model.load_state_dict(best_state)
    return TrainResult(
        model=model, config=config, history=tuple(history),
        metric="accuracy" if problem.classify else "rmse", best_epoch=max(best_epoch, 0),
        stop_reason=tracker.stop[0], stop_detail=tracker.stop[1],
        n_parameters=sum(p.numel() for p in model.parameters()), initial_loss=initial_loss,
        device=str(target), seconds=time.perf_counter() - began,
    )


class _Logger:
    """Print the cost every ``every`` iterations (None: never)."""

    def __init__(self, every: int | None, log: Callable[[str], Any]) -> None:
        self.every, self.log, self.iteration = every, log, 0

    def step(self, epoch: int, loss: torch.Tensor) -> None:
        self.iteration += 1
        if self.every is not None and self.iteration % self.every == 0:
            self.log(f"epoch {epoch} iteration {self.iteration}: cost {float(loss):.6g}")


def _fit(model: MLP, config: MLPConfig, problem: _Problem, tracker: EpochTracker, seed: int,
         on_epoch: Callable[[EpochRecord], bool] | None,
         logger: _Logger) -> tuple[list[EpochRecord], dict[str, torch.Tensor] | None]:
    """The epochs: train, check divergence, validate, keep the best weights, ask the hook."""
    optimizer = make_optimizer(model, config)
    schedule = make_schedule(optimizer, config)
    shuffle = torch.Generator().manual_seed(seed)
    history: list[EpochRecord] = []
    best_state: dict[str, torch.Tensor] | None = None
    for epoch in range(config.epochs):
        started = time.perf_counter()
        train_loss = _train_epoch(model, config, problem, optimizer, shuffle, epoch, logger)
        learning_rate = optimizer.param_groups[0]["lr"]
        if schedule is not None:
            schedule.step()
        if tracker.diverged(epoch, train_loss):
            history.append(EpochRecord(
                epoch=epoch, train_loss=train_loss, val_loss=math.nan, val_metric=math.nan,
                learning_rate=learning_rate, seconds=time.perf_counter() - started))
            break
        val_loss, val_metric = problem.validate(model)
        record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss,
                             val_metric=val_metric, learning_rate=learning_rate,
                             seconds=time.perf_counter() - started)
        history.append(record)
        if tracker.validated(epoch, val_loss, val_metric):
            best_state = copy.deepcopy(model.state_dict())
        if tracker.decide(epoch, hook_stops=on_epoch is not None and on_epoch(record)):
            break
    return history, best_state


def _train_epoch(model: MLP, config: MLPConfig, problem: _Problem,
                 optimizer: torch.optim.Optimizer, shuffle: torch.Generator, epoch: int,
                 logger: _Logger) -> float:
    """Run one epoch of mini-batch steps; return the mean training loss over its rows."""
    model.train()
    x, y = problem.x_train, problem.y_train
    n = x.shape[0]
    order = torch.randperm(n, generator=shuffle).to(x.device)
    weights = model.weight_matrices()
    batch_losses: list[torch.Tensor] = []
    for start in range(0, n, config.batch_size):
        index = order[start:start + config.batch_size]
        loss = problem.loss_fn(model(x[index]), y[index])
        batch_losses.append(loss.detach())  # summed once per epoch: no launch per batch
        if config.l1 > 0:
            loss = loss + config.l1 * sum(w.abs().sum() for w in weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        logger.step(epoch, loss.detach())
    sizes = torch.full((len(batch_losses),), float(config.batch_size), device=x.device)
    sizes[-1] = n - config.batch_size * (len(batch_losses) - 1)
    return float(torch.stack(batch_losses) @ sizes) / n


def evaluate(model: nn.Module, data: Dataset, split: str = "test", *,
             device: str = "cpu") -> float:
    """Return accuracy (classification) or RMSE in target units (regression) on a split, for
    an MLP or any module with the same inputs and outputs (e.g. an ``Ensemble``)."""
    target = resolve_device(device)
    x = torch.as_tensor(np.asarray(getattr(data, f"x_{split}"), dtype=np.float32),
                        device=target)
    y = np.asarray(getattr(data, f"y_{split}"))
    model = model.to(target).eval()
    with torch.no_grad():
        out = model(x).cpu().numpy()
    if data.task == "classification":
        return float((out.argmax(axis=1) == y).mean())
    return float(np.sqrt(np.mean((out[:, 0] - y) ** 2)) * data.target_std)
