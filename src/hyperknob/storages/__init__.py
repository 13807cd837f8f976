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


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """Return a storage for a URL, a storage instance, or None (a new in-memory storage)."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    return SQLStorage(storage)  # which checks the URL
