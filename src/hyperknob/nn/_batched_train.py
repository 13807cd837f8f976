"""Train K configurations at once: stacked, padded MLPs stepping in lockstep on one device.

Each model keeps everything ``train`` gives it — its own initial weights, shuffle, minibatch
size, dropout draws, optimizer, schedule, L1/L2, divergence check, early stopping, ``on_epoch``
hook and best-epoch weights — and leaves the stack when it is done or stopped.

Two modes for the random draws. Exact (the default on CPU): each model draws its dropout noise
on the CPU from its own generator, seeded exactly as ``train`` seeds torch's CPU generator, so
on CPU the curves equal K sequential ``train`` runs to float rounding
(``tests/nn/test_batched_train.py``). On CUDA ``train`` draws its dropout from the CUDA
generator instead, so there only models without dropout follow ``train``'s numbers. Fast (the
default on CUDA): one batched draw for all models per layer and step, from the stack's own
generator — the same distribution, not the same numbers. Shuffles are always the sequential
ones. Neither mode touches torch's global CUDA generator.
"""

from __future__ import annotations

import bisect
import math
import numbers
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeGuard

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention

from hyperknob._training_record import StopReason
from hyperknob.nn import _batched_model as stacked
from hyperknob.nn._batched_optim import FAMILIES, BatchedOptimizer, learning_rates
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._model import build_mlp
from hyperknob.nn._tracker import EpochTracker
from hyperknob.nn._train import EpochRecord, TrainResult, resolve_device, to_tensors

if TYPE_CHECKING:
    from hyperknob.nn._data import Dataset

BatchedHook = Callable[[int, EpochRecord], bool]
EVAL_ELEMENTS = 2**25  # activations per chunk of models when evaluating all rows at once


