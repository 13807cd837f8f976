"""Study: ask -> objective(trial) -> tell. The only component that writes to storage."""

from __future__ import annotations

import traceback as traceback_module
import uuid
import warnings
from collections.abc import Callable, Container, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hyperknob._direction import StudyDirection
from hyperknob.exceptions import StudyNotFoundError, TrialPruned, UpdateFinishedTrialError
from hyperknob.pruners._base import BasePruner, NopPruner
from hyperknob.samplers._base import BaseSampler
from hyperknob.storages import BaseStorage, StudySummary, get_storage
from hyperknob.study._heartbeat import HeartbeatPolicy
from hyperknob.study._view import StudyView
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial, check_objective_value, prune_attrs

if TYPE_CHECKING:
    import pandas as pd

    from hyperknob.execution._base import Executor

ObjectiveFunc = Callable[[Trial], float]
CallbackFunc = Callable[["Study", FrozenTrial], None]


def _default_sampler(seed: int | None) -> BaseSampler:
    # GP for the first 200 trials, TPE after and for mostly conditional spaces: the GP scored
    # highest at 16 and 64 trials on the three quality suites, TPE stays cheap at thousands
    # of trials and models conditional parameters (BENCHMARKS.md, "Optimization quality").
    from hyperknob.samplers import AutoSampler

    return AutoSampler(seed=seed)


class Study:
    """A named optimization: its trials, its direction, its sampler and pruner.

    Build with :func:`create_study` or :func:`load_study`.

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
        #: Workers of this study beat for their trials and reap dead workers' trials.
        self.heartbeat = heartbeat
        self._storage = get_storage(storage)
        self._study_id = self._storage.get_study_id_from_name(study_name)
        self.study_name = study_name
        self.direction = self._storage.get_study_direction(self._study_id)
        self.sampler = sampler if sampler is not None else _default_sampler(None)
        self.pruner = pruner if pruner is not None else NopPruner()
        self._view = StudyView(self._storage, self._study_id, study_name, self.direction)
        self._stop_flag: Any = None  # set by stop(); a shared Event inside worker processes
        self._stopped = False

    # -- reading ---------------------------------------------------------------------------
    @property
    def trials(self) -> list[FrozenTrial]:
        """Return every trial, ordered by number."""
        return self._storage.get_all_trials(self._study_id)

    def get_trials(self, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        """Return the trials, optionally only those in ``states``."""
        return self._storage.get_all_trials(self._study_id, states)

    @property
    def best_trial(self) -> FrozenTrial:
        """Return the best COMPLETE trial; ``ValueError`` if there is none yet."""
        best = self._storage.get_best_trial(self._study_id)
        if best is None:
            raise ValueError(f"study {self.study_name!r} has no COMPLETE trial yet")
        return best

    @property
    def best_value(self) -> float:
        """Return the value of the best trial."""
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

    def trials_dataframe(self) -> pd.DataFrame:
        """Return the trials as a pandas DataFrame (requires pandas)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("trials_dataframe() needs pandas: pip install pandas") from error
        from hyperknob.study._records import trial_records

        frame: pd.DataFrame = pd.DataFrame(trial_records(self.trials))
        return frame

    # -- ask and tell ----------------------------------------------------------------------
    def ask(self) -> Trial:
        """Start a trial: the oldest enqueued one if any, else a new one."""
        frozen = self._storage.claim_waiting_trial(self._study_id)
        if frozen is None:
            frozen = self._storage.create_new_trial(self._study_id)
        return Trial(self, frozen)

    def tell(
        self,
        trial: Trial | int,
        value: Any = None,
        state: TrialState | None = None,
        *,
        skip_if_finished: bool = False,
    ) -> FrozenTrial:
        """Finish a trial with its value (COMPLETE), or as PRUNED or FAIL.

        An invalid value (None, a string, NaN, inf) makes the trial FAIL with the reason
        recorded in ``system_attrs["fail_reason"]``; the study goes on.
        """
        if isinstance(trial, Trial):
            live = trial
        elif isinstance(trial, int) and not isinstance(trial, bool):
            trial_id = self._storage.get_trial_id_from_number(self._study_id, trial)
            live = Trial(self, self._storage.get_trial(trial_id))
        else:
            raise TypeError(f"trial must be a Trial or a trial number, got {trial!r}")
        if state is not None and not isinstance(state, TrialState):
            raise TypeError(f"state must be a TrialState, got {state!r}")
        if state in (TrialState.RUNNING, TrialState.WAITING):
            raise ValueError(f"state must be COMPLETE, PRUNED or FAIL, got {state!r}")
        if state is None:
            state = TrialState.COMPLETE
        attrs: dict[str, Any] = {}
        number: float | None = None
        if state is TrialState.COMPLETE:
            number, reason = check_objective_value(value)
            if reason is not None:
                state, attrs["fail_reason"] = TrialState.FAIL, reason
                warnings.warn(f"trial {live.number} failed: {reason}", stacklevel=2)
        elif value is not None:
            raise ValueError(f"a {state.name} trial takes no value, got value={value!r}")
        elif state is TrialState.PRUNED:
            attrs = prune_attrs(live, None)
        return self._finish(live, state, number, attrs, skip_if_finished=skip_if_finished)

    def _finish(
        self,
        live: Trial,
        state: TrialState,
        value: float | None,
        attrs: Mapping[str, Any],
        *,
        skip_if_finished: bool = False,
    ) -> FrozenTrial:
        if not self._storage.finish_trial(live._trial_id, state, value, attrs):
            stored = self._storage.get_trial(live._trial_id)
            if skip_if_finished:
                return stored
            raise UpdateFinishedTrialError(
                f"trial {live.number} is already {stored.state.name}; it cannot be told again"
            )
        live._system_attrs.update(attrs)
        live._state = state
        live._frozen = None
        return live._snapshot(state, value)

    def _prune(self, live: Trial, error: TrialPruned) -> FrozenTrial:
        return self._finish(live, TrialState.PRUNED, None, prune_attrs(live, str(error)),
                            skip_if_finished=True)

    def _fail(self, live: Trial, error: BaseException) -> FrozenTrial:
        text = "".join(traceback_module.format_exception(type(error), error,
                                                         error.__traceback__))
        reason = f"the objective raised {type(error).__name__}: {error}"
        return self._finish(live, TrialState.FAIL, None,
                            {"fail_reason": reason, "traceback": text}, skip_if_finished=True)

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
        """Store a finished trial made elsewhere (e.g. from an earlier experiment)."""
        if not trial.state.is_finished():
            raise ValueError(f"add_trial() takes a finished trial, got state {trial.state!r}")
        if trial.state is TrialState.COMPLETE:
            _, reason = check_objective_value(trial.value)
            if reason is not None:
                raise ValueError(f"a COMPLETE trial needs a finite value: {reason}")
        for name, value in trial.params.items():
            dist = trial.distributions.get(name)
            if dist is None or not dist.contains(dist.to_internal(value)):
                raise ValueError(f"parameter {name!r}={value!r} does not fit {dist!r}")
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
    ) -> None:
        """Run trials until ``n_trials`` ran, ``timeout`` seconds passed, or :meth:`stop`.

        ``n_jobs=k`` runs k worker processes (``-1``: one per CPU) against the same storage.
        ``executor`` runs the trials elsewhere, e.g. on the nodes of a Ray cluster
        (:class:`hyperknob.RayExecutor`); callbacks still run here, once per finished trial.
        An exception raised by ``func`` fails the trial (traceback kept) and is re-raised unless
        its type is in ``catch``.
        """
        from hyperknob.study._optimize import optimize

        optimize(self, func, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                 callbacks=list(callbacks or []), catch=catch,
                 show_progress_bar=show_progress_bar, executor=executor)

    def stop(self) -> None:
        """Ask :meth:`optimize` to start no new trial (running ones finish)."""
        self._stopped = True
        if self._stop_flag is not None:
            self._stop_flag.set()

    def __repr__(self) -> str:
        return f"Study(study_name={self.study_name!r}, direction={self.direction.name})"


