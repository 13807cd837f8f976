"""Run an optimize loop in k worker processes that share one storage.

Workers are forked, so objectives may be closures or lambdas. SQL storages reconnect in each
worker; an in-memory storage is served to the workers by the parent (``_shared_storage``).
A shared counter hands out the ``n_trials`` budget, a shared event stops everyone.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.storages._sql import SQLStorage
from hyperknob.study._optimize import InterruptGuard, run_trial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study


def _context() -> Any:
    if "fork" not in multiprocessing.get_all_start_methods():
        raise RuntimeError(
            "n_jobs > 1 needs the 'fork' start method (Linux or macOS); use n_jobs=1 here"
        )
    return multiprocessing.get_context("fork")


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return RuntimeError(f"{type(error).__name__}: {error}\n{text}")


def _worker(
    study: Study,
    func: ObjectiveFunc,
    n_trials: int | None,
    deadline: float | None,
    callbacks: list[CallbackFunc],
    catch: tuple[type[Exception], ...],
    counter: Any,
    stop: Any,
    messages: Any,
    connect: Callable[[], Any],
) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    guard = InterruptGuard().__enter__()
    study._storage = connect()
    study._view._storage = study._storage
    study._stop_flag = stop
    try:
        while not stop.is_set():
            if n_trials is not None:
                with counter.get_lock():
                    if counter.value >= n_trials:
                        break
                    counter.value += 1
            if deadline is not None and time.monotonic() >= deadline:
                break
            if study.sampler.is_exhausted(study._view):
                stop.set()
                break
            frozen = run_trial(study, func, catch, guard)
            messages.put(("trial", (int(frozen.state), frozen.value)))
            for callback in callbacks:
                callback(study, frozen)
    except KeyboardInterrupt:
        stop.set()
    except BaseException as error:
        stop.set()
        messages.put(("error", _picklable(error)))
    finally:
        study._storage.close()
        messages.put(("done", None))
        messages.close()
        messages.join_thread()


def optimize_in_processes(
    study: Study,
    func: ObjectiveFunc,
    *,
    n_trials: int | None,
    deadline: float | None,
    n_jobs: int,
    callbacks: list[CallbackFunc],
    catch: tuple[type[Exception], ...],
    on_trial: Callable[[TrialState, float | None], None],
) -> None:
    """Run the loop in ``n_jobs`` forked workers and re-raise the first worker error."""
    ctx = _context()
    storage = study._storage
    server = None
    connect: Callable[[], Any]
    if isinstance(storage, InMemoryStorage):
        from hyperknob.execution._shared_storage import StorageClient, StorageServer

        server = StorageServer(storage)
        address, authkey = server.address, server.authkey

        def connect() -> Any:
            return StorageClient(address, authkey)
    elif isinstance(storage, SQLStorage):
        def connect() -> Any:
            storage.after_fork()
            return storage
    else:
        raise TypeError(f"n_jobs > 1 does not support storage {storage!r}")

    counter = ctx.Value("q", 0)
    stop = ctx.Event()
    messages = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, daemon=True, args=(
            study, func, n_trials, deadline, callbacks, catch, counter, stop, messages, connect))
        for _ in range(n_jobs)
    ]
    for worker in workers:
        worker.start()
    error: BaseException | None = None
    running = len(workers)
    try:
        while running:
            if study._stopped:
                stop.set()
            try:
                kind, payload = messages.get(timeout=0.2)
            except queue.Empty:
                if not any(w.is_alive() for w in workers) and messages.empty():
                    break
                continue
            if kind == "trial":
                on_trial(TrialState(payload[0]), payload[1])
            elif kind == "error" and error is None:
                error = payload
            elif kind == "done":
                running -= 1
    except KeyboardInterrupt:
        stop.set()
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGINT)
        _join(workers)
        raise
    finally:
        _join(workers)
        if server is not None:
            server.close()
    if error is not None:
        raise error
    failed = [w.exitcode for w in workers if w.exitcode not in (0, None)]
    if failed:
        print(f"hyperknob: {len(failed)} worker process(es) died with exit codes {failed}",
              file=sys.stderr)


def _join(workers: list[Any]) -> None:
    for worker in workers:
        worker.join(timeout=30)
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
