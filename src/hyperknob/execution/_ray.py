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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

try:
    import ray
    import ray.exceptions
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "RayExecutor needs Ray: pip install 'hyperknob[ray]' (or 'ray[default]>=2.9')"
    ) from _error

from hyperknob._checks import check_int, check_number
from hyperknob.execution._loop import TrialLoop, evaluate
from hyperknob.execution._processes import picklable
from hyperknob.storages._base import BaseStorage
from hyperknob.storages._remote import Address, StorageClient, StorageServer
from hyperknob.storages._sql import SQLStorage
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.pruners._base import BasePruner
    from hyperknob.samplers._base import BaseSampler
    from hyperknob.study._heartbeat import HeartbeatPolicy
    from hyperknob.study._study import ObjectiveFunc, Study

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

    study_class: type[Study]  # pickled by reference: this module need not import the study
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
        self._study = spec.study_class(
            study_name=spec.study_name, storage=spec.connect(), sampler=spec.sampler,
            pruner=spec.pruner, heartbeat=spec.heartbeat)
        self._func = spec.func
        self._catch = spec.catch
        context = ray.get_runtime_context()
        self._node = str(context.get_node_id())
        self._where = f"{socket.gethostname()}:{context.get_actor_id()}"

    def ready(self) -> str:
        """Return this actor's node id once it is up."""
        return self._node

    def run(self, started: FrozenTrial) -> _Outcome:
        """Run the objective on a trial the driver started, and finish the trial."""
        study = self._study
        trial = study.running_trial(started)
        trial.set_system_attr("ray_node", self._node)
        trial.set_system_attr("worker", self._where)
        try:
            frozen = evaluate(study, trial, self._func, self._catch)
        except BaseException as error:  # already stored as FAIL; the driver re-raises it
            return _Outcome(study.storage.get_trial(trial.trial_id), picklable(error))
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
        self.max_concurrent = check_int("max_concurrent", max_concurrent, least=1, none_ok=True)
        self.max_retries = check_int("max_retries", max_retries, least=0)
        if storage_access not in _STORAGE_ACCESS:
            raise ValueError(f"storage_access must be one of {list(_STORAGE_ACCESS)}, got "
                             f"{storage_access!r}")
        self.storage_access = storage_access
        self.init_kwargs = dict(init_kwargs or {})
        self.start_timeout = check_number("start_timeout", start_timeout, above=0.0,
                                          unit="seconds")
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

    def actor_options(self) -> dict[str, Any]:
        """Return the ``ray.remote`` options of one trial's actor."""
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
        storage = study.storage
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
        spec = _WorkerSpec(type(study), study.study_name, study.sampler, study.pruner,
                           study.heartbeat, func, catch, url, address, authkey)
        return server, spec

    # -- the loop ----------------------------------------------------------------------------
    def run(self, loop: TrialLoop, func: ObjectiveFunc,
            catch: tuple[type[Exception], ...]) -> None:
        """Run the loop's trials on the cluster until it may start no more."""
        self._connect()
        concurrent = self.concurrency()
        server, spec = self._link(loop.study, func, catch)
        actors = _Actors(self, loop, ray.put(spec))
        try:
            actors.run(concurrent)
        finally:
            actors.close()
            if server is not None:
                server.close()
        if actors.error is not None:
            raise actors.error


def _check_resources(resources: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(resources, Mapping):
        raise TypeError(f"resources_per_trial must be a mapping like {{'cpu': 1, 'gpu': 0.25}}, "
                        f"got {resources!r}")
    checked = {}
    for key, amount in resources.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"resources_per_trial keys must be resource names, got {key!r}")
        check_number(f"resources_per_trial[{key!r}]", amount, least=0.0)
        if key == "gpu" and amount > 1 and amount != int(amount):
            raise ValueError(f"resources_per_trial['gpu'] must be a fraction <= 1 or a whole "
                             f"number of GPUs, got {amount!r}")
        checked[key] = float(amount)
    return checked


class _Actors:
    """One ``run``: actors starting, idle and busy, and the trials they hold."""

    def __init__(self, executor: RayExecutor, loop: TrialLoop, spec_ref: Any) -> None:
        self.executor = executor
        self.loop = loop
        self.study = loop.study
        self.spec_ref = spec_ref
        self.actor_class = ray.remote(_TrialWorker).options(**executor.actor_options())
        self.starting: dict[Any, Any] = {}  # ready() ref -> actor
        self.idle: list[Any] = []
        self.busy: dict[Any, tuple[Any, int]] = {}  # run() ref -> (actor, trial number)
        self.error: BaseException | None = None
        self.stopping = False
        self.waiting_since = time.monotonic()

    def spawn(self) -> None:
        actor = self.actor_class.remote(self.spec_ref)
        self.starting[actor.ready.remote()] = actor

    def run(self, concurrent: int) -> None:
        left = self.loop.left()
        wanted = concurrent if left is None else min(concurrent, left)
        for _ in range(wanted):  # no more actors than trials to run
            self.spawn()
        try:
            while True:
                self.launch()
                if not self.busy and (self.stopping or not self.loop.may_start()):
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
            for _actor, number in self.busy.values():
                self.study.fail(number, "interrupted: the driver stopped (Ctrl-C)",
                                skip_if_finished=True)
            raise

    def launch(self) -> None:
        while self.idle and not self.stopping:
            started = self.loop.next_for_worker()
            if started is None:
                self.stopping = True
                return
            actor = self.idle.pop()
            self.busy[actor.run.remote(started)] = (actor, started.number)

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
        actor, number = self.busy.pop(ref)
        try:
            outcome: _Outcome = ray.get(ref)
        except _LOST as lost:
            if not self.lost(number, lost):
                self.loop.give_back()  # its retry takes its place in the budget
            ray.kill(actor)
            self.spawn()
            self.waiting_since = time.monotonic()
            return
        except ray.exceptions.RayError as error:  # hyperknob's side of the actor failed
            self.study.fail(number, f"its Ray worker failed: {_first_line(error)}",
                            skip_if_finished=True)
            if self.error is None:
                self.error, self.stopping = error, True
            ray.kill(actor)
            return
        self.idle.append(actor)
        self.waiting_since = time.monotonic()
        self.loop.finished(outcome.frozen)
        if outcome.error is not None and self.error is None:
            self.error, self.stopping = outcome.error, True

    def lost(self, number: int, error: BaseException) -> bool:
        """Store a trial whose worker died as FAIL and maybe retry it; return whether it
        counts against the budget (not retried)."""
        reason = f"lost: its Ray worker died ({type(error).__name__}: {_first_line(error)})"
        frozen = self.study.fail(number, reason, skip_if_finished=True)
        if frozen.system_attrs.get("fail_reason") != reason:
            self.loop.finished(frozen)  # it finished before the worker went
            return True
        retried = self.study.requeue(frozen, max_retries=self.executor.max_retries)
        logger.warning("trial %d %s%s", frozen.number, reason,
                       "; its parameters run again" if retried else "")
        if not retried:
            self.loop.finished(frozen)
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
