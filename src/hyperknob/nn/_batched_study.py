"""Run a study K trials at a time: ask K, train them as one batch, tell each on its own.

Every model stays a normal trial: its parameters come from the sampler (the K trials are asked
before any is told, so TPE and GP see the others as RUNNING and lie about them — constant
liar — and the K suggestions differ), it reports its validation value after every epoch, the
pruner judges it alone at each rung (the others in the batch train on), and it is stored with
the same ``user_attrs``, curves and PRUNED reasons as a trial ``Study.optimize`` ran.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hyperknob.exceptions import TrialPruned
from hyperknob.nn._batched_train import train_batched
from hyperknob.nn._train import EpochRecord
from hyperknob.study._heartbeat import Beater
from hyperknob.study._optimize import ask_trial, check_budget

if TYPE_CHECKING:
    from hyperknob.nn._objective import NeuralNetworkObjective
    from hyperknob.study import Study
    from hyperknob.trial import FrozenTrial, Trial

logger = logging.getLogger("hyperknob")
Callback = Callable[["Study", "FrozenTrial"], None]


def run_batch(study: Study, job: NeuralNetworkObjective, size: int) -> list[FrozenTrial]:
    """Ask ``size`` trials, train their configurations together, and finish each trial.

    Whatever stops the batch (an exception, Ctrl-C) fails every trial not yet finished,
    with the reason, before the exception travels on.
    """
    trials: list[Trial] = []
    finished: list[FrozenTrial] = []
    beater = None
    try:
        configs = []
        for _ in range(size):
            if trials and study.sampler.is_exhausted(study._view):
                break  # e.g. a grid with fewer points left than the batch
            # The first ask reaps dead workers' trials (under a heartbeat); once per batch.
            trials.append(study.ask() if trials else ask_trial(study))
            configs.append(job.space.suggest(trials[-1]))

        def on_epoch(index: int, record: EpochRecord) -> bool:
            return job.report(trials[index], record)

        if study.heartbeat is not None:  # one thread beats for the batch until all are told
            beater = Beater(study, [t._trial_id for t in trials], study.heartbeat.interval)
        results = train_batched(configs, job.dataset, seed=job.seed, device=job.device,
                                on_epoch=on_epoch)
        for trial, result in zip(trials, results, strict=True):
            job.record(trial, result)
            try:
                value = job.outcome(result)
            except TrialPruned as pruned:
                finished.append(study._prune(trial, pruned))
            else:
                finished.append(study.tell(trial, value, skip_if_finished=True))
    except BaseException as error:
        for trial in trials[len(finished):]:
            study._fail(trial, error)
        raise
    finally:
        if beater is not None:
            beater.stop()
    for frozen in finished:
        logger.info("trial %d %s (batch of %d)", frozen.number, frozen.state.name, size)
    return finished


def optimize_batched(
    study: Study,
    job: NeuralNetworkObjective,
    *,
    batch: int,
    n_trials: int | None = None,
    timeout: float | None = None,
    callbacks: Sequence[Callback] = (),
) -> int:
    """Run trials ``batch`` at a time until ``n_trials`` or ``timeout``; return how many ran.

    The last batch is cut to the trials left. ``timeout``, :meth:`Study.stop` (e.g. from a
    callback) and a sampler with nothing left to suggest are checked between batches.

    Example:
        >>> import hyperknob
        >>> from hyperknob import nn
        >>> job = nn.objective("iris")  # doctest: +SKIP
        >>> study = hyperknob.create_study(direction=job.direction)  # doctest: +SKIP
        >>> optimize_batched(study, job, batch=16, n_trials=64)  # doctest: +SKIP
        64
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an int >= 1, got batch={batch!r}")
    check_budget(n_trials, timeout)
    if n_trials is None and timeout is None:
        raise ValueError("give n_trials or timeout: a batched run needs a budget")
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    done = 0
    study._stopped = False
    while n_trials is None or done < n_trials:
        if deadline is not None and time.monotonic() >= deadline:
            break
        if study._stopped or study.sampler.is_exhausted(study._view):
            break
        size = batch if n_trials is None else min(batch, n_trials - done)
        for frozen in run_batch(study, job, size):
            done += 1
            for callback in callbacks:
                callback(study, frozen)
    return done
