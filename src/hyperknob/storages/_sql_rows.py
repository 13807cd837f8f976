"""Row-level work of the SQL storage inside one transaction: upserts, and trials read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperknob.distributions import BaseDistribution, json_to_distribution
from hyperknob.storages import _sql_schema as s
from hyperknob.storages._sql_engine import SPECIAL
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


def upsert(conn: Connection, table: sa.Table, keys: dict[str, Any],
           values: dict[str, Any]) -> None:
    """Insert the row ``keys`` + ``values``, or update ``values`` where ``keys`` exist."""
    statement: Any  # the two dialects' Insert classes share on_conflict_do_update, not a type
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table)
    conn.execute(statement.values(**keys, **values)
                 .on_conflict_do_update(index_elements=list(keys), set_=values))


def load_trials(conn: Connection, trial_filter: Any, match: Callable[[Any], Any], *,
                several_values: bool = True) -> list[FrozenTrial]:
    """Return the trials ``trial_filter`` selects (``match``: the same set as a condition on a
    trial_id column), in number order; ``several_values=False`` skips the query of objectives
    1, 2, ... (a one-objective study has none)."""
    rows = conn.execute(sa.select(s.trials).where(trial_filter)
                        .order_by(s.trials.c.number)).all()
    if not rows:
        return []
    params: dict[int, dict[str, Any]] = {}
    dists: dict[int, dict[str, BaseDistribution]] = {}
    parsed: dict[str, BaseDistribution] = {}
    for trial_id, name, internal, text in conn.execute(
        sa.select(s.trial_params.c.trial_id, s.trial_params.c.name,
                  s.trial_params.c.internal_value, s.trial_params.c.distribution_json)
        .where(match(s.trial_params.c.trial_id))
    ):
        dist = parsed.get(text) or parsed.setdefault(text, json_to_distribution(text))
        params.setdefault(trial_id, {})[name] = dist.to_external(internal)
        dists.setdefault(trial_id, {})[name] = dist
    inter: dict[int, dict[int, float]] = {}
    for trial_id, step, value, special in conn.execute(
        sa.select(s.trial_intermediate).where(match(s.trial_intermediate.c.trial_id))
    ):
        inter.setdefault(trial_id, {})[step] = SPECIAL[special] if special else value
    attrs: dict[tuple[int, str], dict[str, Any]] = {}
    for trial_id, kind, key, text in conn.execute(
        sa.select(s.trial_attrs).where(match(s.trial_attrs.c.trial_id))
    ):
        attrs.setdefault((trial_id, kind), {})[key] = json.loads(text)
    more: dict[int, list[float]] = {}
    for trial_id, value in () if not several_values else conn.execute(
        sa.select(s.trial_values.c.trial_id, s.trial_values.c.value)
        .where(match(s.trial_values.c.trial_id))
        .order_by(s.trial_values.c.trial_id, s.trial_values.c.objective)
    ):
        more.setdefault(trial_id, []).append(value)
    empty: dict[Any, Any] = {}
    return [
        FrozenTrial.build(
            number=row.number, trial_id=row.trial_id, state=TrialState(row.state),
            values=None if row.value is None else (row.value, *more.get(row.trial_id, ())),
            params=params.get(row.trial_id, empty),
            distributions=dists.get(row.trial_id, empty),
            user_attrs=attrs.get((row.trial_id, "user"), empty),
            system_attrs=attrs.get((row.trial_id, "system"), empty),
            intermediate_values=inter.get(row.trial_id, empty),
            datetime_start=row.datetime_start, datetime_complete=row.datetime_complete,
        )
        for row in rows
    ]
