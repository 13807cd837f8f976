"""RayExecutor: run a study's trials on the nodes of a Ray cluster. The one module importing ray.

The driver (the process calling ``Study.optimize``) keeps the budget: it starts ``max_concurrent``
worker actors, each holding the resources of one trial, asks the study for a trial whenever an
actor is free and hands it the trial's id. The actor runs the objective exactly as a local worker
does (suggestions, intermediate reports, pruning decisions, the final tell) against the study's
storage:

* PostgreSQL: every actor connects to the database itself;
* a SQLite file or an in-memory study: the driver serves its storage over TCP (an HMAC challenge
  with a random key, then pickled calls) and actors never open the file -- it need exist on the
  driver's machine only.

Samplers and pruners keep no state outside the storage, so each actor's copy decides as the
driver would. An actor that dies mid-trial -- its node was lost, its process killed or crashed --
surfaces as a Ray error on the driver, which stores the trial as FAIL ("lost: ...") and queues its
parameters again (``retried_from``, ``retry_count``) up to ``max_retries`` times; a retried trial
does not use up the budget, and a fresh actor takes the dead one's place when resources allow.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import socket
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

try:
    import ray
    import ray.exceptions
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "RayExecutor needs Ray: pip install 'hyperknob[ray]' (or 'ray[default]>=2.9')"
    ) from _error

from hyperknob.execution._processes import _picklable
from hyperknob.execution._shared_storage import Address, StorageClient, StorageServer
from hyperknob.storages._base import BaseStorage
from hyperknob.storages._sql import SQLStorage
from hyperknob.study._heartbeat import retry_trial
from hyperknob.study._optimize import ask_trial, evaluate_trial
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.pruners._base import BasePruner
    from hyperknob.samplers._base import BaseSampler
    from hyperknob.study._heartbeat import HeartbeatPolicy
    from hyperknob.study._study import CallbackFunc, ObjectiveFunc, Study
    from hyperknob.trial._trial import Trial

logger = logging.getLogger("hyperknob")

# Ray's names for the resources a trial may ask for by these keys; others pass through.
_RESOURCE_NAMES = {"cpu": "CPU", "gpu": "GPU", "memory": "memory"}
_STORAGE_ACCESS = ("auto", "direct", "proxy")
# Errors that mean the worker, not the objective, is gone: the trial is lost and retried.
_LOST = (
    ray.exceptions.RayActorError,
    ray.exceptions.WorkerCrashedError,
    ray.exceptions.NodeDiedError,
    ray.exceptions.ObjectLostError,
    ray.exceptions.ActorUnavailableError,
)


@dataclasses.dataclass(frozen=True)
class _WorkerSpec:
    """Everything an actor needs to rebuild the study on its node."""

    study_name: str
    sampler: BaseSampler
    pruner: BasePruner
    heartbeat: HeartbeatPolicy | None
    func: ObjectiveFunc
    catch: tuple[type[Exception], ...]
    url: str | None  # a database every node can reach, or None: use the driver's server
    address: Address | None
    authkey: bytes | None

    def connect(self) -> BaseStorage:
        if self.url is not None:
            return SQLStorage(self.url)
        assert self.address is not None and self.authkey is not None
        return StorageClient(self.address, self.authkey)


@dataclasses.dataclass(frozen=True)
class _Outcome:
    frozen: FrozenTrial
    error: BaseException | None  # the objective's exception when not in ``catch``


class _TrialWorker:
    """A Ray actor holding one trial's resources; runs the trials the driver hands it."""

    def __init__(self, spec: _WorkerSpec) -> None:
        from hyperknob.study._study import Study

        self._study = Study(study_name=spec.study_name, storage=spec.connect(),
                            sampler=spec.sampler, pruner=spec.pruner, heartbeat=spec.heartbeat)
        self._func = spec.func
        self._catch = spec.catch
        context = ray.get_runtime_context()
        self._node = str(context.get_node_id())
        self._where = f"{socket.gethostname()}:{context.get_actor_id()}"

    def ready(self) -> str:
        """Return this actor's node id once it is up."""
        return self._node

    def run(self, trial_id: int) -> _Outcome:
        """Run the objective on a trial the driver started, and finish the trial."""
        from hyperknob.trial._trial import Trial

        storage = self._study._storage
        storage.set_trial_attr(trial_id, "system", "ray_node", self._node)
        storage.set_trial_attr(trial_id, "system", "worker", self._where)
        trial = Trial(self._study, storage.get_trial(trial_id))
        try:
            frozen = evaluate_trial(self._study, trial, self._func, self._catch)
        except BaseException as error:  # already stored as FAIL; the driver re-raises it
            return _Outcome(storage.get_trial(trial_id), _picklable(error))
        return _Outcome(frozen, None)


