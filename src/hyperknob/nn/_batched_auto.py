"""Choose how many trials to train at once: from the device's memory and a measured probe.

The probe trains one epoch of configurations drawn from the real search space on the real
data, one at a time with ``train`` and then K at a time with ``train_batched``, and compares
model-epochs per second. Batching is chosen only where it is measurably faster
(``SPEEDUP_NEEDED``), so ``auto`` is never slower than one trial at a time beyond the probe's
own second or two.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import torch

from hyperknob._checks import check_int
from hyperknob.nn._batched_train import train_batched
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._train import resolve_device, train

if TYPE_CHECKING:
    from hyperknob.nn._data import Dataset
    from hyperknob.nn._space import SearchSpace

SPEEDUP_NEEDED = 1.15  # below this the probe's noise could hide a loss
CPU_CANDIDATES = (2, 4, 8, 16, 32)
GPU_CANDIDATES = (64, 256, 1024)
MEMORY_SHARE = 0.5  # of the free GPU memory, for the stacks' tensors


@dataclasses.dataclass(frozen=True)
class BatchChoice:
    """The chosen K, why, and the measured model-epochs per second for each K tried."""

    k: int
    reason: str
    measured: dict[int, float]


def _probe_configs(space: SearchSpace, count: int, seed: int) -> list[MLPConfig]:
    """Draw ``count`` configurations of the space at random, shortened to one epoch."""
    import hyperknob
    from hyperknob.samplers import RandomSampler

    study = hyperknob.create_study(sampler=RandomSampler(seed=seed))
    configs = []
    for _ in range(count):
        config = space.suggest(study.ask())
        configs.append(dataclasses.replace(config, epochs=1, patience=None))
    return configs


def memory_limit(configs: list[MLPConfig], data: Dataset, free_bytes: int) -> int:
    """Return how many models of this kind fit in ``MEMORY_SHARE`` of ``free_bytes``.

    Per model: parameters with gradient, two optimizer states, best weights and copies (x6),
    a minibatch's activations forward and backward, and the validation pass.
    """
    widest = max(max(c.hidden_layers) for c in configs)
    depth = max(c.n_hidden_layers for c in configs)
    outputs = max(int(data.n_classes or 1), 1)
    params = data.n_features * widest + (depth - 1) * widest * widest + widest * outputs
    batch = max(c.batch_size for c in configs)
    rows = max(len(data.x_val), batch)
    per_model = 4 * (6 * params + 4 * rows * widest * depth + batch * data.n_features)
    return max(1, int(MEMORY_SHARE * free_bytes // per_model))


def _rate(configs: list[MLPConfig], data: Dataset, device: str, seed: int, k: int) -> float:
    started = time.perf_counter()
    if k == 1:
        for config in configs:
            train(config, data, seed=seed, device=device, log=lambda _: None)
    else:
        for start in range(0, len(configs), k):
            train_batched(configs[start:start + k], data, seed=seed, device=device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(configs) / max(time.perf_counter() - started, 1e-9)


def choose_batch(space: SearchSpace, data: Dataset, *, device: str = "cpu", seed: int = 0,
                 max_k: int | None = None, budget: float | None = None) -> BatchChoice:
    """Measure and return the K that trains this space's models fastest on ``device``.

    ``max_k`` caps K (e.g. the number of trials left); ``budget`` bounds the probe in seconds
    (default 2 on a CPU; 8 on CUDA, where drawing 1,024 probe configurations takes a second).

    Example:
        >>> from hyperknob.nn import default_space, load_dataset
        >>> data = load_dataset("iris")
        >>> choice = choose_batch(default_space(data.n_features, data.n_train), data)
        >>> choice.k >= 1
        True
    """
    check_int("max_k", max_k, least=1, none_ok=True)
    target = resolve_device(device)
    cuda = target.type == "cuda"
    candidates = list(GPU_CANDIDATES if cuda else CPU_CANDIDATES)
    cap = max_k if max_k is not None else max(candidates)
    sample = _probe_configs(space, 64, seed)  # the widest and deepest of many, for memory
    note = ""
    if cuda:
        free, _ = torch.cuda.mem_get_info(target)
        fits = memory_limit(sample, data, free)
        cap = min(cap, fits)
        note = f"; {free / 2**30:.1f} GiB free fits K <= {fits}"
    budget = budget if budget is not None else (8.0 if cuda else 2.0)
    candidates = [k for k in candidates if k <= cap] or ([cap] if cap > 1 else [])
    if not candidates:
        return BatchChoice(1, f"one trial at a time: at most 1 trial to run{note}", {})
    started = time.perf_counter()
    _rate(sample[:2], data, str(target), seed, 2)  # warm up kernels and allocator
    # Every K trains a prefix of one pool, and one at a time its first four: the same kinds of
    # configurations throughout, not a new draw per K whose costs could differ by more than
    # the speed-up sought.
    pool = _probe_configs(space, max(candidates), seed)
    measured = {1: _rate(pool[:4], data, str(target), seed, 1)}
    for k in candidates:
        if time.perf_counter() - started > budget and len(measured) > 1:
            break
        measured[k] = _rate(pool[:k], data, str(target), seed, k)
        if not cuda and measured[k] < 0.8 * max(measured.values()):
            break  # past the CPU's best: larger stacks only get slower
    best = max(measured, key=lambda k: measured[k])
    gain = measured[best] / measured[1]
    rates = ", ".join(f"K={k}: {rate:.1f}/s" for k, rate in measured.items())
    if best == 1 or gain < SPEEDUP_NEEDED:
        return BatchChoice(1, f"one trial at a time: batching measured no faster than "
                              f"{SPEEDUP_NEEDED:g}x ({rates} model-epochs){note}", measured)
    if cuda:  # a GPU's throughput grows with K until memory: take the largest that fits
        best = max(k for k in measured if measured[k] >= 0.9 * measured[best])
    return BatchChoice(best, f"{measured[best] / measured[1]:.1f}x the model-epochs per "
                             f"second of one at a time ({rates}){note}", measured)
