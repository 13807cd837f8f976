"""Run Optuna's own docstring examples against hyperknob, with only the import changed.

Usage::

    .venv/bin/python scripts/optuna_compat.py [-j N] [--only SUBSTRING] [--json PATH]
        [--timeout SECONDS] [--no-baseline] [--list] [--show]

The examples are read at run time from the installed ``optuna`` package (its docstrings); none
of Optuna's example code is stored in this repository.

Selection rule (the count is reproducible from it):

1. Objects: the public names listed in ``SELECTION`` below, looked up with ``getattr`` on the
   Optuna namespace they are listed under. These are the parts of Optuna's API that hyperknob
   offers (``hyperknob``, ``hyperknob.study``, ``.trial``, ``.samplers``, ``.pruners``,
   ``.storages``, ``.distributions``, ``.exceptions``), plus the Optuna names of those
   namespaces that hyperknob lacks today but is meant to offer (``copy_study``,
   ``create_trial``, ``NSGAIISampler``, ``RDBStorage``, the heartbeat retry callback, ...):
   the point is to measure the gap, not what passes. For ``optuna.distributions`` and
   ``optuna.exceptions`` every public name defined in the module is taken. (Optuna 5 keeps
   ``IntersectionSearchSpace`` in ``optuna.search_space``, without an example; the deprecated
   ``RetryFailedTrialCallback`` is a subclass of ``RetryHeartbeatStaleTrialCallback`` that
   carries the example.)
   Not selected: ``optuna.integration``, ``.visualization``, ``.importance``, ``.artifacts``,
   ``.terminator``, ``.search_space``, ``.cli``, ``.logging``, ``optuna_dashboard``, and the
   objects of the selected namespaces that hyperknob neither has nor plans (``FixedTrial``,
   ``MaxTrialsCallback``, ``CmaEsSampler``, ``BruteForceSampler``, ``PartialFixedSampler``,
   ``WilcoxonPruner``, ...).
2. Docstrings: the object's own ``__doc__``; for a class also the ``__doc__`` of every public
   function, static/class method and property in the class's own ``__dict__`` (plus
   ``__init__``). Inherited members are not walked again; each docstring is taken once.
3. Examples: every ``.. testcode::`` block in such a docstring is one example, id
   ``<namespace>.<object>[.<member>]#k`` (k counts the docstring's testcode blocks from 1).
   Like ``sphinx.ext.doctest`` does, the docstring's ``.. testsetup::`` blocks run before it
   and its ``.. testcleanup::`` blocks after it, in one namespace. ``.. testoutput::`` blocks
   are noted (column ``out``) but not compared.
4. Baseline: each example first runs unchanged against Optuna (skip with ``--no-baseline``);
   an example that fails there (a missing package, network, ...) is listed as EXCLUDED and not
   counted. The total M counts the examples that pass under Optuna.

Swap (the only rewrite; line by line, on ``import``/``from`` statements only)::

    import optuna                -> import hyperknob as optuna
    import optuna as X           -> import hyperknob as X
    import optuna.sub            -> import hyperknob.sub; import hyperknob as optuna
    import optuna.sub as X       -> import hyperknob.sub as X
    from optuna import X         -> from hyperknob import X
    from optuna.sub import X     -> from hyperknob.sub import X

``import optuna.sub`` binds the name ``optuna`` and loads the submodule, hence two statements;
a submodule hyperknob lacks is a reported failure. Nothing else is rewritten (strings, other
libraries). Other rewrites found necessary: none.

Each example runs in a fresh ``sys.executable`` subprocess, in its own temporary working
directory (examples write ``example.db`` and the like), with OPENBLAS/OMP/MKL threads = 1 and a
timeout. ``PYTHONPATH`` is passed on, so ``PYTHONPATH=/some/checkout/src`` measures another
hyperknob (the first output line says which one ran). In the hyperknob run a stub ``optuna``
package that raises ``ImportError`` comes first on ``PYTHONPATH``, so an import the swap
missed fails instead of quietly running Optuna.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Optuna namespace -> public names whose docstring examples are in scope. "*" = every public
# name defined in that module.
SELECTION: dict[str, tuple[str, ...]] = {
    "optuna.study": (
        "Study", "StudyDirection", "create_study", "load_study", "delete_study", "copy_study",
        "get_all_study_summaries", "get_all_study_names",
    ),
    "optuna.trial": ("Trial", "FrozenTrial", "TrialState", "create_trial"),
    "optuna.samplers": (
        "BaseSampler", "RandomSampler", "GridSampler", "QMCSampler", "TPESampler", "GPSampler",
        "NSGAIISampler",
    ),
    "optuna.pruners": (
        "BasePruner", "NopPruner", "MedianPruner", "PercentilePruner", "ThresholdPruner",
        "PatientPruner", "SuccessiveHalvingPruner", "HyperbandPruner",
    ),
    "optuna.storages": (
        "BaseStorage", "InMemoryStorage", "RDBStorage", "RetryHeartbeatStaleTrialCallback",
        "RetryFailedTrialCallback", "fail_stale_trials",
    ),
    "optuna.distributions": ("*",),
    "optuna.exceptions": ("*",),
}

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?P<kind>testsetup|testcode|testoutput|testcleanup)"
                        r"::[ \t]*(?P<group>\S*)\s*$")
_OPTION = re.compile(r"^\s*:[\w-]+:")
_SWAPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\s*)import optuna\s*(#.*)?$"), r"\1import hyperknob as optuna"),
    (re.compile(r"^(\s*)import optuna as (\w+)"), r"\1import hyperknob as \2"),
    (re.compile(r"^(\s*)import optuna\.([\w.]+) as (\w+)"), r"\1import hyperknob.\2 as \3"),
    (re.compile(r"^(\s*)import optuna\.([\w.]+)\s*(#.*)?$"),
     r"\1import hyperknob.\2; import hyperknob as optuna"),
    (re.compile(r"^(\s*)from optuna import "), r"\1from hyperknob import "),
    (re.compile(r"^(\s*)from optuna\.([\w.]+) import "), r"\1from hyperknob.\2 import "),
)
_BLOCKER = (
    "raise ImportError('optuna is blocked in the hyperknob run: an import was not swapped')\n"
)


@dataclasses.dataclass(frozen=True)
class Example:
    """One testcode block, with the setup and cleanup code of its docstring."""

    id: str
    source: str  # "path/in/site-packages.py:line" of the testcode directive
    setup: str
    code: str
    cleanup: str
    has_output: bool

    def program(self) -> str:
        parts = [self.setup, self.code, self.cleanup]
        return "\n".join(part for part in parts if part) + "\n"


@dataclasses.dataclass
class Outcome:
    """What one run gave: passed, the last line of the error, seconds taken."""

    passed: bool
    error: str
    seconds: float


def swap(program: str) -> str:
    """Return the program with its Optuna imports pointing at hyperknob (see module docstring)."""
    lines = []
    for line in program.splitlines():
        swapped = line
        for pattern, replacement in _SWAPS:
            if pattern.match(line):
                swapped = pattern.sub(replacement, line, count=1)
                break
        lines.append(swapped)
    return "\n".join(lines) + "\n"


def _blocks(doc: str) -> Iterator[tuple[str, str, str, int]]:
    """Yield (kind, group, body, line index) for each sphinx doctest directive in a docstring."""
    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, indent = i, len(match["indent"])
        i += 1
        while i < len(lines) and _OPTION.match(lines[i]):
            i += 1
        body = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        yield match["kind"], match["group"] or "default", textwrap.dedent(
            "\n".join(body)
        ).strip("\n"), start


def _members(obj: object) -> Iterator[tuple[str, object]]:
    """Yield ("", obj) and, for a class, (name, function) for its own documented members."""
    yield "", obj
    if not inspect.isclass(obj):
        return
    for name, attribute in vars(obj).items():
        if name.startswith("_") and name != "__init__":
            continue
        member = attribute
        if isinstance(attribute, (staticmethod, classmethod)):
            member = attribute.__func__
        elif isinstance(attribute, property):
            member = attribute.fget
        if isinstance(member, types.FunctionType):
            yield name, member


def _source_line(obj: object, block_index: int) -> str:
    """Return "file:line" of the block_index-th testcode directive in obj's source."""
    try:
        target = inspect.unwrap(obj) if callable(obj) else obj
        lines, start = inspect.getsourcelines(target)  # type: ignore[arg-type]
        path = Path(inspect.getsourcefile(target) or "?")  # type: ignore[arg-type]
    except (OSError, TypeError):
        return "?"
    seen = 0
    for offset, line in enumerate(lines):
        if ".. testcode::" in line:
            if seen == block_index:
                root = Path(inspect.getfile(sys.modules["optuna"])).parent.parent
                rel = path.relative_to(root) if path.is_relative_to(root) else path
                return f"{rel}:{start + offset}"
            seen += 1
    return str(path)


