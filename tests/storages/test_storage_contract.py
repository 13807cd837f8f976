"""Run the storage contract against every storage: in memory, SQLite, PostgreSQL, the proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperknob.storages import BaseStorage, InMemoryStorage, SQLStorage
from hyperknob.storages._remote import StorageClient, StorageServer
from hyperknob.testing import StorageContract


class TestInMemoryStorage(StorageContract):
    """The in-memory storage of one process."""

    def make_storage(self) -> BaseStorage:
        return InMemoryStorage()


class TestSQLiteStorage(StorageContract):
    """SQLStorage on a SQLite file; a second handle is a second SQLStorage on the file."""

    @pytest.fixture(autouse=True)
    def _sqlite_file(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path}/contract.db"

    def make_storage(self) -> BaseStorage:
        return SQLStorage(self.url)

    def make_second_handle(self, storage: BaseStorage) -> BaseStorage | None:
        return SQLStorage(self.url)


@pytest.mark.postgres
class TestPostgreSQLStorage(StorageContract):
    """SQLStorage on a fresh PostgreSQL database per test."""

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url: str) -> None:
        self.url = postgres_url

    def make_storage(self) -> BaseStorage:
        return SQLStorage(self.url)

    def make_second_handle(self, storage: BaseStorage) -> BaseStorage | None:
        return SQLStorage(self.url)


class TestSharedStorageProxy(StorageContract):
    """A StorageClient talking to a StorageServer that serves an InMemoryStorage."""

    @pytest.fixture(autouse=True)
    def _servers(self) -> Iterator[None]:
        self.servers: dict[int, StorageServer] = {}
        yield
        for server in self.servers.values():
            server.close()

    def make_storage(self) -> BaseStorage:
        server = StorageServer(InMemoryStorage())
        client = StorageClient(server.address, server.authkey)
        self.servers[id(client)] = server
        return client

    def make_second_handle(self, storage: BaseStorage) -> BaseStorage | None:
        server = self.servers[id(storage)]
        return StorageClient(server.address, server.authkey)
