"""The SQL storage's engine, its retryable errors and the messages it turns them into."""

from __future__ import annotations

import datetime
import math
import os
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from hyperknob.exceptions import StorageError

SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
RETRYABLE = ("database is locked", "database is busy", "deadlock detected",
              "could not serialize", "server closed the connection", "connection refused",
              "terminating connection", "connection is closed", "consuming input failed",
              "the database system is starting up", "the database system is shutting down",
              "could not connect to server", "connection failed")


#: The URLs a SQL storage opens.
SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://")


def check_url(url: Any) -> str:
    """Return ``url`` if it names a database the SQL storage opens, else raise naming only
    its scheme (the rest of the URL may hold a password)."""
    if not isinstance(url, str):
        raise TypeError(f"storage must be a URL string, a BaseStorage or None, got {url!r} "
                        f"of type {type(url).__name__}")
    if not url.startswith(SCHEMES):
        scheme = url.split("://", 1)[0] if "://" in url else url
        raise ValueError(f"unknown storage URL scheme {scheme!r}; expected "
                         "'sqlite:///PATH' or 'postgresql+psycopg://USER@HOST:PORT/DB'")
    return url


def now() -> datetime.datetime:
    """Return the local time the storage records."""
    return datetime.datetime.now()


def special_value(value: float) -> tuple[float | None, str | None]:
    """Return ``(value, None)`` for a finite value, else ``(None, "nan" / "inf" / "-inf")``
    (SQLite stores NaN as NULL)."""
    if math.isnan(value):
        return None, "nan"
    if math.isinf(value):
        return None, "inf" if value > 0 else "-inf"
    return value, None


def is_memory_sqlite(url: str) -> bool:
    """Return whether ``url`` names an in-memory SQLite database (one per connection)."""
    return url in ("sqlite://", "sqlite:///:memory:")


def make_engine(url: str, engine_kwargs: Mapping[str, Any] | None = None) -> Engine:
    """Return the engine for ``url``: SQLite files in WAL mode with write transactions that
    lock up front, PostgreSQL through psycopg 3. ``engine_kwargs`` go to
    ``sqlalchemy.create_engine`` over these defaults (``connect_args`` merged); an in-memory
    SQLite database keeps its one shared connection, so pool sizes do not apply to it."""
    extra = dict(engine_kwargs or {})
    connect_args = dict(extra.pop("connect_args", None) or {})
    if url.startswith("sqlite"):
        if is_memory_sqlite(url):
            for key in ("pool_size", "max_overflow", "pool_timeout"):
                extra.pop(key, None)
        options: dict[str, Any] = {
            "poolclass": sa.pool.StaticPool if is_memory_sqlite(url) else sa.pool.QueuePool,
            **extra,
            "connect_args": {"timeout": 60.0, "check_same_thread": False, **connect_args}}
        engine = sa.create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A write transaction takes the lock up front, so two writers never deadlock.
            write = conn.get_execution_options().get("hk_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if connect_args:
        extra["connect_args"] = connect_args
    return sa.create_engine(url, **{"pool_pre_ping": True, **extra})


def describe(url: str) -> str:
    """Return the database named for a message (a PostgreSQL URL without its password)."""
    if url.startswith("sqlite:///"):
        return f"SQLite file {url[len('sqlite:///'):]!r}"
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def translate(url: str, error: exc.DBAPIError) -> Exception:
    """Return the error to raise for a database error: a StorageError that says what is wrong
    and what to do (an IntegrityError as it is, for the caller to handle)."""
    message = str(error.orig)
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered or (
            "unable to open" in lowered and _read_only(url)):
        return StorageError(
            f"{describe(url)} is read-only ({message}): hyperknob writes the "
            "database and its -wal and -shm files beside it, so the file and its folder "
            "must be writable; copy the file somewhere writable to read or resume it")
    if "disk is full" in lowered or "no space" in lowered:
        return StorageError(f"{describe(url)}: the disk is full ({message}); what "
                            "was stored before is intact")
    if "disk i/o error" in lowered:
        return StorageError(f"{describe(url)}: the write failed ({message}): the "
                            "disk may be full, the file too large for its limits, or the "
                            "device gone; what was stored before is intact")
    if "not a database" in lowered or "malformed" in lowered:
        return StorageError(f"{describe(url)} is not a valid database: {message}")
    if isinstance(error, exc.IntegrityError):
        return error
    return StorageError(f"{describe(url)}: {message}")

def _read_only(url: str) -> bool:
    """Return whether this SQLite file, or its folder, cannot be written."""
    if not url.startswith("sqlite:///"):
        return False
    path = os.path.abspath(url[len("sqlite:///"):])
    folder = os.path.dirname(path)
    return not os.access(folder, os.W_OK) or (os.path.exists(path)
                                               and not os.access(path, os.W_OK))
