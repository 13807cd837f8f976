"""ProcessExecutor: run the optimize loop's trials in k forked worker processes.

Every worker runs the one loop (:class:`TrialLoop`) on its own storage connection, drawing
trials from a budget in shared memory (:class:`SharedBudget`), and sends each finished trial
to the driver (the process calling ``Study.optimize``), which runs the callbacks and the
progress bar. Workers are forked, so objectives may be closures or lambdas. SQL storages
reconnect in each worker; an in-memory storage is served to them by the driver
(``storages._remote``). Each worker notes in shared memory which trial it runs: one that dies
mid-trial (SIGKILL, a crash) has its trial stored as FAIL ("lost: ...") by the driver and
retried under the study's heartbeat policy, and a fresh worker takes its place.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int
from hyperknob.execution._loop import Budget, InterruptGuard, TrialLoop, evaluate
from hyperknob.storages._base import BaseStorage
from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.storages._sql import SQLStorage

if TYPE_CHECKING:
    from hyperknob.study._study import ObjectiveFunc, Study
    from hyperknob.trial._frozen import FrozenTrial

INTERRUPTED = "interrupted: the driver got KeyboardInterrupt (Ctrl-C)"
WORKER_INTERRUPTED = ("interrupted: the worker got KeyboardInterrupt (Ctrl-C, or its parent "
                      "process died)")


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


class SharedBudget(Budget):
    """A :class:`Budget` in shared memory: the forked workers of one run draw from it, and a
    stop from any of them (or from the driver) reaches all."""

    def __init__(self, ctx: Any, n_trials: int | None, total: int | None = None) -> None:
        self.n_trials = n_trials
        self.total = total
        self._count = ctx.Value("q", 0)
        # The stop is a byte with no lock: a process killed while holding a lock (an Event's
        # takes one even to read it) would leave every worker that stops after it blocked,
        # its trial never stored as FAIL -- a driver killed with SIGKILL, say.
        self._stopped = ctx.RawValue("b", 0)

    @property
    def started(self) -> int:  # type: ignore[override]
        return int(self._count.value)

    def take(self) -> bool:
        with self._count.get_lock():
            if self.n_trials is not None and self._count.value >= self.n_trials:
                return False
            self._count.value += 1
            return True

    def give_back(self) -> None:
        with self._count.get_lock():
            self._count.value -= 1

    def stop(self) -> None:
        self._stopped.value = 1

    @property
    def stop_requested(self) -> bool:  # type: ignore[override]
        return bool(self._stopped.value)


def _work(study: Study, func: ObjectiveFunc, catch: tuple[type[Exception], ...],
          connect: Callable[[], BaseStorage], index: int, budget: SharedBudget,
          deadline: float | None, current: Any, results: Any, records: bool,
          parent: int) -> None:
    """A worker: the same loop as the driver's, on its own storage connection, drawing from
    the shared budget; each finished trial goes to the driver for its callbacks (the whole
    record when ``records``, else its state and values: pickling costs)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a CLI's SIGTERM-as-Ctrl-C: the
    guard = InterruptGuard().__enter__()  # driver's terminate() must end a stuck worker
    storage: BaseStorage | None = None
    mine: Study | None = None
    try:
        die_with_parent(parent)
        storage = connect()
        mine = study.with_storage(storage)

        def send(_: Study, frozen: FrozenTrial) -> None:
            results.put(("trial", index, frozen if records else (frozen.state, frozen.values)))

        loop = TrialLoop(mine, deadline=deadline, budget=budget, log=False, callbacks=[send])
        while True:
            with guard.writing():  # a Ctrl-C here waits until the driver can see the trial
                trial = loop.next_trial()
                if trial is None:
                    break
                current[index] = trial.number
            try:
                frozen = evaluate(mine, trial, func, catch, guard, on_error=budget.stop)
            except BaseException as error:  # stored as FAIL; the driver re-raises it
                budget.stop()
                current[index] = -1
                # evaluate stored the FAIL -- unless that write itself failed (a database
                # gone away, an evaluate that does not finish its trial): one more try here.
                with contextlib.suppress(Exception):
                    mine.fail(trial, error, skip_if_finished=True)
                results.put(("error", index, picklable(error)))
                break
            current[index] = -1
            loop.finished(frozen)
    except KeyboardInterrupt:
        budget.stop()
        number = int(current[index])
        if mine is not None and number >= 0:  # stopped while its trial was being asked for
            current[index] = -1
            mine.fail(number, WORKER_INTERRUPTED, skip_if_finished=True)
    finally:
        if storage is not None:
            storage.close()
        if os.getppid() != parent:  # nobody reads the queue any more: do not wait on it
            results.cancel_join_thread()
        else:
            results.put(("done", index, None))
        results.close()
        results.join_thread()


