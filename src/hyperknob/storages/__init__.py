"""Storages: in memory, or SQL (a SQLite file by default, PostgreSQL for many machines)."""

from __future__ import annotations

from hyperknob.storages._base import SCHEMA_VERSION, BaseStorage, StudySummary
from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.storages._rdb import (
    RDBStorage,
    RetryFailedTrialCallback,
    RetryHeartbeatStaleTrialCallback,
)
from hyperknob.storages._sql import SQLStorage

__all__ = [
    "SCHEMA_VERSION",
    "BaseStorage",
    "InMemoryStorage",
    "RDBStorage",
    "RetryFailedTrialCallback",
    "RetryHeartbeatStaleTrialCallback",
    "SQLStorage",
    "StudySummary",
    "get_storage",
]

_SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://")


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """Return a storage for a URL, a storage instance, or None (a new in-memory storage)."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if not isinstance(storage, str):
        raise TypeError(
            f"storage must be a URL string, a BaseStorage or None, got {storage!r} "
            f"of type {type(storage).__name__}"
        )
    if not storage.startswith(_SCHEMES):
        # Name the scheme only: the rest of the URL may hold a password.
        scheme = storage.split("://", 1)[0] if "://" in storage else storage
        raise ValueError(
            f"unknown storage URL scheme {scheme!r}; expected "
            "'sqlite:///PATH' or 'postgresql+psycopg://USER@HOST:PORT/DB'"
        )
    return SQLStorage(storage)
