"""Study: ask -> objective(trial) -> tell. The only component that writes to storage."""

from __future__ import annotations

import contextlib
import traceback as traceback_module
import warnings
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int
from hyperknob._direction import StudyDirection
from hyperknob._losses import signed_losses
from hyperknob.distributions import BaseDistribution
from hyperknob.exceptions import StudyNotFoundError, UpdateFinishedTrialError
from hyperknob.pruners._base import BasePruner, NopPruner
from hyperknob.samplers._base import BaseSampler
from hyperknob.storages import BaseStorage, get_storage
from hyperknob.study._add import check_addable
from hyperknob.study._heartbeat import (
    WORKER_ATTR,
    Beater,
    HeartbeatPolicy,
    stale_trials,
    this_worker,
)
from hyperknob.study._host import StudyHost
from hyperknob.study._view import StudyView, single_direction
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial, check_objective_values

if TYPE_CHECKING:
    import pandas as pd

    from hyperknob.execution._base import Executor

#: An objective returns a float, or one float per objective (a sequence) in a study with
#: several.
ObjectiveFunc = Callable[[Trial], float | Sequence[float]]
CallbackFunc = Callable[["Study", FrozenTrial], None]


_NOT_BEATING = contextlib.nullcontext()


def _default_sampler(seed: int | None) -> BaseSampler:
    # GP for the first 200 trials, TPE after and for mostly conditional spaces: the GP scored
    # highest at 16 and 64 trials on the three quality suites, TPE stays cheap at thousands
    # of trials and models conditional parameters (BENCHMARKS.md, "Optimization quality").
    from hyperknob.samplers import AutoSampler

    return AutoSampler(seed=seed)


