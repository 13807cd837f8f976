"""K MLPs of one depth and activation as one stack of padded weight tensors.

Shapes (K models, B rows, widths padded to the widest model of the stack):

    params        [K, P]        every model's W and b, flat (what the optimizer steps); layer
                                l's W is a view [K, fan_in, fan_out] (W transposed: rows @ W),
                                b a view [K, 1, fan_out]
    unit_masks[l] [K, 1, W_l]   1 for a real unit of hidden layer l, 0 for a padded one

Autograd differentiates the per-layer views as leaves of their own (``Parameters``): the
gradient of a slice of one [K, P] leaf would be a zero-filled [K, P] tensor per slice.

A padded unit is exact: its incoming weights and bias are zero, its activation is multiplied by
0 (sigmoid(0) is not 0), and its outgoing weights are zero. So it never touches the outputs,
every gradient it receives is exactly 0, and every optimizer here keeps it at exactly 0.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention

from hyperknob.nn._config import MLPConfig
from hyperknob.nn._model import LEAKY_SLOPE, MLP


def group_key(config: MLPConfig) -> tuple[int, str]:
    """Return what models must share to train in one stack: depth and activation."""
    return (config.n_hidden_layers, config.activation)


def group_configs(configs: Sequence[MLPConfig]) -> list[list[int]]:
    """Split config indices into stacks that train together (same depth and activation).

    Example:
        >>> group_configs([MLPConfig(hidden_layers=(8,)), MLPConfig(hidden_layers=(8, 8)),
        ...                MLPConfig(hidden_layers=(32,))])
        [[0, 2], [1]]
    """
    groups: dict[tuple[int, str], list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(group_key(config), []).append(index)
    return list(groups.values())


def activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    """Apply the activation ``MLP`` uses for ``activation`` (the same torch kernels)."""
    if activation == "relu":
        return F.relu(x)
    if activation == "tanh":
        return torch.tanh(x)
    if activation == "sigmoid":
        return torch.sigmoid(x)
    if activation == "leaky_relu":
        return F.leaky_relu(x, LEAKY_SLOPE)
    if activation == "gelu":
        return F.gelu(x)
    raise ValueError(f"unknown activation {activation!r}")


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where each layer's padded W and b lie in a row of ``params``.

    ``widths`` is (inputs, widest hidden layer 1, ..., outputs).

    Example:
        >>> layout = Layout((4, 8, 3))
        >>> layout.size, layout.weight_slice(1)
        (67, slice(40, 64, None))
    """

    widths: tuple[int, ...]

    @property
    def n_layers(self) -> int:
        """Return the number of linear layers (hidden layers + the output layer)."""
        return len(self.widths) - 1

    def _start(self, layer: int) -> int:
        return sum(a * b + b for a, b in itertools.pairwise(self.widths[:layer + 1]))

    def weight_slice(self, layer: int) -> slice:
        """Return the columns of ``params`` holding layer ``layer``'s W."""
        start = self._start(layer)
        return slice(start, start + self.widths[layer] * self.widths[layer + 1])

    def bias_slice(self, layer: int) -> slice:
        """Return the columns of ``params`` holding layer ``layer``'s b."""
        start = self.weight_slice(layer).stop
        return slice(start, start + self.widths[layer + 1])

    @property
    def size(self) -> int:
        """Return P, the length of one model's padded parameter row."""
        return self._start(self.n_layers)

    def weight(self, params: torch.Tensor, layer: int) -> torch.Tensor:
        """Return layer ``layer``'s W as a [K, fan_in, fan_out] view of ``params``."""
        fan_in, fan_out = self.widths[layer], self.widths[layer + 1]
        return params[:, self.weight_slice(layer)].view(-1, fan_in, fan_out)

    def bias(self, params: torch.Tensor, layer: int) -> torch.Tensor:
        """Return layer ``layer``'s b as a [K, 1, fan_out] view of ``params``."""
        return params[:, self.bias_slice(layer)].view(-1, 1, self.widths[layer + 1])


def layout_for(configs: Sequence[MLPConfig], n_inputs: int, n_outputs: int) -> Layout:
    """Return the padded layout of a stack: each hidden layer as wide as its widest model."""
    depths = {config.n_hidden_layers for config in configs}
    if len(depths) != 1:
        raise ValueError(f"a stack needs models of one depth, got depths {sorted(depths)}")
    hidden = tuple(max(widths) for widths in zip(*(c.hidden_layers for c in configs),
                                                 strict=True))
    return Layout((n_inputs, *hidden, n_outputs))