def collect() -> list[Example]:
    """Return the selected examples, in SELECTION order."""
    import importlib

    examples: list[Example] = []
    seen_docs: set[int] = set()
    for namespace, listed in SELECTION.items():
        module = importlib.import_module(namespace)
        names = listed
        if listed == ("*",):
            names = tuple(
                name for name, value in vars(module).items()
                if not name.startswith("_")
                and getattr(value, "__module__", None) == module.__name__
            )
        for name in names:
            obj = getattr(module, name, None)
            if obj is None:
                print(f"warning: {namespace}.{name} not found in optuna", file=sys.stderr)
                continue
            for member_name, member in _members(obj):
                doc = member.__doc__
                if not doc or ".. testcode::" not in doc:
                    continue
                key = id(inspect.unwrap(member) if callable(member) else member)
                if key in seen_docs:
                    continue
                seen_docs.add(key)
                base = f"{namespace}.{name}" + (f".{member_name}" if member_name else "")
                examples.extend(_examples_of(base, member, inspect.cleandoc(doc)))
    return examples


def _examples_of(base: str, obj: object, doc: str) -> list[Example]:
    blocks = list(_blocks(doc))
    found = []
    codes = [block for block in blocks if block[0] == "testcode"]
    for k, (_, group, code, start) in enumerate(codes):
        def joined(kind: str, group: str = group) -> str:
            return "\n".join(body for block_kind, block_group, body, _ in blocks
                             if block_kind == kind and block_group in (group, "*"))

        following = [block for block in blocks if block[3] > start]
        has_output = bool(following) and following[0][0] == "testoutput"
        found.append(Example(
            id=f"{base}#{k + 1}", source=_source_line(obj, k), setup=joined("testsetup"),
            code=code, cleanup=joined("testcleanup"), has_output=has_output,
        ))
    return found


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "non-zero exit, no output"


