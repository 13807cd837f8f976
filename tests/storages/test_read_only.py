"""A SQLite study on a read-only file system: a clear error naming the cause, nothing lost.

The read-only mount lives in a private mount namespace of a child process (``unshare -m``),
so nothing outside the test sees it and it vanishes with the child. Needs root (CI runs as
root); skipped where mounting is not allowed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState

CHILD = textwrap.dedent(
    """
    import sys
    import hyperknob

    url = "sqlite:///" + sys.argv[1]
    try:
        study = hyperknob.load_study(study_name="s", storage=url)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    except hyperknob.StorageError as error:
        print("StorageError:", error)
    else:
        print("no error")
    """
)


def test_a_study_on_a_read_only_file_system_is_a_clear_error_and_stays_intact(
        tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("mounting a read-only file system needs root and unshare")
    data, mount = tmp_path / "data", tmp_path / "ro"
    data.mkdir()
    mount.mkdir()
    url = f"sqlite:///{data}/s.db"
    study = hyperknob.create_study(study_name="s", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    before = [(t.number, t.value) for t in study.trials]
    study._storage.close()
    (tmp_path / "child.py").write_text(CHILD)
    script = (f"mount --bind {data} {mount} && mount -o remount,bind,ro {mount} && "
              f"{sys.executable} {tmp_path / 'child.py'} {mount / 's.db'}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120, check=False)
    if "mount" in done.stderr and done.returncode != 0 and "StorageError" not in done.stdout:
        pytest.skip(f"cannot mount here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    assert "StorageError:" in done.stdout and "is read-only" in done.stdout
    assert "must be writable" in done.stdout
    again = hyperknob.load_study(study_name="s", storage=url)
    assert [(t.number, t.value) for t in again.trials] == before
    assert all(t.state is TrialState.COMPLETE for t in again.trials)
    with sqlite3.connect(data / "s.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
