"""The house rules of DESIGN.md, checked on the source: who may write, who may import whom,
and that no package reaches into another object's private attributes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "hyperknob"

# The storage methods that write; only the study package (and storages themselves) call them.
WRITES = {"create_new_trial", "finish_trial", "set_trial_param", "set_trial_intermediate_value",
          "set_trial_attr", "record_heartbeat", "claim_waiting_trial", "create_new_study",
          "delete_study", "set_study_attr"}
# The storage contract suites test storages themselves, so they write to them.
STORAGE_TESTERS = ("testing/_storage_contract", "testing/_sampler_contract_base.py")
# Public methods of namedtuples, though their names begin with "_".
NAMEDTUPLE_API = {"_asdict", "_replace", "_fields", "_make"}


def modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(SRC)), ast.parse(path.read_text()))
            for path in sorted(SRC.rglob("*.py"))]


def runtime_imports(tree: ast.Module) -> set[str]:
    """Return the hyperknob modules a module imports when it runs (not under TYPE_CHECKING)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                     "typing.TYPE_CHECKING"):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("hyperknob"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "hyperknob"):
            found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def package(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_only_the_study_package_writes_to_storage() -> None:
    offenders = []
    for rel, tree in modules():
        if rel.startswith(("study/", "storages/", *STORAGE_TESTERS)):
            continue
        offenders += [f"{rel}:{node.lineno} {ast.unparse(node)}" for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and node.attr in WRITES
                      and ast.unparse(node.value) != "hyperknob"]
    assert offenders == []


def test_no_package_outside_study_touches_another_objects_private_attributes() -> None:
    offenders = []
    for rel, tree in modules():
        if rel.startswith("study/"):
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")) or node.attr in NAMEDTUPLE_API:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            offenders.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []


@pytest.mark.parametrize(("low", "high"), [("trial", "study"), ("trial", "execution"),
                                           ("execution", "study")])
def test_the_core_packages_import_downwards_only(low: str, high: str) -> None:
    """trial <- execution <- study: a trial knows no study, executors drive a study through
    its public methods and never import it (a Ray worker rebuilds it from its class)."""
    offenders = [f"{rel} imports {name}" for rel, tree in modules() if rel.startswith(low + "/")
                 for name in runtime_imports(tree) if package(name) == high]
    assert offenders == []


def test_the_checks_see_what_they_look_for() -> None:
    bad = ast.parse("import hyperknob.study\nif TYPE_CHECKING:\n    import hyperknob.execution\n"
                    "x = study._storage.finish_trial\n")
    assert runtime_imports(bad) == {"hyperknob.study"}
    assert any(isinstance(n, ast.Attribute) and n.attr in WRITES for n in ast.walk(bad))
