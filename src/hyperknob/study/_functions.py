"""The study functions: create, load, copy, delete and list studies in a storage."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence

from hyperknob._direction import StudyDirection, parse_directions
from hyperknob.exceptions import DuplicatedStudyError
from hyperknob.pruners._base import BasePruner
from hyperknob.samplers._base import BaseSampler
from hyperknob.storages import BaseStorage, StudySummary, get_storage
from hyperknob.study._heartbeat import HeartbeatPolicy
from hyperknob.study._study import Study, _default_sampler
from hyperknob.trial._state import TrialState


def create_study(
    *,
    study_name: str | None = None,
    storage: str | BaseStorage | None = None,
    direction: str | StudyDirection | None = None,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    load_if_exists: bool = False,
    seed: int | None = None,
    heartbeat: HeartbeatPolicy | None = None,
    directions: Sequence[str | StudyDirection] | None = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists``). ``seed`` seeds the default sampler.

    ``direction``: ``"minimize"`` (the default) or ``"maximize"``. ``directions``: one per
    objective, for a study with several (its objective returns that many values, and
    :attr:`Study.best_trials` is the Pareto front); give one or the other.

    ``heartbeat``: a :class:`HeartbeatPolicy`: workers record that their trials are alive, and
    a RUNNING trial whose worker went silent for its grace period is failed (and retried).

    Example:
        >>> study = create_study(direction="maximize", seed=42)
        >>> pareto = create_study(directions=["maximize", "minimize"], seed=42)
    """
    parsed = parse_directions(direction, directions)
    if study_name is not None and (not isinstance(study_name, str) or not study_name.strip()):
        raise ValueError(f"study_name must be a non-empty string, got {study_name!r}")
    if sampler is None:
        sampler = _default_sampler(seed)
    backend = get_storage(storage)
    name = study_name or f"study-{uuid.uuid4().hex[:12]}"
    try:
        backend.create_new_study(name, parsed)
    except DuplicatedStudyError:
        if not load_if_exists:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists; pass load_if_exists=True to resume it"
            ) from None
        existing = backend.get_study_directions(backend.get_study_id_from_name(name))
        if existing != parsed:
            key = "direction" if len(existing) == len(parsed) == 1 else "directions"
            raise ValueError(
                f"study {name!r} exists with {key} {_names(existing)}, not {_names(parsed)}"
            ) from None
    return Study(study_name=name, storage=backend, sampler=sampler, pruner=pruner,
                 heartbeat=heartbeat)


def _names(directions: Sequence[StudyDirection]) -> str:
    names = [d.name.lower() for d in directions]
    return repr(names[0] if len(names) == 1 else names)


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


def copy_study(
    *,
    from_study_name: str,
    from_storage: str | BaseStorage,
    to_storage: str | BaseStorage,
    to_study_name: str | None = None,
) -> None:
    """Copy a study -- its directions, user and system attributes, and its finished and
    queued trials -- into another storage (under ``to_study_name``, default the same name).

    RUNNING trials are not copied (a warning names them): no worker of the copy runs them.

    Example:
        >>> copy_study(from_study_name="s", from_storage="sqlite:///a.db",
        ...            to_storage="sqlite:///b.db")  # doctest: +SKIP
    """
    source = load_study(study_name=from_study_name, storage=from_storage)
    name = from_study_name if to_study_name is None else to_study_name
    try:
        target = create_study(study_name=name, storage=to_storage,
                              directions=source.directions, sampler=source.sampler)
    except DuplicatedStudyError as error:
        raise DuplicatedStudyError(
            f"copy_study: the target storage already has a study named {name!r}; pass "
            f"another to_study_name (or delete_study it first)") from error
    for key, value in source.user_attrs.items():
        target.set_user_attr(key, value)
    for key, value in source.storage.get_study_attrs(source._study_id, "system").items():
        target.storage.set_study_attr(target._study_id, "system", key, value)
    trials = source.trials
    running = [t.number for t in trials if t.state is TrialState.RUNNING]
    if running:
        warnings.warn(f"copy_study: trials {running} of {from_study_name!r} are RUNNING and are "
                      "not copied", stacklevel=2)
    for trial in trials:
        if trial.state is not TrialState.RUNNING:
            target.storage.create_new_trial(target._study_id, trial)


__all__ = ["copy_study", "create_study", "delete_study", "get_all_study_names",
           "get_all_study_summaries", "load_study"]
