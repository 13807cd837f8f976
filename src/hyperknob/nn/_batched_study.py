"""``optimize_batched``: run a study K trials at a time, trained as one batch.

Kept for its callers; it is ``Study.optimize(job, executor=BatchedExecutor(batch))``. Every
model stays a normal trial: its parameters come from the sampler (the K trials are asked
before any is told, so TPE and GP see the others as RUNNING and lie about them -- constant
liar -- and the K suggestions differ), it reports its validation value after every epoch, the
pruner judges it alone at each rung (the others in the batch train on), and it is stored with
the same ``user_attrs``, curves and PRUNED reasons as a trial run one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hyperknob.execution._batched import BatchedExecutor

if TYPE_CHECKING:
    from hyperknob.nn._objective import NeuralNetworkObjective
    from hyperknob.study import Study
    from hyperknob.trial import FrozenTrial

Callback = Callable[["Study", "FrozenTrial"], None]


def optimize_batched(
    study: Study,
    job: NeuralNetworkObjective,
    *,
    batch: int,
    n_trials: int | None = None,
    timeout: float | None = None,
    callbacks: Sequence[Callback] = (),
    total_trials: int | None = None,
) -> int:
    """Run trials ``batch`` at a time until ``n_trials`` or ``timeout`` (or the study holds
    ``total_trials``: see :meth:`Study.optimize`); return how many ran.

    The last batch is cut to the trials left. ``timeout``, :meth:`Study.stop` (e.g. from a
    callback) and a sampler with nothing left to suggest are checked before each ask.

    Example:
        >>> import hyperknob
        >>> from hyperknob import nn
        >>> job = nn.objective("iris")  # doctest: +SKIP
        >>> study = hyperknob.create_study(direction=job.direction)  # doctest: +SKIP
        >>> optimize_batched(study, job, batch=16, n_trials=64)  # doctest: +SKIP
        64
    """
    executor = BatchedExecutor(batch)
    if n_trials is None and timeout is None:
        raise ValueError("give n_trials or timeout: a batched run needs a budget")
    ran: list[int] = []
    study.optimize(job, n_trials=n_trials, timeout=timeout, executor=executor,
                   callbacks=[lambda s, t: ran.append(t.number), *callbacks],
                   total_trials=total_trials)
    return len(ran)
