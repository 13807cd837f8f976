"""One optimizer step for K stacked models, each with its own optimizer and coefficients.

The models of a stack are sorted by optimizer family, so each family is a contiguous slice of
the K rows (a view: no copy) and runs only its own update, written as ``torch.optim`` writes it
(``_single_tensor_sgd`` / ``_adam`` / ``_rmsprop``), with per-model coefficients as [k, 1]
tensors. Within a family the models are sorted by steps per epoch, most first, so at lockstep
step ``s`` the models that still have a minibatch are a prefix of the slice: a model without
one gets no update at all (its Adam moments and step count do not move).

Shapes: params, grad and the two state tensors are [K, P].
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

from hyperknob.nn._config import MLPConfig
from hyperknob.nn._train import make_optimizer, make_schedule

FAMILIES = ("sgd", "adam", "adamw", "rmsprop")
RMSPROP_ALPHA = 0.99  # torch.optim.RMSprop's defaults, which make_optimizer keeps
EPSILON = 1e-8  # Adam's and RMSprop's eps


def learning_rates(config: MLPConfig) -> list[float]:
    """Return the learning rate of every epoch, from torch's own scheduler (same floats).

    Example:
        >>> learning_rates(MLPConfig(learning_rate=0.1, schedule="step", step_size=2,
        ...                          gamma=0.5, epochs=5))
        [0.1, 0.1, 0.05, 0.05, 0.025]
    """
    if config.schedule == "constant":
        return [config.learning_rate] * config.epochs
    dummy = torch.nn.Linear(1, 1)
    optimizer = make_optimizer(dummy, config)
    schedule = make_schedule(optimizer, config)
    rates = []
    with warnings.catch_warnings():  # stepping a schedule without optimizer.step() warns
        warnings.simplefilter("ignore")
        for _ in range(config.epochs):
            rates.append(float(optimizer.param_groups[0]["lr"]))
            if schedule is not None:
                schedule.step()
    return rates


class BatchedOptimizer:
    """SGD (momentum, Nesterov), Adam, AdamW and RMSprop (momentum) for sorted stacked models.

    ``configs`` must be sorted by family (``FAMILIES`` order); ``params`` is [K, P].

    Example:
        >>> configs = [MLPConfig(optimizer="sgd", momentum=0.9), MLPConfig(optimizer="adam")]
        >>> params = torch.zeros(2, 5)
        >>> optimizer = BatchedOptimizer(configs, params)
        >>> optimizer.set_learning_rates([0.1, 0.001])
        >>> optimizer.step(params, torch.ones(2, 5), [1, 1])  # one SGD model, one Adam model
        >>> [round(value, 6) for value in params[:, 0].tolist()]
        [-0.1, -0.001]
    """

    def __init__(self, configs: Sequence[MLPConfig], params: torch.Tensor) -> None:
        order = [FAMILIES.index(c.optimizer) for c in configs]
        if order != sorted(order):
            raise ValueError("configs must be sorted by optimizer family "
                             f"{list(FAMILIES)}, got {[c.optimizer for c in configs]}")
        device = params.device

        def column(values: Sequence[float], dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.tensor(list(values), dtype=dtype, device=device).unsqueeze(1)

        self.configs = list(configs)
        self._families: list[tuple[str, int, int]] | None = None
        self._flags: dict[tuple[int, int, str], bool] = {}
        self.momentum = column([c.momentum for c in configs])
        self.nesterov = column([float(c.nesterov) for c in configs]) > 0
        self.beta1 = column([c.beta1 for c in configs])
        self.beta2 = column([c.beta2 for c in configs])
        self.beta1_64 = column([c.beta1 for c in configs], torch.float64)
        self.beta2_64 = column([c.beta2 for c in configs], torch.float64)
        self.decay = column([c.l2 for c in configs])
        self.decay_64 = column([c.l2 for c in configs], torch.float64)
        self.steps = torch.zeros(len(configs), 1, dtype=torch.float64, device=device)
        self.lr_64 = column([c.learning_rate for c in configs], torch.float64)
        self.state1 = torch.zeros_like(params)  # SGD buffer, Adam m, RMSprop square average
        self.state2 = torch.zeros_like(params)  # Adam v, RMSprop momentum buffer

    def families(self) -> list[tuple[str, int, int]]:
        """Return (family, start, stop) of each family present, in row order."""
        if self._families is None:
            self._families = self._find_families()
        return self._families

    def _find_families(self) -> list[tuple[str, int, int]]:
        out: list[tuple[str, int, int]] = []
        for index, config in enumerate(self.configs):
            if out and out[-1][0] == config.optimizer:
                out[-1] = (config.optimizer, out[-1][1], index + 1)
            else:
                out.append((config.optimizer, index, index + 1))
        return out

    def set_learning_rates(self, rates: Sequence[float]) -> None:
        """Set each model's learning rate for the coming steps (a schedule's epoch value)."""
        self.lr_64 = torch.tensor(list(rates), dtype=torch.float64,
                                  device=self.steps.device).unsqueeze(1)

    def select(self, index: torch.Tensor) -> None:
        """Keep only the rows ``index`` (models leaving the stack), in their order."""
        rows = index.tolist()
        self.configs = [self.configs[i] for i in rows]
        self._families, self._flags = None, {}
        for name in ("momentum", "nesterov", "beta1", "beta2", "beta1_64", "beta2_64",
                     "decay", "decay_64", "steps", "lr_64", "state1", "state2"):
            setattr(self, name, getattr(self, name)[index])

    @torch.no_grad()
    def step(self, params: torch.Tensor, grad: torch.Tensor, active: Sequence[int]) -> None:
        """Update the first ``active[f]`` models of each family f present (families order)."""
        for (family, start, _), count in zip(self.families(), active, strict=True):
            if count == 0:
                continue
            rows = slice(start, start + count)
            update = {"sgd": self._sgd, "adam": self._adam, "adamw": self._adam,
                      "rmsprop": self._rmsprop}[family]
            update(rows, params[rows], grad[rows], decoupled=family == "adamw")

    def _any(self, rows: slice, name: str) -> bool:
        """Return whether any model of ``rows`` has a nonzero ``name`` (from the configs, so
        that no step waits on the device to answer)."""
        key = (rows.start, rows.stop, name)
        if key not in self._flags:
            self._flags[key] = any(bool(getattr(c, name)) for c in self.configs[rows])
        return self._flags[key]

    def _coupled_decay(self, rows: slice, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return g + self.decay[rows] * p if self._any(rows, "l2") else g

    def _sgd(self, rows: slice, p: torch.Tensor, g: torch.Tensor, *, decoupled: bool) -> None:
        g = self._coupled_decay(rows, p, g)
        momentum = self.momentum[rows]
        if self._any(rows, "momentum"):
            buf = self.state1[rows]
            buf.mul_(momentum).add_(g)  # torch: buf = grad on the first step; 0 * 0 + g is g
            nesterov = self.nesterov[rows]
            g = torch.where(nesterov, g + momentum * buf, buf) if self._any(
                rows, "nesterov") else buf
        p.sub_(self.lr_64[rows].float() * g)

    def _adam(self, rows: slice, p: torch.Tensor, g: torch.Tensor, *, decoupled: bool) -> None:
        lr = self.lr_64[rows]
        if decoupled:  # AdamW (Loshchilov & Hutter, 2019): shrink W, not the gradient
            if self._any(rows, "l2"):
                p.mul_((1 - lr * self.decay_64[rows]).float())
        else:
            g = self._coupled_decay(rows, p, g)
        m, v = self.state1[rows], self.state2[rows]
        m.lerp_(g, 1 - self.beta1[rows])
        v.mul_(self.beta2[rows]).addcmul_((1 - self.beta2[rows]) * g, g)
        self.steps[rows] += 1
        step = self.steps[rows]
        correction1 = 1 - self.beta1_64[rows] ** step  # Kingma & Ba (2015), Algorithm 1
        correction2_sqrt = (1 - self.beta2_64[rows] ** step) ** 0.5
        denom = v.sqrt().div_(correction2_sqrt.float()).add_(EPSILON)  # in place: no copies
        p.add_(((-(lr / correction1)).float() * m).div_(denom))

    def _rmsprop(self, rows: slice, p: torch.Tensor, g: torch.Tensor, *,
                 decoupled: bool) -> None:
        g = self._coupled_decay(rows, p, g)
        square = self.state1[rows]
        square.mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
        avg = square.sqrt().add_(EPSILON)
        lr = self.lr_64[rows].float()
        momentum = self.momentum[rows]
        if self._any(rows, "momentum"):
            buf = self.state2[rows]
            buf.mul_(momentum).add_(g / avg)
            p.sub_(lr * buf)
        else:
            p.add_((-lr) * g / avg)