class _Model:
    """One model's bookkeeping (what ``train`` keeps in local variables)."""

    def __init__(self, index: int, config: MLPConfig, seed: int, classify: bool) -> None:
        self.index, self.config, self.seed = index, config, seed
        self.rates = learning_rates(config)
        self.noise: torch.Generator | None = None  # exact mode: this model's dropout draws
        self.history: list[EpochRecord] = []
        self.tracker = EpochTracker(config, classify)

    def steps_per_epoch(self, n: int) -> int:
        return -(-n // self.config.batch_size)


def _sort_key(model: _Model, n: int) -> tuple[int, int, int]:
    return (FAMILIES.index(model.config.optimizer), -model.steps_per_epoch(n), model.index)


class _Stack:
    """The models of one depth and activation, their padded parameters and optimizer.

    Everything that depends only on which models are in the stack (flags, the steps of an
    epoch) is computed when the stack changes, not in the step loop.
    """

    def __init__(self, models: list[_Model], n_inputs: int, n_outputs: int,
                 device: torch.device, exact: bool) -> None:
        self.models = models
        configs = [m.config for m in models]
        self.layout = stacked.layout_for(configs, n_inputs, n_outputs)
        self.activation = configs[0].activation
        built = []
        # The sequential path, as train() draws it: seed, build, then dropout's RNG state;
        # in a fork of torch's CPU generator, so the caller's random state stays as it was.
        with torch.random.fork_rng(devices=[]):
            for model in models:
                torch.default_generator.manual_seed(model.seed)
                built.append(build_mlp(model.config, n_inputs, n_outputs))
                if exact and model.config.dropout > 0:
                    model.noise = torch.Generator()
                    model.noise.set_state(torch.get_rng_state())
        # fast mode's batched draws: a generator of the stack's own, reproducible run to run
        self.draws = torch.Generator(device=device).manual_seed(models[0].seed)
        params, unit_masks = stacked.stack(built, self.layout)
        self.params = stacked.Parameters(params.to(device), self.layout)
        self.unit_masks = [mask.to(device) for mask in unit_masks]
        self.best = self.params.data.clone()
        self.optimizer = BatchedOptimizer(configs, self.params.data)
        self.exact = exact
        self._refresh()

    def _refresh(self) -> None:
        device = self.params.data.device
        configs = [m.config for m in self.models]
        self.keep = torch.tensor([1.0 - c.dropout for c in configs], device=device)
        self.l1 = torch.tensor([c.l1 for c in configs], device=device)
        self.batch = torch.tensor([c.batch_size for c in configs], device=device)
        self.any_l1 = any(c.l1 > 0 for c in configs)
        self.any_dropout = any(c.dropout > 0 for c in configs)
        self.droppers = [(k, m.config, m.noise) for k, m in enumerate(self.models)
                         if m.noise is not None]
        # one shuffle (one seed) and one batch size: every model steps on the same rows
        self.shared = (len({m.seed for m in self.models}) == 1
                       and len({c.batch_size for c in configs}) == 1)
        self._plan: tuple[int, list[tuple[int, list[int]]]] | None = None

    def select(self, keep: list[int]) -> None:
        """Keep only the models at positions ``keep`` (the others left the stack)."""
        index = torch.tensor(keep, dtype=torch.long, device=self.params.data.device)
        self.models = [self.models[i] for i in keep]
        self.params = stacked.Parameters(self.params.data[index], self.layout)
        self.best = self.best[index]
        self.unit_masks = [mask[index] for mask in self.unit_masks]
        self.optimizer.select(index)
        self._refresh()

    def plan(self, n: int) -> list[tuple[int, list[int]]]:
        """Return, for each lockstep step of an epoch over ``n`` rows, the most rows a model
        uses and how many models of each optimizer family step (a prefix of the family: its
        models are sorted by steps per epoch, most first)."""
        if self._plan is None or self._plan[0] != n:
            sizes = sorted({m.config.batch_size for m in self.models})
            steps = [sorted(self.models[k].steps_per_epoch(n) for k in range(start, stop))
                     for _, start, stop in self.optimizer.families()]
            plan = [(max(max(0, min(size, n - step * size)) for size in sizes),
                     [len(family) - bisect.bisect_right(family, step) for family in steps])
                    for step in range(-(-n // sizes[0]))]
            self._plan = (n, plan)
        return self._plan[1]

    def masks(self, rows: int, part: slice = slice(None), *, step: int | None = None,
              n: int = 0) -> list[torch.Tensor]:
        """Return each hidden layer's mask for ``rows`` rows in train mode (dropout drawn).

        ``part``: the models to draw for. ``step``: the lockstep step of an epoch over ``n``
        rows, so that exact mode draws just the rows each model really uses, as ``nn.Dropout``
        does on a minibatch of that size; None: all ``rows``.
        """
        units = [unit[part] for unit in self.unit_masks]
        if not self.any_dropout:
            return units
        if not self.exact:
            keep = self.keep[part].view(-1, 1, 1)
            return [torch.bernoulli(keep.expand(-1, rows, unit.shape[2]),
                                    generator=self.draws) / keep * unit for unit in units]
        first, stop, _ = part.indices(len(self.models))
        out = []
        for layer, unit in enumerate(units):
            mask = unit.expand(-1, rows, -1).clone()
            for k, config, noise in self.droppers:
                size = config.batch_size
                count = rows if step is None else max(0, min(size, n - step * size))
                if not first <= k < stop or count == 0:
                    continue
                real = config.hidden_layers[layer]
                keep_k = 1.0 - config.dropout
                draw = torch.empty(count, real).bernoulli_(keep_k, generator=noise)
                mask[k - first, :count, :real] = draw.div_(keep_k).to(mask.device)
            out.append(mask)
        return out

    def chunks(self, rows: int) -> list[slice]:
        """Return slices of the models small enough to evaluate ``rows`` rows at once."""
        size = max(1, EVAL_ELEMENTS // max(1, rows * max(self.layout.widths)))
        k = len(self.models)
        return [slice(start, min(start + size, k)) for start in range(0, k, size)]


def _losses(out: torch.Tensor, y: torch.Tensor, classify: bool) -> torch.Tensor:
    """Return each row's loss [K, B] (cross-entropy, or squared error)."""
    if classify:
        k, b, c = out.shape
        return F.cross_entropy(out.reshape(k * b, c), y.reshape(k * b),
                               reduction="none").view(k, b)
    return (out - y).square().mean(dim=2)


def _evaluate(stack: _Stack, x: torch.Tensor, y: torch.Tensor, classify: bool,
              train_mode: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Return each model's mean loss and accuracy [K] on all rows of ``x``."""
    losses, correct = [], []
    with torch.no_grad():
        for part in stack.chunks(x.shape[0]):
            masks = (stack.masks(x.shape[0], part) if train_mode
                     else [m[part] for m in stack.unit_masks])
            layers = stacked.views(stack.params.data[part], stack.layout)
            out = stacked.forward(layers, x, stack.activation, masks)
            target = y.expand(out.shape[0], *y.shape)
            losses.append(_losses(out, target, classify).mean(dim=1))
            if classify:
                correct.append((out.argmax(dim=2) == target).float().mean(dim=1))
    accuracy = torch.cat(correct) if correct else torch.zeros(0)
    return torch.cat(losses), accuracy


def _epoch(stack: _Stack, x: torch.Tensor, y: torch.Tensor, orders: torch.Tensor,
           classify: bool) -> torch.Tensor:
    """Run one epoch of lockstep minibatch steps; return each model's summed batch losses.

    ``orders`` [K, n] is each model's shuffle; when ``stack.shared``, its rows are all equal.
    """
    n = x.shape[0]
    params = stack.params
    totals = torch.zeros(len(stack.models), device=x.device)
    for step, (rows, active) in enumerate(stack.plan(n)):
        masks = stack.masks(rows, step=step, n=n)
        if stack.shared:  # the same rows for every model: [rows, F], broadcast in forward
            start = step * stack.models[0].config.batch_size
            index = orders[0, start:start + rows]
            out = stacked.forward(params.layers, x[index], stack.activation, masks)
            target = y[index].expand(out.shape[0], *y[index].shape)
            loss = _losses(out, target, classify).sum(dim=1) / rows
            totals += loss.detach() * rows
        else:
            count = (n - step * stack.batch).clamp(min=0, max=None).minimum(stack.batch)
            offsets = torch.arange(rows, device=x.device)
            positions = (step * stack.batch).unsqueeze(1) + offsets
            valid = offsets.unsqueeze(0) < count.unsqueeze(1)
            index = torch.gather(orders, 1, positions.clamp(max=n - 1))
            out = stacked.forward(params.layers, x[index], stack.activation, masks)
            per_row = torch.where(valid, _losses(out, y[index], classify), 0.0)
            loss = per_row.sum(dim=1) / count.clamp(min=1)
            totals += loss.detach() * count
        objective = loss.sum()
        if stack.any_l1:
            objective = objective + (stack.l1 * stacked.l1_norms(params.layers)).sum()
        params.backward(objective)
        stack.optimizer.step(params.data, params.grad, active)
    return totals


def _after_epoch(model: _Model, epoch: int, train_loss: float, val_loss: float,
                 val_metric: float, seconds: float, on_epoch: BatchedHook | None) -> bool:
    """Record one epoch for one model as ``train`` does; return whether its weights are best."""
    rate = model.rates[epoch]
    tracker = model.tracker
    if tracker.diverged(epoch, train_loss):
        model.history.append(EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=math.nan,
                                         val_metric=math.nan, learning_rate=rate,
                                         seconds=seconds))
        return False
    record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss,
                         val_metric=val_metric, learning_rate=rate, seconds=seconds)
    model.history.append(record)
    better = tracker.validated(epoch, val_loss, val_metric)
    tracker.decide(epoch, hook_stops=on_epoch is not None and on_epoch(model.index, record))
    return better


def _result(stack: _Stack, position: int, metric: str) -> TrainResult:
    model = stack.models[position]
    tracker = model.tracker
    assert tracker.stop is not None
    found = tracker.best_epoch >= 0
    row = stack.best[position] if found else stack.params.data[position]
    network = stacked.unstack(row, stack.layout, model.config)
    # eval after validating an epoch, as train() leaves a model that did not diverge
    if tracker.stop[0] is not StopReason.DIVERGED:
        network.eval()
    return TrainResult(
        model=network, config=model.config, history=tuple(model.history), metric=metric,
        best_epoch=tracker.best_epoch if found else max(len(model.history) - 1, 0),
        stop_reason=tracker.stop[0], stop_detail=tracker.stop[1],
        n_parameters=sum(p.numel() for p in network.parameters()),
        initial_loss=tracker.initial_loss, device=str(stack.params.data.device),
        seconds=sum(r.seconds for r in model.history),
    )


def _train_stack(stack: _Stack, tensors: dict[str, torch.Tensor], classify: bool,
                 target_std: float, on_epoch: BatchedHook | None,
                 results: list[TrainResult | None]) -> None:
    x_train, y_train = tensors["x_train"], tensors["y_train"]
    x_val, y_val = tensors["x_val"], tensors["y_val"]
    metric = "accuracy" if classify else "rmse"
    initial, _ = _evaluate(stack, x_train, y_train, classify, train_mode=True)
    for model, loss in zip(stack.models, initial.tolist(), strict=True):
        model.tracker.initial_loss = loss
    n = x_train.shape[0]
    shuffles = {seed: torch.Generator().manual_seed(seed)
                for seed in sorted({m.seed for m in stack.models})}
    epoch = 0
    while stack.models:
        started = time.perf_counter()
        drawn = {seed: torch.randperm(n, generator=g) for seed, g in shuffles.items()}
        orders = torch.stack([drawn[m.seed] for m in stack.models]).to(x_train.device)
        stack.optimizer.set_learning_rates([m.rates[epoch] for m in stack.models])
        totals = (_epoch(stack, x_train, y_train, orders, classify) / n).tolist()
        val_loss_t, accuracy_t = _evaluate(stack, x_val, y_val, classify, train_mode=False)
        val_losses, accuracies = val_loss_t.tolist(), accuracy_t.tolist()
        share = (time.perf_counter() - started) / len(stack.models)
        improved = []
        for k, model in enumerate(stack.models):
            val_metric = accuracies[k] if classify else math.sqrt(val_losses[k]) * target_std
            if _after_epoch(model, epoch, totals[k], val_losses[k], val_metric, share,
                            on_epoch):
                improved.append(k)
        if improved:
            rows = torch.tensor(improved, device=stack.best.device)
            stack.best[rows] = stack.params.data[rows]
        leaving = [k for k, m in enumerate(stack.models) if m.tracker.stop is not None]
        for k in leaving:
            results[stack.models[k].index] = _result(stack, k, metric)
        if leaving:
            stack.select([k for k, m in enumerate(stack.models) if m.tracker.stop is None])
        epoch += 1


def _is_integral(value: object) -> TypeGuard[numbers.Integral]:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _seeds(seed: object, k: int) -> list[int]:
    """Return one int seed per config from one integral seed (numpy's too) or K of them."""
    if _is_integral(seed):
        return [int(seed)] * k
    if isinstance(seed, Iterable) and not isinstance(seed, str | bytes):
        seeds = list(seed)
        if len(seeds) == k and all(_is_integral(s) for s in seeds):
            return [int(s) for s in seeds]
    raise ValueError(f"seed must be an int or one int per config ({k}), got {seed!r}")


def train_batched(
    configs: Sequence[MLPConfig],
    data: Dataset,
    *,
    seed: int | Sequence[int] = 0,
    device: str = "cpu",
    on_epoch: BatchedHook | None = None,
    exact: bool | None = None,
) -> list[TrainResult]:
    """Train every configuration together; return one ``TrainResult`` per config, in order.

    Configurations of one depth and activation share a stack (narrower ones padded, exactly);
    each stack trains on its own. ``seed`` is one seed for all or one per configuration.
    ``on_epoch(i, record)`` is called after each epoch of configuration ``i``; returning True
    stops that model alone. ``exact`` (default: on CPU only) draws each model's dropout noise
    on the CPU as ``train`` does there, so on CPU results equal sequential
    ``train(config, data, seed=...)`` runs to float rounding (on CUDA ``train`` draws dropout
    from the CUDA generator: there only models without dropout match it); otherwise dropout
    noise is drawn for all models at once from a generator of their own. The models come back
    in the mode ``train`` leaves them in: eval, or train mode if they diverged.

    Example:
        >>> from hyperknob.nn import load_dataset
        >>> configs = [MLPConfig(hidden_layers=(16,), learning_rate=lr, epochs=5)
        ...            for lr in (0.001, 0.01, 0.1)]
        >>> results = train_batched(configs, load_dataset("iris"))  # doctest: +SKIP
        >>> [r.best.val_metric for r in results]  # doctest: +SKIP
    """
    configs = list(configs)
    if not configs:
        raise ValueError("configs must hold at least one MLPConfig, got none")
    for index, config in enumerate(configs):
        if not isinstance(config, MLPConfig):
            raise TypeError(f"configs[{index}] must be an MLPConfig, got {config!r}")
    seeds = _seeds(seed, len(configs))
    target = resolve_device(device)
    exact = target.type == "cpu" if exact is None else exact
    classify = data.task == "classification"
    n_outputs = int(data.n_classes or 0) if classify else 1
    tensors = to_tensors(data, target)
    if not classify:
        tensors["y_train"] = tensors["y_train"].unsqueeze(1)
        tensors["y_val"] = tensors["y_val"].unsqueeze(1)
    n = tensors["x_train"].shape[0]
    results: list[TrainResult | None] = [None] * len(configs)
    for group in stacked.group_configs(configs):
        models = sorted((_Model(i, configs[i], seeds[i], classify) for i in group),
                        key=lambda m: _sort_key(m, n))
        stack = _Stack(models, data.n_features, n_outputs, target, exact)
        _train_stack(stack, tensors, classify, data.target_std, on_epoch, results)
    done = [r for r in results if r is not None]
    assert len(done) == len(configs), "every model leaves its stack with a result"
    return done
