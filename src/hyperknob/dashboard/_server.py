"""``hyperknob dashboard``: a live, read-only web view of the studies in a storage.

Standard library HTTP, one thread per request. What it serves is a fixed set of routes: the
page, plotly.js (from the installed plotly package) and JSON from ``_api`` -- no route reads a
file named by the request, so nothing else on the machine is reachable through it. Only GET
and HEAD are answered. Bound to a loopback address it is open to that machine (requests
naming another Host are refused: DNS rebinding); bound to any
other address it requires a token (given, or generated and printed), as ``?token=`` or an
``Authorization: Bearer`` header. Live updates are server-sent events: the server checks the
study once a second and sends an event when a trial was added or finished.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import json
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hyperknob.dashboard import _api
from hyperknob.dashboard._page import PAGE
from hyperknob.exceptions import StudyNotFoundError
from hyperknob.storages._base import BaseStorage

#: Seconds between two looks at the storage for server-sent events.
POLL_S = 1.0


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plotly_js() -> bytes:
    try:
        offline = importlib.import_module("plotly.offline")
    except ImportError:  # the page still lists studies and trials; plots need the viz extra
        return b"/* plotly is not installed: pip install 'hyperknob[viz]' */"
    return str(offline.get_plotlyjs()).encode()


class Dashboard:
    """The application: routes to bytes, independent of the HTTP server running it."""

    def __init__(self, storage: BaseStorage, token: str | None = None) -> None:
        self.storage = storage
        self.token = token
        self._assets: dict[str, tuple[str, Callable[[], bytes]]] = {
            "/": ("text/html; charset=utf-8", PAGE.encode),
            "/assets/plotly.min.js": ("text/javascript; charset=utf-8", _plotly_js),
        }
        self._cache: dict[str, bytes] = {}
        self.closing = threading.Event()

    def authorized(self, query: dict[str, list[str]], header: str | None) -> bool:
        if self.token is None:
            return True
        given = (query.get("token") or [""])[0]
        if header and header.startswith("Bearer "):
            given = header[len("Bearer "):]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def host_allowed(self, host: str | None) -> bool:
        """Return whether a request for ``host`` (its Host header) may be answered: without a
        token only names of this machine are, so that a web page whose domain was pointed at
        127.0.0.1 (DNS rebinding) cannot read the studies through the visitor's browser."""
        if self.token is not None or host is None:
            return True
        name = host.strip()
        if name.startswith("["):  # [::1]:8080
            name = name[1:].partition("]")[0]
        elif name.count(":") == 1:  # 127.0.0.1:8080, localhost:8080
            name = name.partition(":")[0]
        return is_loopback(name.lower().rstrip("."))

    def asset(self, path: str) -> tuple[str, bytes] | None:
        entry = self._assets.get(path)
        if entry is None:
            return None
        kind, make = entry
        if path not in self._cache:
            self._cache[path] = make()
        return kind, self._cache[path]

    def json(self, path: str, query: dict[str, list[str]]) -> Any:
        """Return the JSON for an API path; raise KeyError for an unknown one."""
        study = query["study"][0] if query.get("study") else None
        if path == "/api/studies":
            return _api.studies(self.storage)
        if study is None:
            raise ValueError("missing ?study=NAME")
        if path == "/api/summary":
            return _api.summary(self.storage, study)
        if path == "/api/trials":
            return _api.trials_page(self.storage, study,
                                    int((query.get("offset") or ["0"])[0]),
                                    int((query.get("limit") or ["100"])[0]))
        raise KeyError(path)


class _Handler(BaseHTTPRequestHandler):
    server_version = "hyperknob-dashboard"
    app: Dashboard  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the CLI prints the URL once

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        host = self.headers.get("Host")
        if not self.app.host_allowed(host):
            self._send(HTTPStatus.FORBIDDEN, "text/plain",
                       f"Host {host!r} is not this machine: a dashboard without a token "
                       "answers only localhost, 127.0.0.1 or [::1]\n".encode())
            return
        if not self.app.authorized(query, self.headers.get("Authorization")):
            self._send(HTTPStatus.UNAUTHORIZED, "text/plain", b"a token is required\n")
            return
        asset = self.app.asset(parts.path)
        if asset is not None:
            self._send(HTTPStatus.OK, asset[0], asset[1])
            return
        if parts.path == "/api/events":
            self._events(query)
            return
        try:
            body = json.dumps(self.app.json(parts.path, query)).encode()
        except KeyError:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            return
        except StudyNotFoundError as error:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", f"{error}\n".encode())
            return
        except ValueError as error:
            self._send(HTTPStatus.BAD_REQUEST, "text/plain", f"{error}\n".encode())
            return
        self._send(HTTPStatus.OK, "application/json", body)

    def _refuse(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"read-only\n")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _events(self, query: dict[str, list[str]]) -> None:
        study = (query.get("study") or [""])[0]
        try:
            last = _api.version(self.app.storage, study)
        except StudyNotFoundError as error:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", f"{error}\n".encode())
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            self.wfile.write(b"retry: 2000\n\n")
            self.wfile.flush()
            while not self.app.closing.wait(POLL_S):
                now = _api.version(self.app.storage, study)
                if now != last:
                    last = now
                    self.wfile.write(f"data: {json.dumps({'version': now})}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


def required_token(host: str, token: str | None) -> str | None:
    """Return the token a server on ``host`` requires: the one given, else a new random one
    off loopback, else None."""
    if token is not None and not token:
        raise ValueError("the token must not be empty")
    if token is None and not is_loopback(host):
        return secrets.token_urlsafe(24)
    return token


def make_server(storage: BaseStorage, host: str = "127.0.0.1", port: int = 8080,
                token: str | None = None) -> tuple[ThreadingHTTPServer, Dashboard, str | None]:
    """Return a server (not yet serving), its app and the token it requires (None on
    loopback without one). Port 0 picks a free port (``server.server_address[1]``)."""
    token = required_token(host, token)
    app = Dashboard(storage, token)
    handler = type("Handler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server, app, token


def serve(storage: BaseStorage, host: str = "127.0.0.1", port: int = 8080,
          token: str | None = None, announce: Callable[[str], Any] = print) -> None:
    """Serve until Ctrl-C."""
    server, app, token = make_server(storage, host, port, token)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_address[1]}/"
    announce(f"hyperknob dashboard on {url}" + (f"?token={token}" if token else "") +
             "  (read-only; Ctrl-C stops it)")
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        app.closing.set()
        server.server_close()
