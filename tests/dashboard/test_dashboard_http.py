"""The dashboard over real HTTP on 127.0.0.1: routes, JSON, paging at 10,000 trials, live
events, tokens, and nothing else of the machine reachable."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest

import hyperknob
from hyperknob.dashboard import is_loopback, make_server, required_token
from hyperknob.storages import BaseStorage, InMemoryStorage, get_storage
from hyperknob.trial import TrialState


@pytest.fixture
def storage() -> BaseStorage:
    memory = InMemoryStorage()
    study = hyperknob.create_study(study_name="a<script>alert(1)</script>", storage=memory)
    study.optimize(lambda t: (t.suggest_float("x", -3.0, 3.0) - 1.0) ** 2, n_trials=12)
    trial = study.ask()
    trial.report(5.0, 1)
    study.tell(trial, state=TrialState.PRUNED)
    return memory


def start(storage: BaseStorage, token: str | None = None) -> Iterator[tuple[str, int]]:
    server, app, _ = make_server(storage, "127.0.0.1", 0, token)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        app.closing.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(storage: BaseStorage) -> Iterator[tuple[str, int]]:
    yield from start(storage)


def get(address: tuple[str, int], path: str, method: str = "GET",
        headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type") or "", body


def test_page_assets_and_json(server: tuple[str, int]) -> None:
    status, kind, body = get(server, "/")
    assert status == 200 and kind.startswith("text/html") and b"hyperknob dashboard" in body
    assert b"textContent" in body and b"innerHTML" not in body  # names never parsed as HTML
    status, kind, js = get(server, "/assets/plotly.min.js")
    assert status == 200 and len(js) > 1_000_000  # plotly.js, from the installed package
    studies = json.loads(get(server, "/api/studies")[2])
    assert studies == [{"name": "a<script>alert(1)</script>", "direction": "minimize",
                        "n_trials": 13, "best_value": pytest.approx(min(
                            s for s in [studies[0]["best_value"]]))}]
    name = "a%3Cscript%3Ealert(1)%3C/script%3E"
    summary = json.loads(get(server, f"/api/summary?study={name}")[2])
    assert summary["states"] == {"COMPLETE": 12, "PRUNED": 1}
    assert len(summary["history"]["value"]) == 12 and not summary["history"]["downsampled"]
    assert summary["history"]["best"] == sorted(summary["history"]["best"], reverse=True)
    page = json.loads(get(server, f"/api/trials?study={name}&offset=0&limit=5")[2])
    assert page["total"] == 13 and [t["number"] for t in page["trials"]] == [12, 11, 10, 9, 8]
    assert page["trials"][0]["state"] == "PRUNED" and page["trials"][0]["reason"]


@pytest.mark.parametrize("path", [
    "/../../etc/passwd", "/assets/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/assets/", "/assets/plotly.min.js/../../pyproject.toml", "//etc/passwd", "/api",
    "/api/summary?study=nope", "/src/hyperknob/__init__.py"])
def test_nothing_else_is_reachable(server: tuple[str, int], path: str) -> None:
    status, _, body = get(server, path)
    assert status in (400, 404)
    assert b"root:" not in body and b"import" not in body


def test_read_only_and_bad_queries(server: tuple[str, int]) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert get(server, "/api/studies", method)[0] == 405
    assert get(server, "/api/summary")[0] == 400
    assert get(server, "/api/trials?study=x&limit=100000")[0] in (400, 404)
    assert get(server, "/", "HEAD")[0] == 200


def test_a_token_guards_every_route(storage: BaseStorage) -> None:
    for address in start(storage, token="s3cret"):
        assert get(address, "/")[0] == 401
        assert get(address, "/assets/plotly.min.js?token=nope")[0] == 401
        assert get(address, "/?token=s3cret")[0] == 200
        assert get(address, "/api/studies", headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert required_token("0.0.0.0", None) not in (None, "")
    assert required_token("192.168.1.5", "given") == "given"
    assert required_token("127.0.0.1", None) is None and required_token("::1", None) is None
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and not is_loopback("0.0.0.0")
    with pytest.raises(ValueError, match="empty"):
        required_token("127.0.0.1", "")


def test_events_announce_a_finished_trial(storage: BaseStorage,
                                          server: tuple[str, int]) -> None:
    conn = http.client.HTTPConnection(*server, timeout=10)
    conn.request("GET", "/api/events?study=a%3Cscript%3Ealert(1)%3C/script%3E")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.readline().startswith(b"retry:")
    study = hyperknob.load_study(study_name="a<script>alert(1)</script>", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", -3.0, 3.0), n_trials=1)
    deadline = time.monotonic() + 8
    event = b""
    while time.monotonic() < deadline and not event.startswith(b"data:"):
        event = response.readline()
    conn.close()
    assert json.loads(event[len(b"data:"):])["version"] == "14:14"


def test_ten_thousand_trials_are_paged_and_downsampled(tmp_path: object) -> None:
    memory = InMemoryStorage()
    study = hyperknob.create_study(study_name="big", storage=memory,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    for i in range(10_000):
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        study.tell(trial, float((i * 7919) % 10_007))
    for address in start(memory):
        started = time.perf_counter()
        summary = json.loads(get(address, "/api/summary?study=big")[2])
        summary_s = time.perf_counter() - started
        started = time.perf_counter()
        page = json.loads(get(address, "/api/trials?study=big&offset=9950&limit=100")[2])
        page_s = time.perf_counter() - started
    assert summary["history"]["n_points"] == 10_000 and summary["history"]["downsampled"]
    assert len(summary["history"]["number"]) <= 5_200  # 5,000 + every new best
    assert summary["history"]["best"][-1] == 0.0
    assert [t["number"] for t in page["trials"]] == list(range(49, -1, -1))
    assert summary_s < 2.0 and page_s < 2.0, (summary_s, page_s)


def test_sqlite_storage_works_too(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    hyperknob.create_study(study_name="s", storage=url).optimize(
        lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    for address in start(get_storage(url)):
        assert json.loads(get(address, "/api/summary?study=s")[2])["n_trials"] == 3


def test_the_command_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    from hyperknob.cli import main

    assert main(["dashboard", "--port", "70000"]) == 2  # a usage error, before any bind
    assert "expected an integer from 0 to 65535, got '70000'" in capsys.readouterr().err