class RayExecutor:
    """Run ``Study.optimize`` on a Ray cluster: one trial per actor, spread over its nodes.

    Args:
        address: The cluster: None (``RAY_ADDRESS`` if set, else a new local Ray), "auto" (the
            cluster this machine belongs to, started with ``ray start``), "local", or
            "ray://HOST:10001" (Ray Client). Ignored when Ray is already initialized.
        resources_per_trial: What one trial holds, e.g. ``{"cpu": 1, "gpu": 0.25}``: Ray places
            at most four such trials on one GPU and sets ``CUDA_VISIBLE_DEVICES`` for each.
            Keys "cpu", "gpu", "memory" (bytes) and any custom resource of the cluster.
        max_concurrent: Trials running at once (default: as many as the cluster's resources
            hold when the study starts).
        max_retries: How often the parameters of a trial lost with its worker or node are run
            again as a new trial.
        storage_access: "direct" (workers connect to the study's PostgreSQL database),
            "proxy" (workers call the driver, which holds the storage), or "auto": direct for
            PostgreSQL, proxy for SQLite files and in-memory studies.
        init_kwargs: More keyword arguments for ``ray.init`` (e.g. ``runtime_env``).
        start_timeout: Seconds to wait for a worker actor to start (resources must free up
            or nodes join) before giving up with an error.
        driver_host: The address workers reach the driver at, for the storage it serves
            (default: this node's address in the Ray cluster).

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(storage="sqlite:///tune.db")  # doctest: +SKIP
        >>> executor = hyperknob.RayExecutor(address="auto",  # doctest: +SKIP
        ...                                  resources_per_trial={"cpu": 1, "gpu": 0.25})
        >>> study.optimize(objective, n_trials=200, executor=executor)  # doctest: +SKIP
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        resources_per_trial: Mapping[str, float] | None = None,
        max_concurrent: int | None = None,
        max_retries: int = 2,
        storage_access: str = "auto",
        init_kwargs: Mapping[str, Any] | None = None,
        start_timeout: float = 600.0,
        driver_host: str | None = None,
    ) -> None:
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be None, 'auto', 'local' or 'ray://HOST:PORT', "
                            f"got {address!r}")
        self.address = address
        self.resources_per_trial = _check_resources(
            {"cpu": 1} if resources_per_trial is None else resources_per_trial)
        if max_concurrent is not None and (isinstance(max_concurrent, bool) or not isinstance(
                max_concurrent, int) or max_concurrent < 1):
            raise ValueError(f"max_concurrent must be an int >= 1 or None, got "
                             f"{max_concurrent!r}")
        self.max_concurrent = max_concurrent
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        if storage_access not in _STORAGE_ACCESS:
            raise ValueError(f"storage_access must be one of {list(_STORAGE_ACCESS)}, got "
                             f"{storage_access!r}")
        self.storage_access = storage_access
        self.init_kwargs = dict(init_kwargs or {})
        if isinstance(start_timeout, bool) or not (isinstance(start_timeout, (int, float))
                                                   and start_timeout > 0):
            raise ValueError(f"start_timeout must be a number of seconds > 0, got "
                             f"{start_timeout!r}")
        self.start_timeout = float(start_timeout)
        if driver_host is not None and (not isinstance(driver_host, str) or not driver_host):
            raise TypeError(f"driver_host must be a host name or address, got {driver_host!r}")
        self.driver_host = driver_host
        self._started_ray = False

    def __repr__(self) -> str:
        return (f"RayExecutor(address={self.address!r}, resources_per_trial="
                f"{self.resources_per_trial!r}, max_concurrent={self.max_concurrent!r})")

    # -- Ray and resources -------------------------------------------------------------------
    def _connect(self) -> None:
        if ray.is_initialized():
            return
        ray.init(address=self.address, **self.init_kwargs)
        self._started_ray = True

    def shutdown(self) -> None:
        """Shut down the Ray instance this executor started (none if it joined one)."""
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
        self._started_ray = False

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"max_restarts": 0, "max_task_retries": 0}
        custom = {}
        for key, amount in self.resources_per_trial.items():
            if key == "cpu":
                options["num_cpus"] = amount
            elif key == "gpu":
                options["num_gpus"] = amount
            elif key == "memory":
                options["memory"] = amount
            else:
                custom[key] = amount
        options.setdefault("num_cpus", 0)
        if custom:
            options["resources"] = custom
        return options

    def concurrency(self) -> int:
        """Return how many trials run at once: ``max_concurrent``, or what the cluster holds."""
        if self.max_concurrent is not None:
            return self.max_concurrent
        total = ray.cluster_resources()
        fits = []
        for key, amount in self.resources_per_trial.items():
            if amount > 0:
                have = float(total.get(_RESOURCE_NAMES.get(key, key), 0.0))
                fits.append((math.floor(have / amount + 1e-9), key, have, amount))
        if not fits:
            raise ValueError("resources_per_trial asks for nothing; set max_concurrent to say "
                             "how many trials run at once")
        count, key, have, amount = min(fits)
        if count < 1:
            raise ValueError(f"a trial needs {key}={amount:g} but the Ray cluster has "
                             f"{key}={have:g} in all; lower resources_per_trial or add nodes")
        return count

    # -- storage -----------------------------------------------------------------------------
    def _link(self, study: Study, func: ObjectiveFunc,
              catch: tuple[type[Exception], ...]) -> tuple[StorageServer | None, _WorkerSpec]:
        storage = study._storage
        url = storage.url if isinstance(storage, SQLStorage) else None
        shared = url is not None and not url.startswith("sqlite")
        if self.storage_access == "direct" and not shared:
            raise ValueError("storage_access='direct' needs a PostgreSQL storage every node "
                             f"can reach; this study is stored in {type(storage).__name__}"
                             + (" (a SQLite file)" if url is not None else ""))
        server = None
        address = authkey = None
        if not shared or self.storage_access == "proxy":
            url = None
            host = self.driver_host or str(ray.util.get_node_ip_address())
            server = StorageServer(storage, host=host)
            address, authkey = server.address, server.authkey
        spec = _WorkerSpec(study.study_name, study.sampler, study.pruner, study.heartbeat,
                           func, catch, url, address, authkey)
        return server, spec

    # -- the loop ----------------------------------------------------------------------------
    def run(
        self,
        study: Study,
        func: ObjectiveFunc,
        *,
        n_trials: int | None,
        deadline: float | None,
        callbacks: list[CallbackFunc],
        catch: tuple[type[Exception], ...],
        on_trial: Callable[[TrialState, float | None], None],
    ) -> None:
        """Run trials on the cluster until the budget is spent (see :class:`Executor`)."""
        self._connect()
        concurrent = self.concurrency()
        server, spec = self._link(study, func, catch)
        loop = _Loop(self, study, ray.put(spec), n_trials, deadline, callbacks, on_trial)
        try:
            loop.run(concurrent)
        finally:
            loop.close()
            if server is not None:
                server.close()
        if loop.error is not None:
            raise loop.error


def _check_resources(resources: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(resources, Mapping):
        raise TypeError(f"resources_per_trial must be a mapping like {{'cpu': 1, 'gpu': 0.25}}, "
                        f"got {resources!r}")
    checked = {}
    for key, amount in resources.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"resources_per_trial keys must be resource names, got {key!r}")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not (
                math.isfinite(amount) and amount >= 0):
            raise ValueError(f"resources_per_trial[{key!r}] must be a number >= 0, got "
                             f"{amount!r}")
        if key == "gpu" and amount > 1 and amount != int(amount):
            raise ValueError(f"resources_per_trial['gpu'] must be a fraction <= 1 or a whole "
                             f"number of GPUs, got {amount!r}")
        checked[key] = float(amount)
    return checked


class _Loop:
    """One ``run``: actors starting, idle and busy, and the trials they hold."""

    def __init__(self, executor: RayExecutor, study: Study, spec_ref: Any,
                 n_trials: int | None, deadline: float | None,
                 callbacks: list[CallbackFunc],
                 on_trial: Callable[[TrialState, float | None], None]) -> None:
        self.executor = executor
        self.study = study
        self.spec_ref = spec_ref
        self.n_trials = n_trials
        self.deadline = deadline
        self.callbacks = callbacks
        self.on_trial = on_trial
        self.actor_class = ray.remote(_TrialWorker).options(**executor._options())
        self.starting: dict[Any, Any] = {}  # ready() ref -> actor
        self.idle: list[Any] = []
        self.busy: dict[Any, tuple[Any, Trial]] = {}  # run() ref -> (actor, trial)
        self.launched = 0
        self.error: BaseException | None = None
        self.stopping = False
        self.waiting_since = time.monotonic()

    def spawn(self) -> None:
        actor = self.actor_class.remote(self.spec_ref)
        self.starting[actor.ready.remote()] = actor

    def budget_left(self) -> bool:
        return self.n_trials is None or self.launched < self.n_trials

    def run(self, concurrent: int) -> None:
        wanted = concurrent if self.n_trials is None else min(concurrent, self.n_trials)
        for _ in range(wanted):  # no more actors than trials to run
            self.spawn()
        try:
            while True:
                self.launch()
                if not self.busy and (self.stopping or not self.budget_left()):
                    return
                if not self.busy and not self.idle and (
                        time.monotonic() - self.waiting_since > self.executor.start_timeout):
                    raise RuntimeError(
                        f"no Ray worker for a trial started within {self.executor.start_timeout:g}"
                        f" s; the cluster lacks resources_per_trial="
                        f"{self.executor.resources_per_trial} (free now: "
                        f"{ray.available_resources()})")
                ready, _ = ray.wait([*self.busy, *self.starting], num_returns=1, timeout=0.25)
                for ref in ready:
                    if ref in self.starting:
                        self.started(ref)
                    else:
                        self.finished(ref)
        except KeyboardInterrupt:
            for _actor, trial in self.busy.values():
                self.study._storage.finish_trial(trial._trial_id, TrialState.FAIL, None, {
                    "fail_reason": "interrupted: the driver stopped (Ctrl-C)"})
            raise

    def launch(self) -> None:
        study = self.study
        if study._stopped or (self.deadline is not None and time.monotonic() >= self.deadline):
            self.stopping = True
        while self.idle and not self.stopping and self.budget_left():
            if study.sampler.is_exhausted(study._view):
                self.stopping = True
                return
            trial = ask_trial(study)
            actor = self.idle.pop()
            self.busy[actor.run.remote(trial._trial_id)] = (actor, trial)
            self.launched += 1

    def started(self, ref: Any) -> None:
        actor = self.starting.pop(ref)
        try:
            ray.get(ref)
        except _LOST as error:
            if getattr(error, "actor_init_failed", False):
                raise _setup_error(error) from error
            self.spawn()  # its node went while it started: try again on another
            return
        except ray.exceptions.RayError as error:
            raise _setup_error(error) from error
        self.idle.append(actor)
        self.waiting_since = time.monotonic()

    def finished(self, ref: Any) -> None:
        actor, trial = self.busy.pop(ref)
        try:
            outcome: _Outcome = ray.get(ref)
        except _LOST as lost:
            if not self.lost(trial, lost):
                self.launched -= 1  # its retry takes its place in the budget
            ray.kill(actor)
            self.spawn()
            self.waiting_since = time.monotonic()
            return
        except ray.exceptions.RayError as error:  # hyperknob's side of the actor failed
            self.study._storage.finish_trial(trial._trial_id, TrialState.FAIL, None, {
                "fail_reason": f"its Ray worker failed: {_first_line(error)}"})
            if self.error is None:
                self.error, self.stopping = error, True
            ray.kill(actor)
            return
        self.idle.append(actor)
        self.waiting_since = time.monotonic()
        self.report(outcome.frozen)
        if outcome.error is not None and self.error is None:
            self.error, self.stopping = outcome.error, True

    def report(self, frozen: FrozenTrial) -> None:
        self.on_trial(frozen.state, frozen.value)
        for callback in self.callbacks:
            callback(self.study, frozen)

    def lost(self, trial: Trial, error: BaseException) -> bool:
        """Store a trial whose worker died as FAIL and maybe retry it; return whether it
        counts against the budget (not retried)."""
        storage = self.study._storage
        reason = f"lost: its Ray worker died ({type(error).__name__}: {_first_line(error)})"
        if not storage.finish_trial(trial._trial_id, TrialState.FAIL, None,
                                    {"fail_reason": reason}):
            frozen = storage.get_trial(trial._trial_id)  # it finished before the worker went
            self.report(frozen)
            return True
        frozen = storage.get_trial(trial._trial_id)
        retried = retry_trial(self.study, frozen, self.executor.max_retries)
        logger.warning("trial %d %s%s", frozen.number, reason,
                       "; its parameters run again" if retried else "")
        if not retried:
            self.report(frozen)
        return not retried

    def close(self) -> None:
        for actor in [*self.idle, *self.starting.values(),
                      *(actor for actor, _ in self.busy.values())]:
            ray.kill(actor)
        self.idle.clear()
        self.starting.clear()
        self.busy.clear()


def _setup_error(error: BaseException) -> RuntimeError:
    text = str(error)
    hint = ""
    if "ModuleNotFoundError" in text or "No module named" in text:
        hint = (" -- the objective, or something it uses, is not importable on the worker nodes:"
                " install it there, or ship it with init_kwargs={'runtime_env': {...}}")
    detail = next((line.strip() for line in reversed(text.splitlines())
                   if "Error" in line and line.strip()), _first_line(error))
    return RuntimeError(f"a Ray worker could not set up the study: {detail}{hint}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines() or [""])[0][:300]
