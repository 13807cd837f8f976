"""Shared fixtures: storages of every kind, PostgreSQL included when a server is given."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

import hyperknob

POSTGRES_ENV = "HYPERKNOB_TEST_POSTGRES_URL"

# Ray reads these when imported: local clusters on 127.0.0.1, no token between their processes.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def postgres_admin_url() -> str | None:
    """Return the URL of the test server, skip without one, and fail in CI without one."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: .ci/run must start PostgreSQL")
    pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (scripts/postgres.sh start prints one)")
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Yield the URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    import sqlalchemy as sa

    admin = postgres_admin_url()
    assert admin is not None
    name = f"hk_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: object) -> str | None:
    """Yield None (in memory), a SQLite file URL, or a PostgreSQL URL."""
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def chromium_path() -> str | None:
    """Return the system Chromium binary (Debian's chromium), skip without one, and fail in
    CI without one (.ci/run installs it)."""
    import shutil

    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if path and os.path.exists(path):
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no Chromium: .ci/run must install chromium")
    pytest.skip("no Chromium (apt-get install chromium chromium-driver)")
    return None


#: Chromium's switches for tests: headless, no network of its own, throwaway profile.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Yield a headless system Chromium driven by Playwright (one per test session)."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but playwright is not installed (the dev extra has it)")
        pytest.skip("playwright is not installed")
    with sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def screenshots(tmp_path: object) -> str:
    """Return where a test keeps its screenshots: $HYPERKNOB_SCREENSHOT_DIR, else its tmp."""
    return os.environ.get("HYPERKNOB_SCREENSHOT_DIR") or str(tmp_path)


def _interrupt_when(process: subprocess.Popen[str], completed: Callable[[], int], count: int,
                    *, wait_s: float, poll_s: float) -> str:
    """Send Ctrl-C (SIGINT) to ``process`` once ``completed()`` reaches ``count`` (or after
    ``wait_s``), wait for it, and return its stderr. ``completed`` may raise
    StudyNotFoundError or StorageError while the study does not exist yet. A process the
    interrupt does not stop is killed, so a failing test leaves nothing running."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        try:
            if completed() >= count:
                break
        except (hyperknob.StudyNotFoundError, hyperknob.StorageError):
            continue  # the study is not there yet
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return err


@pytest.fixture
def interrupt_when() -> Callable[..., str]:
    """The Ctrl-C tests' helper: see :func:`_interrupt_when`."""
    return _interrupt_when
