"""SQL storage over SQLAlchemy Core: one code path for SQLite files and PostgreSQL."""

from __future__ import annotations

import datetime
import json
import os
import random
import threading
import time
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from hyperknob._direction import StudyDirection
from hyperknob.distributions import BaseDistribution, distribution_to_json
from hyperknob.exceptions import (
    DuplicatedStudyError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialNotFoundError,
    UpdateFinishedTrialError,
)
from hyperknob.storages import _sql_schema as s
from hyperknob.storages._base import (
    SCHEMA_VERSION,
    BaseStorage,
    StudySummary,
    check_directions,
    heartbeat_time,
)
from hyperknob.storages._in_memory import check_json
from hyperknob.storages._sql_engine import (
    RETRYABLE,
    check_url,
    describe,
    make_engine,
    now,
    special_value,
    translate,
)
from hyperknob.storages._sql_rows import load_trials, upsert
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

T = TypeVar("T")


class SQLStorage(BaseStorage):
    """Studies in a SQL database: ``sqlite:///path.db`` or ``postgresql+psycopg://...``.

    Safe for many processes and machines: every write is one short transaction, trial numbers
    come from an atomic counter, and finished trials (which never change) are cached.

    ``engine_kwargs`` go to ``sqlalchemy.create_engine`` (``pool_size``, ``connect_args``...)
    over hyperknob's defaults.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(storage="sqlite:///example.db")  # doctest: +SKIP
    """

    def __init__(self, url: str, *, max_retries: int = 8,
                 engine_kwargs: Mapping[str, Any] | None = None) -> None:
        self.url = check_url(url)
        self._max_retries = max_retries
        if engine_kwargs is not None and not isinstance(engine_kwargs, Mapping):
            raise TypeError(f"engine_kwargs must be a dict of sqlalchemy.create_engine "
                            f"arguments, got engine_kwargs={engine_kwargs!r}")
        self.engine_kwargs = dict(engine_kwargs or {})
        self._engine = self._open()
        self._cache_lock = threading.Lock()
        self._cache: dict[int, tuple[int, dict[int, FrozenTrial]]] = {}
        self._known_directions: dict[int, list[StudyDirection]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "max_retries": self._max_retries,
                "engine_kwargs": self.engine_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], max_retries=state["max_retries"],  # type: ignore[misc]
                      engine_kwargs=state.get("engine_kwargs"))

    def after_fork(self) -> None:
        """Drop connections inherited from the parent process (call in a forked child)."""
        self._engine.dispose(close=False)

    def close(self) -> None:
        self._engine.dispose()

    # -- set-up ----------------------------------------------------------------------------
    def _open(self) -> Engine:
        if self.url.startswith("sqlite:///"):
            path = self.url[len("sqlite:///"):]
            if path and os.path.isdir(path):
                raise StorageError(f"SQLite storage {path!r} is a directory, expected a file")
        engine = make_engine(self.url, self.engine_kwargs)
        try:
            self._engine = engine
            self._transaction(self._init_schema, write=True)
        except exc.DBAPIError as error:
            engine.dispose()
            raise StorageError(
                f"cannot open {describe(self.url)}: {error.orig}. Expected a hyperknob SQLite "
                "file (or a new path) or a reachable PostgreSQL database"
            ) from error
        return engine

    def _init_schema(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72340172)")  # one creator at a time
        s.metadata.create_all(conn, checkfirst=True)
        row = conn.execute(sa.select(s.meta.c.value).where(s.meta.c.key == "schema_version"))
        found = row.scalar()
        if found is None:
            conn.execute(s.meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(found) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{describe(self.url)} was written with schema version {found}; this "
                f"hyperknob reads schema versions up to {SCHEMA_VERSION}. Upgrade hyperknob"
            )
        elif int(found) < SCHEMA_VERSION:
            self._upgrade(conn, int(found))

    def _upgrade(self, conn: Connection, found: int) -> None:
        """Bring a file of an older schema version to this one, in the opening transaction.

        1 -> 2 only adds tables (created above by ``create_all``): every version-1 row reads
        the same in version 2. A version-1 hyperknob then refuses the file (it names the
        version), rather than misreading a multi-objective study.
        """
        conn.execute(s.meta.update().where(s.meta.c.key == "schema_version")
                     .values(value=str(SCHEMA_VERSION)))
        upsert(conn, s.meta, {"key": f"upgraded_from_{found}"},
                     {"value": now().isoformat(timespec="seconds")})

    # -- transactions ------------------------------------------------------------------------
    def _transaction(self, work: Callable[[Connection], T], *, write: bool = False) -> T:
        delay = 0.05
        for attempt in range(self._max_retries + 1):
            try:
                with self._engine.connect() as conn:
                    conn.execution_options(hk_write=write)
                    with conn.begin():
                        return work(conn)
            except exc.DBAPIError as error:
                message = str(error.orig).lower()
                retryable = error.connection_invalidated or any(m in message for m in RETRYABLE)
                if not retryable or attempt == self._max_retries:
                    raise translate(self.url, error) from error
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    # -- studies ---------------------------------------------------------------------------
    def create_new_study(self, study_name: str, directions: Sequence[StudyDirection]) -> int:
        checked = check_directions(directions)

        def work(conn: Connection) -> int:
            taken = conn.execute(
                sa.select(s.studies.c.study_id).where(s.studies.c.study_name == study_name)
            ).first()
            if taken is not None:
                raise DuplicatedStudyError(f"a study named {study_name!r} already exists")
            result = conn.execute(s.studies.insert().values(
                study_name=study_name, direction=int(checked[0]), next_trial_number=0,
                datetime_start=now(),
            ))
            study_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            if len(checked) > 1:
                conn.execute(s.study_directions.insert(), [
                    {"study_id": study_id, "objective": k, "direction": int(d)}
                    for k, d in enumerate(checked) if k > 0])
            return study_id

        try:
            return self._transaction(work, write=True)
        except exc.IntegrityError as error:  # a concurrent creator won the race
            raise DuplicatedStudyError(f"a study named {study_name!r} already exists") from error

    def delete_study(self, study_id: int) -> None:
        def work(conn: Connection) -> None:
            self._study_row(conn, study_id)
            ids = sa.select(s.trials.c.trial_id).where(s.trials.c.study_id == study_id)
            for table in (s.trial_params, s.trial_intermediate, s.trial_attrs, s.trial_values):
                conn.execute(table.delete().where(table.c.trial_id.in_(ids)))
            conn.execute(s.trials.delete().where(s.trials.c.study_id == study_id))
            for table in (s.study_attrs, s.study_directions):
                conn.execute(table.delete().where(table.c.study_id == study_id))
            conn.execute(s.studies.delete().where(s.studies.c.study_id == study_id))

        self._transaction(work, write=True)
        with self._cache_lock:
            self._cache.pop(study_id, None)
        self._known_directions.pop(study_id, None)

    def get_study_id_from_name(self, study_name: str) -> int:
        row = self._transaction(lambda conn: conn.execute(
            sa.select(s.studies.c.study_id).where(s.studies.c.study_name == study_name)
        ).first())
        if row is None:
            raise StudyNotFoundError(f"no study named {study_name!r} in {describe(self.url)}")
        return int(row[0])

    def get_study_name(self, study_id: int) -> str:
        return str(self._transaction(lambda conn: self._study_row(conn, study_id).study_name))

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return self._transaction(lambda conn: self._directions(conn, study_id))

    def _directions(self, conn: Connection, study_id: int) -> list[StudyDirection]:
        """Return a study's directions (remembered: they never change; raise if the study is
        gone, which the callers rely on)."""
        known = self._known_directions.get(study_id)
        if known is not None:
            self._study_row(conn, study_id)
            return list(known)
        first = self._study_row(conn, study_id).direction
        rest = conn.execute(sa.select(s.study_directions.c.direction)
                            .where(s.study_directions.c.study_id == study_id)
                            .order_by(s.study_directions.c.objective)).scalars().all()
        directions = [StudyDirection(first), *(StudyDirection(d) for d in rest)]
        self._known_directions[study_id] = directions
        return list(directions)

    def get_all_studies(self) -> list[StudySummary]:
        def work(conn: Connection) -> list[StudySummary]:
            counts: dict[int, int] = dict(conn.execute(
                sa.select(s.trials.c.study_id, sa.func.count()).group_by(s.trials.c.study_id)
            ).all())
            complete = s.trials.c.state == int(TrialState.COMPLETE)
            best = conn.execute(
                sa.select(s.trials.c.study_id, sa.func.min(s.trials.c.value),
                          sa.func.max(s.trials.c.value))
                .where(complete).group_by(s.trials.c.study_id)
            ).all()
            extremes = {row[0]: (row[1], row[2]) for row in best}
            more: dict[int, list[StudyDirection]] = {}
            for study_id, direction in conn.execute(
                    sa.select(s.study_directions.c.study_id, s.study_directions.c.direction)
                    .order_by(s.study_directions.c.study_id, s.study_directions.c.objective)):
                more.setdefault(study_id, []).append(StudyDirection(direction))
            summaries = []
            for row in conn.execute(sa.select(s.studies).order_by(s.studies.c.study_id)):
                directions = (StudyDirection(row.direction), *more.get(row.study_id, []))
                low_high = extremes.get(row.study_id)
                best_value = None
                if low_high is not None and len(directions) == 1:
                    best_value = low_high[0 if directions[0] is StudyDirection.MINIMIZE else 1]
                summaries.append(StudySummary(
                    row.study_id, row.study_name, directions, counts.get(row.study_id, 0),
                    best_value, row.datetime_start,
                ))
            return summaries

        return self._transaction(work)

    def set_study_attr(self, study_id: int, kind: str, key: str, value: Any) -> None:
        text = json.dumps(check_json(kind, key, value))

        def work(conn: Connection) -> None:
            self._study_row(conn, study_id)
            upsert(conn, s.study_attrs, {"study_id": study_id, "kind": kind, "key": key},
                         {"value_json": text})

        self._transaction(work, write=True)

    def get_study_attrs(self, study_id: int, kind: str) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            self._study_row(conn, study_id)
            rows = conn.execute(sa.select(s.study_attrs.c.key, s.study_attrs.c.value_json).where(
                s.study_attrs.c.study_id == study_id, s.study_attrs.c.kind == kind))
            return {key: json.loads(text) for key, text in rows}

        return self._transaction(work)

    def _study_row(self, conn: Connection, study_id: int) -> Any:
        row = conn.execute(sa.select(s.studies).where(s.studies.c.study_id == study_id)).first()
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {describe(self.url)}")
        return row

    # -- trials ----------------------------------------------------------------------------
    def create_new_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        def work(conn: Connection) -> FrozenTrial:
            counter = conn.execute(
                s.studies.update().where(s.studies.c.study_id == study_id)
                .values(next_trial_number=s.studies.c.next_trial_number + 1)
                .returning(s.studies.c.next_trial_number)
            ).first()
            if counter is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {describe(self.url)}")
            number = int(counter[0]) - 1
            if template is None:
                trial = FrozenTrial(number, -1, TrialState.RUNNING, datetime_start=now())
                values = None
            else:
                start = template.datetime_start
                if start is None and template.state is not TrialState.WAITING:
                    start = now()
                trial = template.replace(number=number, datetime_start=start)
                values = trial.values
            result = conn.execute(s.trials.insert().values(
                study_id=study_id, number=number, state=int(trial.state),
                value=None if values is None else values[0],
                datetime_start=trial.datetime_start, datetime_complete=trial.datetime_complete,
            ))
            trial_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            self._insert_details(conn, trial_id, trial)
            if values is not None and len(values) > 1:
                self._insert_values(conn, trial_id, values)
            return trial.replace(trial_id=trial_id)

        return self._transaction(work, write=True)

    def _insert_values(self, conn: Connection, trial_id: int, values: Sequence[float]) -> None:
        """Store the values of objectives 1, 2, ... (objective 0 is ``hk_trials.value``)."""
        conn.execute(s.trial_values.insert(), [
            {"trial_id": trial_id, "objective": k, "value": float(v)}
            for k, v in enumerate(values) if k > 0])

    def _insert_details(self, conn: Connection, trial_id: int, trial: FrozenTrial) -> None:
        if trial.params:
            conn.execute(s.trial_params.insert(), [
                {"trial_id": trial_id, "name": name,
                 "internal_value": trial.distributions[name].to_internal(value),
                 "distribution_json": distribution_to_json(trial.distributions[name])}
                for name, value in trial.params.items()
            ])
        if trial.intermediate_values:
            rows = []
            for step, value in trial.intermediate_values.items():
                stored, special = special_value(value)
                rows.append({"trial_id": trial_id, "step": step, "value": stored,
                             "special": special})
            conn.execute(s.trial_intermediate.insert(), rows)
        attrs = [("user", k, v) for k, v in trial.user_attrs.items()]
        attrs += [("system", k, v) for k, v in trial.system_attrs.items()]
        if attrs:
            conn.execute(s.trial_attrs.insert(), [
                {"trial_id": trial_id, "kind": kind, "key": key,
                 "value_json": json.dumps(check_json(kind, key, value))}
                for kind, key, value in attrs
            ])

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        waiting = sa.select(s.trials.c.trial_id).where(
            s.trials.c.study_id == study_id, s.trials.c.state == int(TrialState.WAITING)
        ).limit(1)
        if self._transaction(lambda conn: conn.execute(waiting).first()) is None:
            return None  # the common case, answered without taking the write lock

        def work(conn: Connection) -> int | None:
            row = conn.execute(
                sa.select(s.trials.c.trial_id)
                .where(s.trials.c.study_id == study_id,
                       s.trials.c.state == int(TrialState.WAITING))
                .order_by(s.trials.c.number).limit(1).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            conn.execute(s.trials.update().where(s.trials.c.trial_id == row[0]).values(
                state=int(TrialState.RUNNING), datetime_start=now()))
            return int(row[0])

        trial_id = self._transaction(work, write=True)
        return None if trial_id is None else self.get_trial(trial_id)

    def _check_running(self, conn: Connection, trial_id: int) -> None:
        row = conn.execute(sa.select(s.trials.c.state, s.trials.c.number)
                           .where(s.trials.c.trial_id == trial_id)).first()
        if row is None:
            raise TrialNotFoundError(f"no trial with id {trial_id} in {describe(self.url)}")
        if row.state != TrialState.RUNNING:
            raise UpdateFinishedTrialError(
                f"trial {row.number} is {TrialState(row.state).name}; only a RUNNING trial "
                "can change"
            )

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        text = distribution_to_json(distribution)

        def work(conn: Connection) -> None:
            self._check_running(conn, trial_id)
            conn.execute(s.trial_params.insert().values(
                trial_id=trial_id, name=name, internal_value=internal_value,
                distribution_json=text))

        self._transaction(work, write=True)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        stored, special = special_value(float(value))

        def work(conn: Connection) -> None:
            self._check_running(conn, trial_id)
            upsert(conn, s.trial_intermediate, {"trial_id": trial_id, "step": step},
                         {"value": stored, "special": special})

        self._transaction(work, write=True)

    def set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        text = json.dumps(check_json(kind, key, value))

        def work(conn: Connection) -> None:
            self._check_running(conn, trial_id)
            upsert(conn, s.trial_attrs, {"trial_id": trial_id, "kind": kind, "key": key},
                         {"value_json": text})

        self._transaction(work, write=True)

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        checked = None if values is None else [float(v) for v in values]
        texts = {
            k: json.dumps(check_json("system", k, v)) for k, v in (system_attrs or {}).items()
        }

        def work(conn: Connection) -> bool:
            updated = conn.execute(
                s.trials.update()
                .where(s.trials.c.trial_id == trial_id,
                       s.trials.c.state.in_([int(TrialState.RUNNING), int(TrialState.WAITING)]))
                .values(state=int(state), value=None if checked is None else checked[0],
                        datetime_complete=now())
            )
            if updated.rowcount == 0:
                if conn.execute(sa.select(s.trials.c.trial_id)
                                .where(s.trials.c.trial_id == trial_id)).first() is None:
                    raise TrialNotFoundError(f"no trial with id {trial_id}")
                return False
            if checked is not None and len(checked) > 1:
                self._insert_values(conn, trial_id, checked)
            for key, text in texts.items():
                upsert(conn, s.trial_attrs,
                             {"trial_id": trial_id, "kind": "system", "key": key},
                             {"value_json": text})
            return True

        return self._transaction(work, write=True)

    def record_heartbeat(self, trial_id: int) -> None:
        def work(conn: Connection) -> None:
            self._check_running(conn, trial_id)
            conn.execute(s.trials.update().where(s.trials.c.trial_id == trial_id)
                         .values(heartbeat=heartbeat_time()))

        self._transaction(work, write=True)

    def get_stale_trial_ids(self, study_id: int, older_than: datetime.datetime) -> list[int]:
        query = sa.select(s.trials.c.trial_id).where(
            s.trials.c.study_id == study_id, s.trials.c.state == int(TrialState.RUNNING),
            s.trials.c.heartbeat.is_not(None), s.trials.c.heartbeat < older_than,
        ).order_by(s.trials.c.number)
        rows = self._transaction(lambda conn: conn.execute(query).all())
        return [int(row[0]) for row in rows]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        def work(conn: Connection) -> list[FrozenTrial]:
            return load_trials(conn, s.trials.c.trial_id == trial_id,
                              lambda column: column == trial_id)

        found = self._transaction(work)
        if not found:
            raise TrialNotFoundError(f"no trial with id {trial_id} in {describe(self.url)}")
        return found[0]

    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        row = self._transaction(lambda conn: conn.execute(
            sa.select(s.trials.c.trial_id)
            .where(s.trials.c.study_id == study_id, s.trials.c.number == number)).first())
        if row is None:
            raise TrialNotFoundError(f"no trial number {number} in study {study_id}")
        return int(row[0])

    def count_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(s.trials).where(
            s.trials.c.study_id == study_id)
        if states is not None:
            query = query.where(s.trials.c.state.in_([int(x) for x in TrialState if x in states]))
        return int(self._transaction(lambda conn: conn.execute(query).scalar_one()))

    def get_best_trial(self, study_id: int) -> FrozenTrial | None:
        directions = self.get_study_directions(study_id)
        if len(directions) > 1:
            raise RuntimeError("a study with several objectives has no single best trial")
        direction = directions[0]
        order = s.trials.c.value.asc() if direction is StudyDirection.MINIMIZE else (
            s.trials.c.value.desc())
        row = self._transaction(lambda conn: conn.execute(
            sa.select(s.trials.c.trial_id)
            .where(s.trials.c.study_id == study_id,
                   s.trials.c.state == int(TrialState.COMPLETE))
            .order_by(order, s.trials.c.number).limit(1)).first())
        return None if row is None else self.get_trial(int(row[0]))

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None, *,
        from_number: int = 0,
    ) -> list[FrozenTrial]:
        with self._cache_lock:
            watermark, cached = self._cache.get(study_id, (0, {}))
            cached = dict(cached)
        lowest = max(watermark, from_number)

        def work(conn: Connection) -> list[FrozenTrial]:
            several = len(self._directions(conn, study_id)) > 1
            in_window = sa.and_(s.trials.c.study_id == study_id, s.trials.c.number >= lowest)
            ids = sa.select(s.trials.c.trial_id).where(in_window)
            return load_trials(conn, in_window, lambda column: column.in_(ids),
                              several_values=several)

        fresh = self._transaction(work)
        for trial in fresh:
            if trial.state.is_finished():
                cached[trial.number] = trial
        # Everything below the new watermark is finished: cached for good, never queried again.
        new_watermark = watermark
        while new_watermark in cached:
            new_watermark += 1
        with self._cache_lock:
            kept = {n: t for n, t in cached.items() if n < new_watermark}
            if new_watermark >= self._cache.get(study_id, (0, {}))[0]:
                self._cache[study_id] = (new_watermark, kept)
        by_number = {n: t for n, t in cached.items() if from_number <= n < watermark}
        by_number.update({t.number: t for t in fresh})
        trials = [by_number[n] for n in sorted(by_number)]
        if states is None:
            return trials
        return [t for t in trials if t.state in states]
