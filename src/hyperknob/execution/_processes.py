"""ProcessExecutor: run the optimize loop's trials in k forked worker processes.

The driver (the process calling ``Study.optimize``) keeps the loop: it asks each trial and
hands its number to an idle worker, which opens the study on its own storage connection and
runs the objective on that trial (suggestions, reports, pruning, the final tell) exactly as
a Ray actor does. Workers are forked, so objectives may be closures or lambdas. SQL storages
reconnect in each worker; an in-memory storage is served to them by the driver
(``storages._remote``). A worker that dies mid-trial (SIGKILL, a crash) has its trial
stored as FAIL ("lost: ...") and retried under the study's heartbeat policy, and a fresh
worker takes its place.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int
from hyperknob.execution._loop import InterruptGuard, TrialLoop, evaluate
from hyperknob.storages._base import BaseStorage
from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.storages._sql import SQLStorage

if TYPE_CHECKING:
    from hyperknob.study._study import ObjectiveFunc, Study
    from hyperknob.trial._frozen import FrozenTrial

INTERRUPTED = "interrupted: the driver got KeyboardInterrupt (Ctrl-C)"


def _context() -> Any:
    if "fork" not in multiprocessing.get_all_start_methods():
        raise RuntimeError(
            "n_jobs > 1 needs the 'fork' start method (Linux or macOS); use n_jobs=1 here"
        )
    return multiprocessing.get_context("fork")


def picklable(error: BaseException) -> BaseException:
    """Return ``error`` if it survives pickling, else a RuntimeError carrying its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return RuntimeError(f"{type(error).__name__}: {error}\n{text}")


def _work(study: Study, func: ObjectiveFunc, catch: tuple[type[Exception], ...],
          connect: Callable[[], BaseStorage], index: int, tasks: Any, results: Any) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    guard = InterruptGuard().__enter__()
    storage = connect()
    try:
        mine = study.with_storage(storage)
        for number in iter(tasks.get, None):
            trial = mine.running_trial(number)
            try:
                frozen = evaluate(mine, trial, func, catch, guard)
            except BaseException as error:  # stored as FAIL; the driver re-raises it
                results.put((index, storage.get_trial(trial.trial_id), picklable(error)))
                if not isinstance(error, Exception):
                    break  # KeyboardInterrupt, SystemExit: this worker ends
            else:
                results.put((index, frozen, None))
    except KeyboardInterrupt:
        pass
    finally:
        storage.close()
        results.close()
        results.join_thread()


class ProcessExecutor:
    """Run trials in ``n_jobs`` forked worker processes sharing the study's storage
    (``Study.optimize(n_jobs=k)`` builds one). ``-1``: one worker per CPU.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(storage="sqlite:///tune.db")  # doctest: +SKIP
        >>> study.optimize(objective, n_trials=100,  # doctest: +SKIP
        ...                executor=ProcessExecutor(4))
    """

    def __init__(self, n_jobs: int) -> None:
        if n_jobs != -1:
            check_int("n_jobs", n_jobs, least=1, also=", or -1 for one per CPU")
        self.n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs

    def __repr__(self) -> str:
        return f"ProcessExecutor(n_jobs={self.n_jobs})"

    def run(self, loop: TrialLoop, func: ObjectiveFunc,
            catch: tuple[type[Exception], ...]) -> None:
        """Hand the loop's trials to the workers until it may start no more."""
        storage = loop.study.storage
        server = None
        connect: Callable[[], BaseStorage]
        if isinstance(storage, InMemoryStorage):
            from hyperknob.storages._remote import StorageClient, StorageServer

            server = StorageServer(storage)
            address, authkey = server.address, server.authkey

            def connect() -> BaseStorage:
                return StorageClient(address, authkey)
        elif isinstance(storage, SQLStorage):
            def connect() -> BaseStorage:
                storage.after_fork()
                return storage
        else:
            raise TypeError(f"n_jobs > 1 does not support storage {storage!r}")
        pool = _Pool(_context(), loop, func, catch, connect)
        try:
            pool.run(self.n_jobs)
        finally:
            pool.close()
            if server is not None:
                server.close()
        if pool.error is not None:
            raise pool.error