def _environment() -> dict[str, str]:
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")


def _hyperknob_location() -> str:
    """Return where the subprocesses import hyperknob from (PYTHONPATH can point elsewhere)."""
    result = subprocess.run(
        [sys.executable, "-c", "import hyperknob; print(hyperknob.__file__)"], check=False,
        env=_environment(), capture_output=True, text=True, cwd=tempfile.gettempdir(),
    )
    return result.stdout.strip() or _last_error_line(result.stderr)


def run_program(program: str, *, block_optuna: bool, timeout: float) -> Outcome:
    """Run program in a fresh interpreter in a fresh directory; return how it ended."""
    env = _environment()
    with tempfile.TemporaryDirectory(prefix="optuna_compat_") as tmp:
        workdir = Path(tmp, "work")
        workdir.mkdir()
        if block_optuna:
            stub = Path(tmp, "stub", "optuna")
            stub.mkdir(parents=True)
            (stub / "__init__.py").write_text(_BLOCKER)
            env["PYTHONPATH"] = os.pathsep.join(
                part for part in (str(stub.parent), env.get("PYTHONPATH")) if part
            )
        (workdir / "example.py").write_text(program)
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, "example.py"], check=False, cwd=workdir, env=env,
                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return Outcome(False, f"TIMEOUT after {timeout:g} s", time.monotonic() - started)
        seconds = time.monotonic() - started
    if result.returncode == 0:
        return Outcome(True, "", seconds)
    return Outcome(False, _last_error_line(result.stderr), seconds)


def evaluate(example: Example, *, baseline: bool, timeout: float) -> dict[str, Any]:
    """Run one example (under Optuna first when baseline) and return its report row."""
    row: dict[str, Any] = {"id": example.id, "source": example.source,
                           "has_output": example.has_output}
    if baseline:
        original = run_program(example.program(), block_optuna=False, timeout=timeout)
        row["optuna"] = dataclasses.asdict(original)
        if not original.passed:
            row.update(status="EXCLUDED", error=f"fails under optuna: {original.error}")
            return row
    swapped = run_program(swap(example.program()), block_optuna=True, timeout=timeout)
    row["hyperknob"] = dataclasses.asdict(swapped)
    row.update(status="PASS" if swapped.passed else "FAIL", error=swapped.error)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=2, help="examples run in parallel")
    parser.add_argument("--only", default="", help="keep examples whose id contains this")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--no-baseline", action="store_true",
                        help="do not run the originals against optuna first")
    parser.add_argument("--list", action="store_true", help="list the selection, run nothing")
    parser.add_argument("--show", action="store_true",
                        help="print the swapped programs, run nothing")
    args = parser.parse_args(argv)

    examples = [example for example in collect() if args.only in example.id]
    if args.list or args.show:
        for example in examples:
            print(f"{example.id:60} {example.source}")
            if args.show:
                print(textwrap.indent(swap(example.program()), "    "))
        print(f"{len(examples)} examples")
        return 0

    print(f"hyperknob: {_hyperknob_location()}", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(
            lambda example: evaluate(example, baseline=not args.no_baseline,
                                     timeout=args.timeout),
            examples,
        ))

    width = max([len(row["id"]) for row in rows] + [2])
    print(f"{'id':{width}}  status    out  detail")
    for row in rows:
        out = "yes" if row["has_output"] else "-"
        print(f"{row['id']:{width}}  {row['status']:8}  {out:3}  {row['error']}")
    counted = [row for row in rows if row["status"] != "EXCLUDED"]
    passed = sum(row["status"] == "PASS" for row in counted)
    excluded = len(rows) - len(counted)
    print(f"\n{passed} of {len(counted)} pass"
          + (f" ({excluded} excluded: they fail under optuna itself)" if excluded else ""))
    if args.json:
        summary = {"passed": passed, "counted": len(counted), "excluded": excluded}
        args.json.write_text(json.dumps({"summary": summary, "examples": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