class Study:
    """A named optimization: its trials, its direction(s), its sampler and pruner.

    Build with :func:`create_study` or :func:`load_study`. A study has one objective, or
    several (``create_study(directions=[...])``): its objective then returns one value per
    objective and :attr:`best_trials` is the Pareto front.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(direction="minimize", seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=20)
        >>> round(study.best_params["x"])
        2
    """

    def __init__(
        self,
        *,
        study_name: str,
        storage: str | BaseStorage | None,
        sampler: BaseSampler | None = None,
        pruner: BasePruner | None = None,
        heartbeat: HeartbeatPolicy | None = None,
    ) -> None:
        if heartbeat is not None and not isinstance(heartbeat, HeartbeatPolicy):
            raise TypeError(f"heartbeat must be a HeartbeatPolicy or None, got {heartbeat!r}")
        self._storage = get_storage(storage)
        defaults = self._storage.heartbeat_defaults
        if heartbeat is None and defaults is not None:  # the storage's (an RDBStorage's)
            heartbeat = HeartbeatPolicy(*defaults)
        #: Workers of this study beat for their trials and reap dead workers' trials.
        self.heartbeat = heartbeat
        self._study_id = self._storage.get_study_id_from_name(study_name)
        self.study_name = study_name
        self._directions = self._storage.get_study_directions(self._study_id)
        self.sampler = sampler if sampler is not None else _default_sampler(None)
        self.pruner = pruner if pruner is not None else NopPruner()
        self._view = StudyView(self._storage, self._study_id, study_name, self._directions)
        self._host = StudyHost(self)
        self._stopped = False

    def with_storage(self, storage: BaseStorage) -> Study:
        """Return this study seen through another handle on its storage (a worker's own
        connection): same name, sampler, pruner and heartbeat policy."""
        return Study(study_name=self.study_name, storage=storage, sampler=self.sampler,
                     pruner=self.pruner, heartbeat=self.heartbeat)

    @property
    def storage(self) -> BaseStorage:
        """Return the storage the study lives in: for reading, and for handing to workers
        (who open their own study on it); only the study writes to it."""
        return self._storage

    @property
    def view(self) -> StudyView:
        """Return the read-only view of the study that samplers and pruners get."""
        return self._view

    # -- reading ---------------------------------------------------------------------------
    @property
    def directions(self) -> list[StudyDirection]:
        """Return whether the study minimizes or maximizes each objective."""
        return list(self._directions)

    @property
    def direction(self) -> StudyDirection:
        """Return whether a one-objective study minimizes or maximizes.

        Raises:
            RuntimeError: The study has several objectives (read :attr:`directions`).
        """
        return single_direction(self._directions, f"study {self.study_name!r}")

    def is_multi_objective(self) -> bool:
        """Return whether the study has more than one objective."""
        return len(self._directions) > 1

    @property
    def metric_names(self) -> list[str] | None:
        """Return the names of the objectives set by :meth:`set_metric_names`, or None."""
        names = self._storage.get_study_attrs(self._study_id, "system").get("metric_names")
        return None if names is None else [str(n) for n in names]

    def set_metric_names(self, metric_names: Sequence[str]) -> None:
        """Name the objectives, in order (shown in ``trials_dataframe``, plots and reports)."""
        if isinstance(metric_names, str) or not isinstance(metric_names, Sequence) or not all(
                isinstance(n, str) and n for n in metric_names):
            raise TypeError(f"metric_names must be a list of non-empty strings, got "
                            f"metric_names={metric_names!r}")
        if len(metric_names) != len(self._directions):
            raise ValueError(f"metric_names must name each of the study's "
                             f"{len(self._directions)} objectives, got "
                             f"metric_names={list(metric_names)!r}")
        if len(set(metric_names)) != len(metric_names):
            raise ValueError(f"metric_names must differ (each names a column of "
                             f"trials_dataframe), got metric_names={list(metric_names)!r}")
        self._storage.set_study_attr(self._study_id, "system", "metric_names",
                                     list(metric_names))

    @property
    def trials(self) -> list[FrozenTrial]:
        """Return every trial, ordered by number."""
        return self._storage.get_all_trials(self._study_id)

    def get_trials(self, deepcopy: bool | Container[TrialState] = True,
                   states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        """Return the trials, optionally only those in ``states``.

        ``deepcopy`` is accepted for Optuna's scripts and changes nothing: the records are
        immutable, so the storage's own are handed out. (Called with one positional
        argument that is a container of states, that is taken as ``states``.)
        """
        if states is None and not isinstance(deepcopy, bool):
            states = deepcopy  # hyperknob's older get_trials(states)
        return self._storage.get_all_trials(self._study_id, states)

    @property
    def best_trial(self) -> FrozenTrial:
        """Return the best COMPLETE trial of a one-objective study that meets its constraints
        (where its sampler has a ``constraints_func``).

        Raises:
            ValueError: No such trial yet.
            RuntimeError: The study has several objectives (read :attr:`best_trials`).
        """
        from hyperknob.samplers._constraints import is_feasible

        direction = single_direction(
            self._directions, f"study {self.study_name!r}",
            read=".best_trials (the Pareto front) instead of .best_trial, and .directions")
        best = self._storage.get_best_trial(self._study_id)
        if best is None:
            raise ValueError(f"study {self.study_name!r} has no COMPLETE trial yet")
        if is_feasible(best):
            return best
        sign = 1.0 if direction is StudyDirection.MINIMIZE else -1.0
        feasible = [t for t in self.get_trials(states=(TrialState.COMPLETE,)) if is_feasible(t)]
        if not feasible:
            raise ValueError(f"study {self.study_name!r} has no COMPLETE trial that meets "
                             "its constraints yet")
        return min(feasible, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """Return the Pareto front: the COMPLETE trials that meet their constraints and that no
        other such trial dominates (at least as good in every objective, better in one),
        ordered by number. With one objective: the trials sharing the best value."""
        from hyperknob._pareto import nondominated_mask
        from hyperknob.samplers._constraints import is_feasible

        trials = [t for t in self.get_trials(states=(TrialState.COMPLETE,)) if is_feasible(t)]
        if not trials:
            return []
        mask = nondominated_mask(signed_losses(trials, self._directions))
        return [t for t, keep in zip(trials, mask, strict=True) if keep]

    @property
    def best_value(self) -> float:
        """Return the value of the best trial (see :attr:`best_trial`)."""
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_params(self) -> dict[str, Any]:
        """Return the parameters of the best trial."""
        return dict(self.best_trial.params)

    @property
    def user_attrs(self) -> dict[str, Any]:
        """Return the study's user attributes."""
        return self._storage.get_study_attrs(self._study_id, "user")

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serializable value to the study."""
        self._storage.set_study_attr(self._study_id, "user", key, value)

    def trials_dataframe(self, attrs: Sequence[str] | None = None,
                         multi_index: bool = False) -> pd.DataFrame:
        """Return the trials as a pandas DataFrame (requires pandas).

        One row per trial; by default the columns ``number``, ``value`` (several objectives:
        ``values_0``, ``values_1``, ... or ``values_<name>`` after :meth:`set_metric_names`),
        ``state``, the times, ``duration_s``, ``params_*``, ``user_attrs_*``, a failed trial's
        ``fail_reason`` and, where there are any, its ``constraints``. ``attrs``: the groups
        to show instead, by Optuna's names (``("number", "value", "params")``; ``duration``
        is a timedelta, ``duration_s`` seconds). ``multi_index``: two-level columns
        (``("params", "lr")``) instead of flat names.
        """
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("trials_dataframe() needs pandas: pip install pandas") from error
        from hyperknob.study._records import DEFAULT_ATTRS, flat, trial_columns

        names = self.metric_names if self.is_multi_objective() else None
        records = trial_columns(self.trials, attrs=DEFAULT_ATTRS if attrs is None else attrs,
                                n_objectives=len(self._directions), metric_names=names)
        columns: dict[str, tuple[str, str]] = {}
        rows = []
        for record in records:
            row = {}
            for column, value in record.items():
                columns.setdefault(flat(column), column)
                row[flat(column)] = value
            rows.append(row)
        frame: pd.DataFrame = pd.DataFrame(rows)
        if multi_index and len(frame.columns):
            frame.columns = pd.MultiIndex.from_tuples([columns[c] for c in frame.columns])
        return frame

    # -- the trial lifecycle: ask, then tell / prune / fail -----------------------------------
    def ask(self, fixed_distributions: Mapping[str, BaseDistribution] | None = None) -> Trial:
        """Start a trial: the oldest enqueued one if any, else a new one.

        ``fixed_distributions``: parameters to suggest at once, name -> distribution (the
        define-and-run style: ``trial.params`` then holds them).

        Under a :class:`HeartbeatPolicy`, trials whose worker went silent are failed (and
        retried) first.
        """
        if fixed_distributions is not None and not isinstance(fixed_distributions, Mapping):
            raise TypeError(f"fixed_distributions must map parameter names to distributions, "
                            f"got fixed_distributions={fixed_distributions!r}")
        for name, distribution in (fixed_distributions or {}).items():  # before a trial exists
            if not isinstance(name, str) or not isinstance(distribution, BaseDistribution):
                raise TypeError(f"fixed_distributions must map parameter names to "
                                f"distributions, got {name!r}: {distribution!r}")
        if self.heartbeat is not None:
            self._reap(self.heartbeat, dead_processes=False)
        frozen = self._storage.claim_waiting_trial(self._study_id)
        if frozen is None:
            frozen = self._storage.create_new_trial(self._study_id)
        self._host._open[frozen.trial_id] = None
        trial = Trial(frozen, self._host)
        for name, distribution in (fixed_distributions or {}).items():
            trial._suggest(name, distribution)
        return trial

    def hand_off(self, trial: Trial) -> FrozenTrial:
        """Give up this process's handle on a running trial that a worker elsewhere runs;
        return its record, which the worker opens with :meth:`running_trial`."""
        self._host._open.pop(trial.trial_id, None)
        return trial.snapshot()

    def running_trial(self, trial: int | FrozenTrial) -> Trial:
        """Return a live handle on a RUNNING trial that another process asked for (a worker
        runs the objective on a trial its driver started): its number, read from storage,
        or the record :meth:`hand_off` gave the driver (no read)."""
        if isinstance(trial, FrozenTrial):
            frozen = trial
        else:
            trial_id = self._storage.get_trial_id_from_number(self._study_id, trial)
            frozen = self._storage.get_trial(trial_id)
        if frozen.state is not TrialState.RUNNING:
            raise ValueError(f"trial {frozen.number} is {frozen.state.name}, not RUNNING")
        self._host._open[frozen.trial_id] = None
        return Trial(frozen, self._host)

    def tell(
        self,
        trial: Trial | int,
        values: Any = None,
        state: TrialState | None = None,
        *,
        skip_if_finished: bool = False,
    ) -> FrozenTrial:
        """Finish a trial with its value (COMPLETE), or as PRUNED or FAIL.

        ``values``: a float, or one float per objective (a sequence) in a study with several.
        An invalid value (None, a string, NaN, inf, the wrong number of values) makes the
        trial FAIL with the reason recorded in ``system_attrs["fail_reason"]``; the study
        goes on.
        """
        value = values
        live = trial if isinstance(trial, Trial) else self._live(trial)
        if state is not None and not isinstance(state, TrialState):
            raise TypeError(f"state must be a TrialState, got {state!r}")
        if state in (TrialState.RUNNING, TrialState.WAITING):
            raise ValueError(f"state must be COMPLETE, PRUNED or FAIL, got {state!r}")
        if state is None:
            state = TrialState.COMPLETE
        if state is TrialState.PRUNED:
            if value is not None:
                raise ValueError(f"a PRUNED trial takes no value, got value={value!r}")
            return self.prune(live, skip_if_finished=skip_if_finished)
        if state is TrialState.FAIL:
            if value is not None:
                raise ValueError(f"a FAIL trial takes no value, got value={value!r}")
            return self._finish(live, TrialState.FAIL, None, {},
                                skip_if_finished=skip_if_finished)
        checked, reason = check_objective_values(value, len(self._directions))
        if reason is not None:
            warnings.warn(f"trial {live.number} failed: {reason}", stacklevel=2)
            return self._finish(live, TrialState.FAIL, None, {"fail_reason": reason},
                                skip_if_finished=skip_if_finished)
        return self._finish(live, TrialState.COMPLETE, checked, {},
                            skip_if_finished=skip_if_finished)

    def prune(self, trial: Trial | int, reason: str | None = None, *,
              skip_if_finished: bool = False) -> FrozenTrial:
        """Finish a trial as PRUNED, with why: ``reason``, else what the pruner said at the
        trial's last ``should_prune``; the last step it reported is kept too."""
        live = self._live(trial)
        why = reason or self._host.prune_reason(live.trial_id) or (
            "the objective raised TrialPruned")
        attrs: dict[str, Any] = {"prune_reason": why}
        last = live.snapshot().last_step
        if last is not None:
            attrs["pruned_at_step"] = last
        return self._finish(live, TrialState.PRUNED, None, attrs,
                            skip_if_finished=skip_if_finished)

    def fail(self, trial: Trial | int, error: BaseException | str, *,
             skip_if_finished: bool = False) -> FrozenTrial:
        """Finish a trial as FAIL: ``error`` is the exception that stopped it (its traceback
        is kept) or the reason in words (a lost worker, an interrupted driver)."""
        live = self._live(trial)
        attrs: dict[str, Any]
        if isinstance(error, BaseException):
            text = "".join(traceback_module.format_exception(type(error), error,
                                                             error.__traceback__))
            attrs = {"fail_reason": f"the objective raised {type(error).__name__}: {error}",
                     "traceback": text}
        elif isinstance(error, str) and error:
            attrs = {"fail_reason": error}
        else:
            raise TypeError(f"error must be an exception or a non-empty reason, got {error!r}")
        return self._finish(live, TrialState.FAIL, None, attrs,
                            skip_if_finished=skip_if_finished)

    def requeue(self, trial: FrozenTrial, *, max_retries: int) -> bool:
        """Queue a failed trial's parameters again as a new WAITING trial linked to it
        (``retried_from``, ``retry_of``, ``retry_count``), unless its line of retries already
        holds ``max_retries``; return whether it was queued."""
        check_int("max_retries", max_retries, least=0)
        if not isinstance(trial, FrozenTrial) or not trial.state.is_finished():
            raise ValueError(f"requeue() takes a finished trial's record, got {trial!r}")
        done = int(trial.system_attrs.get("retry_count", 0))
        if done >= max_retries:
            return False
        origin = trial.system_attrs.get("retried_from", trial.number)
        template = FrozenTrial(
            number=-1, trial_id=-1, state=TrialState.WAITING,
            user_attrs=dict(trial.user_attrs),
            system_attrs={"fixed_params": dict(trial.params), "retried_from": origin,
                          "retry_of": trial.number, "retry_count": done + 1})
        self._storage.create_new_trial(self._study_id, template)
        return True

    def keep_alive(self, trials: Sequence[Trial]) -> contextlib.AbstractContextManager[Any]:
        """Return a context that beats for running ``trials`` while it runs (under a heartbeat
        policy; else one that does nothing, and costs next to nothing), so that other workers
        do not take them for dead."""
        policy = self.heartbeat
        if policy is None or not trials:
            return _NOT_BEATING
        beater = Beater(self._storage.record_heartbeat, [t.trial_id for t in trials],
                        policy.interval)
        worker = this_worker()  # who runs them (after the first beat: see _reap)
        for trial in trials:
            self._storage.set_trial_attr(trial.trial_id, "system", WORKER_ATTR, worker)
        return beater

    def should_stop(self) -> bool:
        """Return whether :meth:`stop` was called since the current :meth:`optimize` began."""
        return self._stopped

    def _live(self, trial: Trial | int) -> Trial:
        if isinstance(trial, Trial):
            return trial
        if isinstance(trial, int) and not isinstance(trial, bool):
            trial_id = self._storage.get_trial_id_from_number(self._study_id, trial)
            frozen = self._storage.get_trial(trial_id)
            if frozen.state is TrialState.RUNNING:
                self._host._open[trial_id] = None
            return Trial(frozen, self._host)
        raise TypeError(f"trial must be a Trial or a trial number, got {trial!r}")

    def _finish(
        self,
        live: Trial,
        state: TrialState,
        values: tuple[float, ...] | None,
        attrs: Mapping[str, Any],
        *,
        skip_if_finished: bool,
    ) -> FrozenTrial:
        trial_id = live._trial_id  # the study's own trial handle (the hot path)
        if state is not TrialState.FAIL and trial_id in self._host._open:
            attrs = self._with_sampler_attrs(live, state, values, attrs)
        finished = self._storage.finish_trial(trial_id, state, values, attrs)
        self._host._open.pop(trial_id, None)  # finished now or before: no longer open here
        if not finished:
            stored = self._storage.get_trial(trial_id)
            if skip_if_finished:
                return stored
            raise UpdateFinishedTrialError(
                f"trial {live.number} is already {stored.state.name}; it cannot be told again"
            )
        return live.snapshot(finished=state, values=values, system_attrs=attrs)

    def _with_sampler_attrs(self, live: Trial, state: TrialState,
                            values: tuple[float, ...] | None,
                            attrs: Mapping[str, Any]) -> Mapping[str, Any]:
        """Return ``attrs`` plus what the sampler keeps with a finishing trial (its
        constraint values). If the sampler raises, the trial fails with that error first."""
        try:
            extra = self.sampler.finish_attrs(
                self._view, live.snapshot(finished=state, values=values, system_attrs=attrs))
        except Exception as error:
            self.fail(live, error, skip_if_finished=True)
            raise
        return {**attrs, **extra} if extra else attrs

    def reap_stale_trials(self, policy: HeartbeatPolicy | None = None) -> list[FrozenTrial]:
        """Fail the study's stale trials (RUNNING, and no heartbeat for the grace period of
        ``policy``, default the study's, or run by a process of this machine that is gone),
        re-enqueue those with retries left, and return the trials this call failed.
        :meth:`ask` reaps the silent ones before each trial (the processes of a pool see
        their workers die themselves)."""
        policy = policy or self.heartbeat
        if policy is None:
            raise ValueError("reap_stale_trials() needs a HeartbeatPolicy: the study has none")
        return self._reap(policy, dead_processes=True)

    def _reap(self, policy: HeartbeatPolicy, *, dead_processes: bool) -> list[FrozenTrial]:
        """Fail the trials :func:`~hyperknob.study._heartbeat.stale_trials` names; requeue
        those with retries left."""
        stale = stale_trials(self._storage, self._study_id, policy,
                             dead_processes=dead_processes)
        failed = []
        for trial_id, reason in sorted(stale.items()):
            if not self._storage.finish_trial(trial_id, TrialState.FAIL, None,
                                              {"fail_reason": reason}):
                continue  # another worker reaped it first, or it finished meanwhile
            self._host._open.pop(trial_id, None)
            trial = self._storage.get_trial(trial_id)
            failed.append(trial)
            self.requeue(trial, max_retries=policy.max_retries)
        return failed

    def enqueue_trial(
        self, params: Mapping[str, Any], *, user_attrs: Mapping[str, Any] | None = None
    ) -> None:
        """Queue a trial with fixed parameter values; it runs before new suggestions."""
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a mapping of name to value, got {params!r}")
        template = FrozenTrial(
            number=-1, trial_id=-1, state=TrialState.WAITING,
            user_attrs=dict(user_attrs or {}), system_attrs={"fixed_params": dict(params)},
        )
        self._storage.create_new_trial(self._study_id, template)

    def add_trial(self, trial: FrozenTrial) -> None:
        """Store a finished trial made elsewhere (e.g. from an earlier experiment or another
        study): a COMPLETE one needs one finite value per objective."""
        check_addable(trial, len(self._directions))
        self._storage.create_new_trial(self._study_id, trial)

    def add_trials(self, trials: Iterable[FrozenTrial]) -> None:
        """Store several finished trials made elsewhere (see :meth:`add_trial`); all are
        checked before any is stored."""
        trials = list(trials)
        for trial in trials:
            check_addable(trial, len(self._directions))
        for trial in trials:
            self._storage.create_new_trial(self._study_id, trial)

    # -- the loop --------------------------------------------------------------------------
    def optimize(
        self,
        func: ObjectiveFunc,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        callbacks: Iterable[CallbackFunc] | None = None,
        catch: Iterable[type[Exception]] | type[Exception] = (),
        show_progress_bar: bool = False,
        executor: Executor | None = None,
        total_trials: int | None = None,
    ) -> None:
        """Run trials until ``n_trials`` ran, ``timeout`` seconds passed, or :meth:`stop`.

        ``n_jobs=k`` runs k worker processes (``-1``: one per CPU) against the same storage.
        ``executor`` runs the trials elsewhere, e.g. on the nodes of a Ray cluster
        (:class:`hyperknob.RayExecutor`); callbacks still run here, once per finished trial.
        An exception raised by ``func`` fails the trial (traceback kept) and is re-raised unless
        its type is in ``catch``.

        ``total_trials``: start a trial only while the study holds fewer than this many
        COMPLETE, PRUNED or RUNNING trials, counting those of every process and machine
        running it, so concurrent runs end with exactly this many finished trials (unless one
        fails). A RUNNING trial of a dead process counts until it is reaped (under a heartbeat
        policy). ``n_trials`` still caps this call's own trials.
        """
        from hyperknob.study._optimize import optimize

        optimize(self, func, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                 callbacks=list(callbacks or []), catch=catch,
                 show_progress_bar=show_progress_bar, executor=executor,
                 total_trials=total_trials)

    def stop(self) -> None:
        """Ask :meth:`optimize` to start no new trial (running ones finish)."""
        self._stopped = True

    def __repr__(self) -> str:
        names = ", ".join(d.name for d in self._directions)
        key = "direction" if len(self._directions) == 1 else "directions"
        return f"Study(study_name={self.study_name!r}, {key}={names})"


__all__ = ["Study", "StudyNotFoundError"]
