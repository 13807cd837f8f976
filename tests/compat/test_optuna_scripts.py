"""Scripts written against Optuna's API, in the style of its documentation and tutorials, run
on hyperknob with only the import changed (``import hyperknob as optuna``)."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import pytest

import hyperknob

SCRIPTS = sorted((Path(__file__).parent / "optuna_scripts").glob("*.py"))


def test_there_are_scripts() -> None:
    assert len(SCRIPTS) >= 8


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_optuna_script_runs_unchanged(script: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    source = script.read_text()
    assert "import hyperknob as optuna" in source and "\nimport optuna" not in source
    monkeypatch.chdir(tmp_path)  # the scripts write their SQLite files where they run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ran = runpy.run_path(str(script), run_name="__main__")  # its asserts check the results
    assert ran["optuna"] is hyperknob


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_also_runs_on_optuna(script: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripts are Optuna scripts: with the import swapped back they run on Optuna."""
    optuna = pytest.importorskip("optuna")
    source = script.read_text().replace("import hyperknob as optuna", "import optuna")
    source = source.replace("from hyperknob.", "from optuna.")
    assert "hyperknob" not in source
    original = tmp_path / script.name
    original.write_text(source)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ran = runpy.run_path(str(original), run_name="__main__")  # its asserts check the results
    assert ran["optuna"] is optuna