class _Pool:
    """The workers of one ``run``, the trial each holds, and the driver's side of the loop."""

    def __init__(self, ctx: Any, loop: TrialLoop, func: ObjectiveFunc,
                 catch: tuple[type[Exception], ...], connect: Callable[[], BaseStorage]) -> None:
        self.ctx = ctx
        self.loop = loop
        self.func = func
        self.catch = catch
        self.connect = connect
        self.results = ctx.Queue()
        self.workers: list[Any] = []
        self.tasks: list[Any] = []
        self.held: dict[int, int] = {}  # worker index -> the number of the trial it runs
        self.idle: list[int] = []
        self.error: BaseException | None = None

    def spawn(self, index: int) -> None:
        tasks = self.ctx.SimpleQueue()
        worker = self.ctx.Process(target=_work, daemon=True, args=(
            self.loop.study, self.func, self.catch, self.connect, index, tasks, self.results))
        worker.start()
        if index < len(self.workers):
            self.workers[index], self.tasks[index] = worker, tasks
        else:
            self.workers.append(worker)
            self.tasks.append(tasks)

    def run(self, n_jobs: int) -> None:
        wanted = n_jobs if self.loop.n_trials is None else max(1, min(n_jobs,
                                                                      self.loop.n_trials))
        for index in range(wanted):
            self.spawn(index)
        self.idle = list(range(wanted))[::-1]
        with InterruptGuard() as guard:
            try:
                while True:
                    while self.idle and self.error is None and self.loop.may_start():
                        with guard.writing():  # a Ctrl-C here waits until the trial is held
                            index = self.idle.pop()
                            number = self.loop.ask_for_worker()
                            self.held[index] = number
                            self.tasks[index].put(number)
                    if not self.held:
                        return
                    try:
                        self.handle(self.results.get(timeout=0.2))
                    except queue.Empty:
                        self.bury_dead()
            except KeyboardInterrupt:
                for worker in self.workers:
                    if worker.is_alive() and worker.pid is not None:
                        os.kill(worker.pid, signal.SIGINT)
                self.join()
                for number in self.held.values():  # those a worker had not begun
                    self.loop.study.fail(number, INTERRUPTED + ": KeyboardInterrupt",
                                         skip_if_finished=True)
                raise

    def handle(self, result: tuple[int, FrozenTrial, BaseException | None]) -> None:
        index, frozen, error = result
        self.held.pop(index, None)
        self.idle.append(index)
        self.loop.finished(frozen)
        if error is not None and self.error is None:
            self.error = error

    def bury_dead(self) -> None:
        """Fail (and maybe retry) the trial of each worker that died; replace the worker."""
        dead = [i for i in self.held if not self.workers[i].is_alive()]
        if not dead:
            return
        while True:  # results that arrived before a worker died are not lost
            try:
                self.handle(self.results.get_nowait())
            except queue.Empty:
                break
        study = self.loop.study
        for index in dead:
            number = self.held.pop(index, None)
            if number is None:  # it finished its trial, then died: only replace it
                self.spawn(index)
                continue
            reason = (f"lost: its worker process died (exit code "
                      f"{self.workers[index].exitcode})")
            frozen = study.fail(number, reason, skip_if_finished=True)
            policy = study.heartbeat
            if frozen.system_attrs.get("fail_reason") == reason and policy is not None and (
                    study.requeue(frozen, max_retries=policy.max_retries)):
                self.loop.give_back()
            else:
                self.loop.finished(frozen)
            self.spawn(index)
            self.idle.append(index)

    def join(self) -> None:
        for worker in self.workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)

    def close(self) -> None:
        for worker, tasks in zip(self.workers, self.tasks, strict=True):
            if worker.is_alive():
                tasks.put(None)
        self.join()