def die_with_parent(parent: int) -> None:
    """Make this worker get SIGINT -- stop like a Ctrl-C: its trial is stored as FAIL,
    and the next run retries it -- when its parent dies (killed with SIGKILL, say), instead
    of running on as an orphan. Linux asks the kernel (``PR_SET_PDEATHSIG``); elsewhere a
    thread watches the parent's pid."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # it died before the kernel was asked
        os.kill(os.getpid(), signal.SIGINT)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                         name="watch-parent").start()


PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)


class ProcessExecutor:
    """Run trials in ``n_jobs`` forked worker processes sharing the study's storage
    (``Study.optimize(n_jobs=k)`` builds one). ``-1``: one worker per CPU.

    Every worker runs the loop (the same :class:`TrialLoop`) on its own connection, drawing
    from one budget in shared memory; finished trials go to the driver, which runs the
    callbacks and the progress bar. A :meth:`Study.stop` from a callback, a finished grid or
    an error stops every worker.

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
        """Run the loop's trials in the workers until none may start and all are done."""
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
            pool.join()
            if server is not None:
                server.close()
        if pool.error is not None:
            raise pool.error


class _Pool:
    """The workers of one ``run`` and the driver's side of the loop."""

    def __init__(self, ctx: Any, loop: TrialLoop, func: ObjectiveFunc,
                 catch: tuple[type[Exception], ...], connect: Callable[[], BaseStorage]) -> None:
        self.ctx = ctx
        self.loop = loop
        self.func = func
        self.catch = catch
        self.connect = connect
        self.budget = SharedBudget(ctx, loop.left(), loop.budget.total)
        self.results = ctx.Queue()
        self.workers: list[Any] = []
        self.current: Any = None  # per worker: the number of the trial it runs, or -1
        self.done: set[int] = set()
        self.error: BaseException | None = None

    def spawn(self, index: int) -> None:
        self.current[index] = -1
        worker = self.ctx.Process(target=_work, daemon=True, args=(
            self.loop.study, self.func, self.catch, self.connect, index, self.budget,
            self.loop.deadline, self.current, self.results, self.loop.wants_records(),
            os.getpid()))
        worker.start()
        if index < len(self.workers):
            self.workers[index] = worker
        else:
            self.workers.append(worker)

    def run(self, n_jobs: int) -> None:
        left = self.loop.left()
        wanted = n_jobs if left is None else max(1, min(n_jobs, left))
        self.current = self.ctx.Array("q", [-1] * wanted, lock=False)
        for index in range(wanted):
            self.spawn(index)
        try:
            while len(self.done) < len(self.workers):
                if self.loop.study.should_stop():
                    self.budget.stop()
                try:
                    kind, index, payload = self.results.get(timeout=0.2)
                except queue.Empty:
                    self.bury_dead()
                    continue
                if kind == "trial" and isinstance(payload, tuple):
                    self.loop.tally(*payload)
                elif kind == "trial":
                    self.loop.finished(payload)
                elif kind == "error" and self.error is None:
                    self.error = payload
                elif kind == "done":
                    self.done.add(index)
        except KeyboardInterrupt:
            self.budget.stop()
            for worker in self.workers:
                if worker.is_alive() and worker.pid is not None:
                    os.kill(worker.pid, signal.SIGINT)
            self.join()
            for number in self.current:  # trials a worker had not begun or not finished
                if number >= 0:
                    self.loop.study.fail(int(number), INTERRUPTED + ": KeyboardInterrupt",
                                         skip_if_finished=True)
            raise

    def bury_dead(self) -> None:
        """Fail (and maybe retry) the trial of each worker that died; replace the worker
        while trials are left."""
        study = self.loop.study
        for index, worker in enumerate(self.workers):
            if index in self.done or worker.is_alive():
                continue
            number = int(self.current[index])
            if number >= 0:
                reason = f"lost: its worker process died (exit code {worker.exitcode})"
                frozen = study.fail(number, reason, skip_if_finished=True)
                policy = study.heartbeat
                if frozen.system_attrs.get("fail_reason") == reason and policy is not None and (
                        study.requeue(frozen, max_retries=policy.max_retries)):
                    self.budget.give_back()
                else:
                    self.loop.finished(frozen)
            if self.loop.may_start() and not self.budget.stop_requested:
                self.spawn(index)
            else:
                self.current[index] = -1
                self.done.add(index)

    def join(self) -> None:
        for worker in self.workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=5)
