"""Serve a storage to workers that cannot open it themselves.

The parent keeps the one true storage (an :class:`InMemoryStorage`, or a SQLite file that
only the driver's machine may touch); each worker holds a :class:`StorageClient` that
forwards every call (arguments and results are pickled FrozenTrials, distributions and plain
values). Worker processes on this machine connect over a Unix socket; Ray workers on other
machines over TCP to the driver's address, after an HMAC challenge with a random key. One
thread per worker serves its calls; the storage's own locking keeps them consistent.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Container, Mapping, Sequence
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from hyperknob._direction import StudyDirection
from hyperknob.distributions import BaseDistribution
from hyperknob.storages._base import BaseStorage, StudySummary
from hyperknob.storages._in_memory import check_json
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

Address = str | tuple[str, int]


def _family(address: Address) -> str:
    return "AF_UNIX" if isinstance(address, str) else "AF_INET"


class StorageServer:
    """Answer storage calls from workers until :meth:`close`.

    Listens on a Unix socket in a private temporary folder, or, given ``host``, on a free TCP
    port of that address (``address`` is then ``(host, port)``).
    """

    def __init__(self, storage: BaseStorage, *, host: str | None = None) -> None:
        self._storage = storage
        self._dir: str | None = None
        self.address: Address
        if host is None:
            self._dir = tempfile.mkdtemp(prefix="hyperknob-")
            self.address = os.path.join(self._dir, "storage.sock")
        else:
            self.address = (host, 0)
        self.authkey = secrets.token_bytes(16)
        self._listener = Listener(self.address, family=_family(self.address),
                                  authkey=self.authkey)
        if host is not None:
            self.address = (host, int(self._listener.address[1]))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except AuthenticationError:
                continue  # a client without the key: refused, the others go on
            except (OSError, EOFError):
                if self._closed:
                    return
                time.sleep(0.05)  # e.g. out of file descriptors: try again, without spinning
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        with conn:
            while True:
                try:
                    name, args, kwargs = conn.recv()
                except (EOFError, OSError):
                    return
                try:
                    reply: tuple[bool, Any] = (True, getattr(self._storage, name)(*args, **kwargs))
                except Exception as error:
                    reply = (False, error)
                try:
                    conn.send(reply)
                except OSError:  # the worker went away (killed, or its machine was lost)
                    return

    def close(self) -> None:
        """Stop accepting workers and remove the socket."""
        self._closed = True
        self._listener.close()
        if self._dir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)


class StorageClient(BaseStorage):
    """A storage whose every call runs in the process that owns the real one."""

    def __init__(self, address: Address, authkey: bytes) -> None:
        self._address = address
        self._authkey = authkey
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._conn is None:
                self._conn = Client(self._address, family=_family(self._address),
                                    authkey=self._authkey)
            self._conn.send((name, args, kwargs))
            ok, result = self._conn.recv()
        if not ok:
            raise result
        return result

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def create_new_study(self, study_name: str, directions: Sequence[StudyDirection]) -> int:
        return int(self._call("create_new_study", study_name, list(directions)))

    def delete_study(self, study_id: int) -> None:
        self._call("delete_study", study_id)

    def get_study_id_from_name(self, study_name: str) -> int:
        return int(self._call("get_study_id_from_name", study_name))

    def get_study_name(self, study_id: int) -> str:
        return str(self._call("get_study_name", study_id))

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return [StudyDirection(d) for d in self._call("get_study_directions", study_id)]

    def get_all_studies(self) -> list[StudySummary]:
        return list(self._call("get_all_studies"))

    def set_study_attr(self, study_id: int, kind: str, key: str, value: Any) -> None:
        value = check_json(kind, key, value)  # fail here, not while pickling
        self._call("set_study_attr", study_id, kind, key, value)

    def get_study_attrs(self, study_id: int, kind: str) -> dict[str, Any]:
        return dict(self._call("get_study_attrs", study_id, kind))

    def create_new_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        result: FrozenTrial = self._call("create_new_trial", study_id, template)
        return result

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        result: FrozenTrial | None = self._call("claim_waiting_trial", study_id)
        return result

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        self._call("set_trial_param", trial_id, name, internal_value, distribution)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        self._call("set_trial_intermediate_value", trial_id, step, value)

    def set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        value = check_json(kind, key, value)
        self._call("set_trial_attr", trial_id, kind, key, value)

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        attrs = {k: check_json("system", k, v) for k, v in (system_attrs or {}).items()}
        sent = None if values is None else [float(v) for v in values]
        return bool(self._call("finish_trial", trial_id, state, sent, attrs))

    def get_trial(self, trial_id: int) -> FrozenTrial:
        result: FrozenTrial = self._call("get_trial", trial_id)
        return result

    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        return int(self._call("get_trial_id_from_number", study_id, number))

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None, *,
        from_number: int = 0,
    ) -> list[FrozenTrial]:
        wanted = None if states is None else tuple(s for s in TrialState if s in states)
        return list(self._call("get_all_trials", study_id, wanted, from_number=from_number))

    def count_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        wanted = None if states is None else tuple(s for s in TrialState if s in states)
        return int(self._call("count_trials", study_id, wanted))

    def record_heartbeat(self, trial_id: int) -> None:
        self._call("record_heartbeat", trial_id)

    def get_stale_trial_ids(self, study_id: int, older_than: datetime.datetime) -> list[int]:
        return list(self._call("get_stale_trial_ids", study_id, older_than))

    def get_best_trial(self, study_id: int) -> FrozenTrial | None:
        result: FrozenTrial | None = self._call("get_best_trial", study_id)
        return result
