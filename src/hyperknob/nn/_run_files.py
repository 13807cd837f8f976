"""The run files ``nn.tune`` writes: ``best_model.pt``, ``best_config.json``, ``trials.csv``."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyperknob.nn._tune import TuneResult


#: The longest study name that is also a folder name (most file systems allow 255 bytes).
MAX_FOLDER_BYTES = 200


def check_folder_name(study_name: str) -> None:
    """Raise ValueError unless ``study_name`` can be the run folder ``output/<study_name>``:
    one path component (no separator, not ``.`` or ``..``), printable, at most
    :data:`MAX_FOLDER_BYTES` bytes in UTF-8."""
    problem = None
    if not study_name.strip():
        problem = "it is empty"
    elif "/" in study_name or "\\" in study_name or study_name in (".", ".."):
        problem = "it is a path, not a name: the run files would go outside the output folder"
    elif not study_name.isprintable():
        problem = "it holds a control character"
    elif len(study_name.encode("utf-8")) > MAX_FOLDER_BYTES:
        problem = (f"it is {len(study_name.encode('utf-8'))} bytes long, over the "
                   f"{MAX_FOLDER_BYTES} a folder name may have")
    if problem is not None:
        shown = study_name if len(study_name) <= 60 else study_name[:57] + "..."
        raise ValueError(f"study name {shown!r} cannot name the run folder ({problem}); "
                         "expected a plain name like 'digits-mlp'")


def check_output_folder(folder: Path) -> None:
    """Raise ValueError unless ``folder`` exists as a writable folder or can be made: the
    run files are written after the search, which must not be lost to a typo."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"output folder {str(folder)!r} cannot be made: {str(existing)!r} is "
                         "a file; expected a folder (or a path where one can be made)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {str(folder)!r} cannot be written: {str(existing)!r} "
                         "is not writable by this user")


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def save_run(out: Path, result: TuneResult) -> None:
    """Write ``best_model.pt``, ``best_config.json`` and ``trials.csv`` into ``out``."""
    import torch

    from hyperknob.nn._select import Ensemble
    from hyperknob.study._records import trial_records

    data = result.dataset
    n_outputs = data.n_classes if data.task == "classification" else 1
    common: dict[str, Any] = {
        "n_features": data.n_features, "n_outputs": n_outputs, "task": str(data.task.value),
        "feature_names": list(data.feature_names),
        "class_names": None if data.class_names is None else list(data.class_names),
        "target_mean": data.target_mean, "target_std": data.target_std,
    }
    model = result.model
    if isinstance(model, Ensemble):
        members = [{"state_dict": m.state_dict(), "hyperparameters": c.to_dict()}
                   for m, c in zip(model.members, result.configs, strict=True)]
        torch.save({"members": members, **common}, out / "best_model.pt")
    else:
        torch.save({"state_dict": model.state_dict(),
                    "hyperparameters": result.config.to_dict(), **common},
                   out / "best_model.pt")
    baseline: Mapping[str, Any] | None = None if result.baseline is None else {
        "trial": result.baseline.trial_number, "hyperparameters": result.baseline.config.to_dict(),
        "validation_metric": result.baseline.validation, "test_metric": result.baseline.test}
    record = {
        "study": result.study.study_name, "trial": result.chosen[0],
        "best_validation_trial": result.best_trial.number,
        "hyperparameters": result.config.to_dict(),
        "validation_metric": result.validation, "test_metric": result.test,
        "metric": result.metric, "n_parameters": result.n_parameters, "dataset": data.summary(),
        "selection": result.selection, "members": [c.to_dict() for c in result.configs],
        "rule_of_thumb": baseline, "trials": result.total_trials, "epochs": result.epochs,
        "objectives": list(result.objectives), "pareto_front": list(result.pareto),
        "max_params": result.max_params,
    }
    (out / "best_config.json").write_text(json.dumps(record, indent=2) + "\n")
    with (out / "trials.csv").open("w", newline="") as handle:
        study = result.study
        rows = trial_records(study.trials, n_objectives=len(study.directions),
                             metric_names=study.metric_names)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)