def stack(models: Sequence[MLP], layout: Layout) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Copy each model's W and b into padded ``params`` [K, P]; return it and the unit masks."""
    first = models[0].output.weight
    params = torch.zeros(len(models), layout.size, dtype=first.dtype, device=first.device)
    masks = [torch.zeros(len(models), 1, width, dtype=first.dtype, device=first.device)
             for width in layout.widths[1:-1]]
    with torch.no_grad():
        for k, model in enumerate(models):
            row = params[k:k + 1]
            for layer, linear in enumerate((*model.hidden, model.output)):
                fan_out, fan_in = linear.weight.shape
                layout.weight(row, layer)[0, :fan_in, :fan_out] = linear.weight.t()
                layout.bias(row, layer)[0, 0, :fan_out] = linear.bias
                if layer < len(masks):
                    masks[layer][k, 0, :fan_out] = 1.0
    return params, masks


def unstack(row: torch.Tensor, layout: Layout, config: MLPConfig) -> MLP:
    """Return the real (unpadded) ``MLP`` held in one row [P] of ``params``, in train mode.

    The ``MLP`` is built on the meta device and then given empty storage, so building it draws
    nothing from torch's global generator.
    """
    n_inputs, n_outputs = layout.widths[0], layout.widths[-1]
    with torch.device("meta"):
        model = MLP(n_inputs, n_outputs, config)
    model = model.to_empty(device=row.device).to(dtype=row.dtype)
    flat = row.detach().unsqueeze(0)
    with torch.no_grad():
        for layer, linear in enumerate((*model.hidden, model.output)):
            fan_out, fan_in = linear.weight.shape
            linear.weight.copy_(layout.weight(flat, layer)[0, :fan_in, :fan_out].t())
            linear.bias.copy_(layout.bias(flat, layer)[0, 0, :fan_out])
    return model


Layers = Sequence[tuple[torch.Tensor, torch.Tensor]]  # each layer's (W, b)


def views(params: torch.Tensor, layout: Layout) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Return each layer's (W [K, fan_in, fan_out], b [K, 1, fan_out]) as views of ``params``."""
    return [(layout.weight(params, layer), layout.bias(params, layer))
            for layer in range(layout.n_layers)]


class Parameters:
    """A stack's parameters: ``data`` [K, P] and its gradient ``grad`` [K, P], both flat.

    ``layers`` holds each layer's W and b as views of ``data`` that are autograd leaves, so a
    backward pass computes each layer's gradient alone; ``backward`` then writes them into
    ``grad`` in ``data``'s layout, where the optimizer reads them.
    """

    def __init__(self, data: torch.Tensor, layout: Layout) -> None:
        self.data = data.detach()
        self.grad = torch.zeros_like(self.data)
        self.layers = [(weight.requires_grad_(True), bias.requires_grad_(True))
                       for weight, bias in views(self.data, layout)]

    def backward(self, objective: torch.Tensor) -> None:
        """Set ``grad`` to the gradient of the scalar ``objective`` with respect to ``data``."""
        leaves = [tensor for layer in self.layers for tensor in layer]
        grads = torch.autograd.grad(objective, leaves)
        k = self.data.shape[0]
        torch.cat([g.reshape(k, -1) for g in grads], dim=1, out=self.grad)


def forward(layers: Layers, x: torch.Tensor, activation: str,
            masks: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return the K models' outputs [K, B, outputs] for rows ``x``.

    ``layers`` holds each layer's (W, b) (``views`` or ``Parameters.layers``). ``x`` is
    [K, B, inputs] (each model its own rows) or [B, inputs] (the same rows for all).
    ``masks[l]`` multiplies hidden layer l's activations: the unit mask [K, 1, W_l], or unit
    mask times inverted-dropout noise [K, B, W_l].
    """
    h = x
    for layer, (weight, bias) in enumerate(layers):
        shared = h.dim() == 2  # the same rows for every model: broadcast, no copy per model
        h = torch.matmul(h, weight) + bias if shared else torch.baddbmm(bias, h, weight)
        if layer < len(layers) - 1:
            h = activate(h, activation) * masks[layer]
    return h


def l1_norms(layers: Layers) -> torch.Tensor:
    """Return each model's sum of |W| over its weight matrices (not biases) [K]."""
    return torch.stack([weight.abs().sum(dim=(1, 2)) for weight, _ in layers]).sum(dim=0)


def parameter_mask(layout: Layout, unit_masks: Sequence[torch.Tensor]) -> torch.Tensor:
    """Return [K, P]: 1 where a model has a real parameter, 0 where the stack padded it."""
    k = unit_masks[0].shape[0] if unit_masks else 1
    device = unit_masks[0].device if unit_masks else None
    mask = torch.zeros(k, layout.size, device=device)
    widths = [torch.full((k, 1, layout.widths[0]), 1.0, device=device),
              *unit_masks,
              torch.full((k, 1, layout.widths[-1]), 1.0, device=device)]
    for layer in range(layout.n_layers):
        into, out = widths[layer], widths[layer + 1]
        layout.weight(mask, layer)[:] = into.transpose(1, 2) * out
        layout.bias(mask, layer)[:] = out
    return mask
