"""``import hyperknob`` stays light: numpy, scipy and SQLAlchemy at most."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, json, hyperknob\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    loaded = set(json.loads(subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout))
    for heavy in ("torch", "plotly", "ray", "pandas", "sklearn", "psycopg", "tqdm",
                  "matplotlib", "optuna"):
        assert heavy not in loaded, f"import hyperknob loaded {heavy}"
    assert "hyperknob" in loaded and "sqlalchemy" in loaded


def test_the_integration_package_loads_no_framework() -> None:
    """``hyperknob.integration`` (and its plain-PyTorch recorder, which needs no torch) stays
    as light as ``hyperknob``: each framework is imported by its own module only."""
    code = (
        "import sys, json, hyperknob, hyperknob.integration, hyperknob.integration.torch\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    loaded = set(json.loads(subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout))
    for heavy in ("torch", "lightning", "pytorch_lightning", "transformers", "accelerate",
                  "plotly", "pandas", "sklearn", "tqdm"):
        assert heavy not in loaded, f"import hyperknob.integration loaded {heavy}"


def test_public_names_are_curated() -> None:
    import hyperknob

    for name in ("create_study", "load_study", "delete_study", "get_all_study_names",
                 "Study", "Trial", "FrozenTrial", "TrialState", "TrialPruned"):
        assert name in hyperknob.__all__ and hasattr(hyperknob, name)
    assert all(not name.startswith("_") or name == "__version__" for name in hyperknob.__all__)
