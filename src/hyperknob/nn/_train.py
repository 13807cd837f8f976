"""The trainer: one plain loop that learns W and b, with a hook after every epoch."""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from hyperknob.nn._config import MLPConfig
from hyperknob.nn._model import MLP, build_mlp

if TYPE_CHECKING:
    from hyperknob.nn._data import Dataset

DIVERGENCE_FACTOR = 10.0  # a loss this many times its starting value has diverged


@dataclasses.dataclass(frozen=True)
class EpochRecord:
    """What one epoch of training produced."""

    epoch: int
    train_loss: float
    val_loss: float
    val_metric: float
    learning_rate: float
    seconds: float


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """The trained model (best epoch's weights) and the curves that led there.

    ``stop_reason`` is ``"completed"``, ``"early_stopping"``, ``"diverged"`` or ``"stopped"``
    (the ``on_epoch`` hook asked to stop, e.g. a pruner); ``stop_detail`` says why in words.
    """

    model: MLP
    config: MLPConfig
    history: tuple[EpochRecord, ...]
    metric: str
    best_epoch: int
    stop_reason: str
    stop_detail: str
    n_parameters: int
    initial_loss: float

    @property
    def best(self) -> EpochRecord:
        """Return the record of the best epoch (the weights the model holds)."""
        return self.history[self.best_epoch]

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
    return resolved


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (dropout draws from torch's)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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


def _to_tensors(data: Dataset, device: torch.device) -> dict[str, torch.Tensor]:
    classify = data.task == "classification"
    out = {}
    for split in ("train", "val"):
        x = getattr(data, f"x_{split}")
        y = getattr(data, f"y_{split}")
        out[f"x_{split}"] = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
        out[f"y_{split}"] = torch.as_tensor(
            np.asarray(y, dtype=np.int64 if classify else np.float32), device=device)
    return out


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

    Example:
        >>> from hyperknob.nn import load_dataset
        >>> result = train(MLPConfig(epochs=5), load_dataset("iris"))  # doctest: +SKIP
    """
    if log_every is not None and (isinstance(log_every, bool) or log_every < 1):
        raise ValueError(f"log_every must be an int >= 1 or None, got {log_every!r}")
    if keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', got keep={keep!r}")
    classify = data.task == "classification"
    target = resolve_device(device)
    seed_everything(seed)
    n_outputs = int(data.n_classes or 0) if classify else 1
    model = build_mlp(config, data.n_features, n_outputs).to(target)
    tensors = _to_tensors(data, target)
    x_train, y_train = tensors["x_train"], tensors["y_train"]
    x_val, y_val = tensors["x_val"], tensors["y_val"]
    if not classify:
        y_train, y_val = y_train.unsqueeze(1), y_val.unsqueeze(1)
    loss_fn: nn.Module = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    optimizer = make_optimizer(model, config)
    schedule = make_schedule(optimizer, config)
    shuffle = torch.Generator().manual_seed(seed)
    weights = model.weight_matrices()
    n = x_train.shape[0]
    with torch.no_grad():
        initial_loss = float(loss_fn(model(x_train), y_train))
    limit = DIVERGENCE_FACTOR * max(initial_loss, 1e-8)

    history: list[EpochRecord] = []
    best_epoch, best_key = -1, (math.inf, math.inf)
    best_state: dict[str, torch.Tensor] | None = None
    stop_reason, stop_detail = "completed", f"trained all {config.epochs} epochs"
    since_better, best_val_loss = 0, math.inf
    iteration = 0
    for epoch in range(config.epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=shuffle).to(target)
        batch_losses: list[torch.Tensor] = []
        for start in range(0, n, config.batch_size):
            index = order[start:start + config.batch_size]
            loss = loss_fn(model(x_train[index]), y_train[index])
            batch_losses.append(loss.detach())  # summed once per epoch: no launch per batch
            if config.l1 > 0:
                loss = loss + config.l1 * sum(w.abs().sum() for w in weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            iteration += 1
            if log_every is not None and iteration % log_every == 0:
                log(f"epoch {epoch} iteration {iteration}: cost {float(loss.detach()):.6g}")
        sizes = torch.full((len(batch_losses),), float(config.batch_size), device=target)
        sizes[-1] = n - config.batch_size * (len(batch_losses) - 1)
        train_loss = float(torch.stack(batch_losses) @ sizes) / n
        learning_rate = optimizer.param_groups[0]["lr"]
        if schedule is not None:
            schedule.step()
        if not math.isfinite(train_loss) or train_loss > limit:
            stop_reason = "diverged"
            stop_detail = (f"training loss {train_loss:.4g} at epoch {epoch} "
                           + ("is not finite" if not math.isfinite(train_loss) else
                              f"is over {DIVERGENCE_FACTOR:g}x its starting value "
                              f"{initial_loss:.4g}")
                           + f"; learning rate {config.learning_rate:g}")
            history.append(EpochRecord(epoch, train_loss, math.nan, math.nan, learning_rate,
                                       time.perf_counter() - started))
            break
        model.eval()
        with torch.no_grad():
            out = model(x_val)
            val_loss = float(loss_fn(out, y_val))
            if classify:
                val_metric = float((out.argmax(dim=1) == y_val).float().mean())
            else:
                val_metric = math.sqrt(val_loss) * data.target_std
        record = EpochRecord(epoch, train_loss, val_loss, val_metric, learning_rate,
                             time.perf_counter() - started)
        history.append(record)
        key = (-val_metric if classify else val_metric, val_loss)
        if math.isfinite(val_loss) and key < best_key:
            best_epoch, best_key = epoch, key
            best_state = copy.deepcopy(model.state_dict())
        if val_loss < best_val_loss:
            best_val_loss, since_better = val_loss, 0
        else:
            since_better += 1
        if on_epoch is not None and on_epoch(record):
            stop_reason, stop_detail = "stopped", f"stopped after epoch {epoch} by on_epoch"
            break
        if config.patience is not None and since_better >= config.patience:
            stop_reason = "early_stopping"
            stop_detail = (f"validation loss did not improve for {config.patience} epochs "
                           f"(best {best_val_loss:.4g})")
            break
    if keep == "last":
        best_epoch = len(history) - 1
    elif best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history) - 1
    return TrainResult(
        model=model, config=config, history=tuple(history),
        metric="accuracy" if classify else "rmse", best_epoch=max(best_epoch, 0),
        stop_reason=stop_reason, stop_detail=stop_detail,
        n_parameters=sum(p.numel() for p in model.parameters()), initial_loss=initial_loss,
    )


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