def create_study(
    *,
    study_name: str | None = None,
    storage: str | BaseStorage | None = None,
    direction: str | StudyDirection = "minimize",
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    load_if_exists: bool = False,
    seed: int | None = None,
    heartbeat: HeartbeatPolicy | None = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists``). ``seed`` seeds the default sampler.

    ``heartbeat``: a :class:`HeartbeatPolicy`: workers record that their trials are alive, and
    a RUNNING trial whose worker went silent for its grace period is failed (and retried).

    Example:
        >>> study = create_study(direction="maximize", seed=42)
    """
    parsed = StudyDirection.parse(direction)
    if study_name is not None and (not isinstance(study_name, str) or not study_name.strip()):
        raise ValueError(f"study_name must be a non-empty string, got {study_name!r}")
    if sampler is None:
        sampler = _default_sampler(seed)
    backend = get_storage(storage)
    name = study_name or f"study-{uuid.uuid4().hex[:12]}"
    from hyperknob.exceptions import DuplicatedStudyError

    try:
        backend.create_new_study(name, parsed)
    except DuplicatedStudyError:
        if not load_if_exists:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists; pass load_if_exists=True to resume it"
            ) from None
        existing = backend.get_study_direction(backend.get_study_id_from_name(name))
        if existing is not parsed:
            raise ValueError(
                f"study {name!r} exists with direction {existing.name.lower()!r}, "
                f"not {parsed.name.lower()!r}"
            ) from None
    return Study(study_name=name, storage=backend, sampler=sampler, pruner=pruner,
                 heartbeat=heartbeat)


def load_study(
    *,
    study_name: str | None,
    storage: str | BaseStorage,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    seed: int | None = None,
    heartbeat: HeartbeatPolicy | None = None,
) -> Study:
    """Load a stored study. With ``study_name=None`` the storage must hold exactly one."""
    backend = get_storage(storage)
    if study_name is None:
        names = [s.study_name for s in backend.get_all_studies()]
        if len(names) != 1:
            raise ValueError(
                f"study_name is required: the storage holds {len(names)} studies {names!r}")
        study_name = names[0]
    backend.get_study_id_from_name(study_name)
    return Study(study_name=study_name, storage=backend,
                 sampler=sampler if sampler is not None else _default_sampler(seed),
                 pruner=pruner, heartbeat=heartbeat)


def delete_study(*, study_name: str, storage: str | BaseStorage) -> None:
    """Delete a study and all its trials."""
    backend = get_storage(storage)
    backend.delete_study(backend.get_study_id_from_name(study_name))


def get_all_study_summaries(storage: str | BaseStorage) -> list[StudySummary]:
    """Return a summary of every study in a storage."""
    return get_storage(storage).get_all_studies()


def get_all_study_names(storage: str | BaseStorage) -> list[str]:
    """Return the names of every study in a storage."""
    return [summary.study_name for summary in get_storage(storage).get_all_studies()]


__all__ = ["Study", "StudyNotFoundError", "create_study", "delete_study",
           "get_all_study_names", "get_all_study_summaries", "load_study"]
