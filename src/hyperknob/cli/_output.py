"""Write rows (dicts) as an aligned text table, a JSON array of objects, or CSV."""

from __future__ import annotations

import csv
import datetime
import enum
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

FORMATS = ("table", "json", "csv")

#: Table cells longer than this are cut (JSON and CSV keep the full text).
MAX_CELL = 80


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return the union of the rows' keys, in order of first appearance."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def to_json_value(value: Any) -> Any:
    """Return ``value`` made JSON-safe: NaN and inf become None, datetimes ISO strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    try:  # numpy scalars
        return to_json_value(value.item())
    except AttributeError:
        return str(value)


def _text(value: Any, *, table: bool) -> str:
    """Return one cell as text: '' for None/NaN, compact floats and datetimes in tables."""
    if table and isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    value = to_json_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if table else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    text = str(value)
    if table:
        text = " ".join(text.split())
        if len(text) > MAX_CELL:
            text = text[: MAX_CELL - 3] + "..."
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Write aligned plain-text columns; numeric columns are right-aligned."""
    cells = [[_text(row.get(column), table=True) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells])
              for i, column in enumerate(columns)]
    numeric = [
        all(_is_number(row.get(column)) or row.get(column) is None for row in rows)
        and any(_is_number(row.get(column)) for row in rows)
        for column in columns
    ]

    def line(texts: Sequence[str]) -> str:
        parts = [text.rjust(width) if right else text.ljust(width)
                 for text, width, right in zip(texts, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out.write(line(list(columns)) + "\n")
    out.write("  ".join("-" * width for width in widths) + "\n")
    for texts in cells:
        out.write(line(texts) + "\n")


def write_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: str,
    out: TextIO,
    *,
    columns: Sequence[str] | None = None,
    empty_message: str = "(nothing to show)",
) -> None:
    """Write ``rows`` in format ``fmt`` (``table``, ``json`` or ``csv``) to ``out``.

    Args:
        rows: One mapping per row; missing keys are blank (table, CSV) or null (JSON).
        fmt: One of :data:`FORMATS`.
        out: Where to write.
        columns: The columns, in order; by default the union of the rows' keys.
        empty_message: What a table says when there are no rows.

    Raises:
        ValueError: If ``fmt`` is not a known format.
    """
    cols = list(columns) if columns is not None else columns_of(rows)
    if fmt == "json":
        data = [{c: to_json_value(row.get(c)) for c in cols} for row in rows]
        json.dump(data, out, indent=2, allow_nan=False)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=cols, restval="", extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _text(row[c], table=False) for c in cols if c in row})
    elif fmt == "table":
        if rows:
            write_table(rows, cols, out)
        else:
            out.write(empty_message + "\n")
    else:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {FORMATS}")
