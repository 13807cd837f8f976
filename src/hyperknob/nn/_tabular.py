"""Read a CSV or Parquet file into typed columns, and encode columns into features.

Reading (:func:`read_table`) decides once, on the whole file, what each column is: numeric, or
categorical. Encoding (:class:`ColumnEncoder`) learns everything it needs — fill values,
categories, mean and standard deviation — from the training rows only, so validation and test
rows are transformed exactly as unseen data would be.

pandas is imported inside the functions that read files: ``import hyperknob`` stays light and
the built-in datasets need no pandas at all.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst")
_PARQUET_SUFFIXES = (".parquet", ".pq")
# A text column whose values parse as numbers this often, but not always, holds a typo.
_NUMERIC_SHARE = 0.9
# An integer target with at most this many distinct values is a class label.
_MAX_INTEGER_CLASSES = 20
# One-hot encoding this many categories is likely an identifier column by mistake.
_MANY_CATEGORIES = 100


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table, typed.

    Attributes:
        name: The column's header.
        numeric: Whether the values are numbers (float64, NaN where missing) rather than
            categories (an object array of ``str``, ``None`` where missing).
        values: One value per row.
    """

    name: str
    numeric: bool
    values: np.ndarray


@dataclasses.dataclass(frozen=True)
class Table:
    """The typed feature columns and target of one file, rows without a target dropped."""

    columns: tuple[Column, ...]
    target: Column


def file_format(path: Path) -> str | None:
    """Return ``"csv"`` or ``"parquet"`` from the suffix of ``path``, ``None`` if neither."""
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    return None


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - pandas is installed wherever tests run
        raise ImportError("reading CSV or Parquet needs pandas: pip install pandas") from error
    return pandas


def read_frame(path: Path) -> pd.DataFrame:
    """Read ``path`` with pandas, turning parser errors into errors that name the file.

    Raises:
        ValueError: The file is empty or is not valid CSV / Parquet.
        ImportError: The file is Parquet and pyarrow is not installed.
    """
    pandas = _import_pandas()
    kind = file_format(path)
    try:
        if kind == "csv":
            frame: pd.DataFrame = pandas.read_csv(path)
            other = _other_delimiter(frame)
            if other is not None:  # a header like "a;b;y": the file is not comma-separated
                frame = pandas.read_csv(path, sep=other)
                commas = pandas.read_csv(path, sep=other, decimal=",")  # 0,5 where . is ,
                if _numeric_columns(commas) > _numeric_columns(frame):
                    frame = commas
        else:
            try:
                frame = pandas.read_parquet(path)
            except ImportError as error:
                raise ImportError(f"reading {path} needs pyarrow: pip install pyarrow") from error
    except pandas.errors.EmptyDataError as error:
        raise ValueError(
            f"{path} is empty: expected a header row and at least one data row"
        ) from error
    except (ValueError, OSError) as error:  # ParserError, UnicodeDecodeError, ArrowInvalid
        label = "CSV" if kind == "csv" else "Parquet"
        raise ValueError(f"{path} is not a valid {label} file: {error}") from error
    return frame


_DELIMITERS = (";", "\t", "|")


def _other_delimiter(frame: pd.DataFrame) -> str | None:
    """Return the delimiter of a CSV file read as one column whose header holds ``;``, a tab
    or ``|`` (the most frequent of them), or None for a file that is comma-separated."""
    if len(frame.columns) != 1:
        return None
    header = str(frame.columns[0])
    count, delimiter = max((header.count(d), d) for d in _DELIMITERS)
    return delimiter if count else None


def _numeric_columns(frame: pd.DataFrame) -> int:
    return sum(kind.kind in "iuf" for kind in frame.dtypes)


def read_table(path: Path, target: str | None) -> Table:
    """Read ``path`` and type its columns; drop (with a warning) rows whose target is missing.

    Raises:
        ValueError: No target given, the target column is absent, the file has no rows, a
            column holds no values, a mostly numeric column holds a value that is not a
            number, or a column holds infinities or dates.
    """
    frame = read_frame(path).reset_index(drop=True)  # labels are now data row positions
    frame.columns = [str(name) for name in frame.columns]
    names = list(frame.columns)
    if not names:
        raise ValueError(f"{path} has no columns: expected a header row")
    if target is None:
        raise ValueError(f"target= is required for a file; {path} has columns {names}")
    if target not in names:
        hint = ("; it was read as one column: is the file separated by commas, semicolons, "
                "tabs or '|'?" if len(names) == 1 else "")
        raise ValueError(f"target column {target!r} is not in {path}; available columns: "
                         f"{names}{hint}")
    if len(frame) == 0:
        raise ValueError(f"{path} has a header but no rows: expected at least one data row")
    if len(names) == 1:
        raise ValueError(
            f"{path} holds only the target column {target!r}: expected at least one feature"
        )
    missing = frame[target].isna().to_numpy()
    if missing.all():
        raise ValueError(
            f"target column {target!r} of {path} holds no values: expected at least one"
        )
    if missing.any():
        warnings.warn(
            f"dropped {int(missing.sum())} of {len(frame)} rows of {path}: "
            f"their target {target!r} is missing",
            stacklevel=3,
        )
        frame = frame[~missing]
    empty = [name for name in names if frame[name].isna().all()]
    if empty:
        raise ValueError(
            f"columns {empty} of {path} hold no values (all missing"
            f"{' where the target is present' if missing.any() else ''}): "
            "expected at least one value per column; drop them"
        )
    columns = tuple(_typed_column(frame[name], path) for name in names if name != target)
    return Table(columns=columns, target=_typed_column(frame[target], path))


def _typed_column(series: pd.Series[Any], path: Path) -> Column:
    """Decide whether ``series`` is numeric or categorical, and convert it."""
    pandas = _import_pandas()
    types = pandas.api.types
    name = str(series.name)
    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return Column(name, numeric=False, values=_as_categories(series))
    if types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype):
        return _numeric_column(name, series, path)
    if not (
        types.is_object_dtype(dtype)
        or types.is_string_dtype(dtype)
        or isinstance(dtype, pandas.CategoricalDtype)
    ):
        raise ValueError(
            f"column {name!r} of {path} has dtype {dtype}: expected numbers, text, "
            "categories or booleans; convert or drop it"
        )
    present = series.notna().to_numpy()
    if all(isinstance(value, (bool, np.bool_)) for value in series[present]):
        return Column(name, numeric=False, values=_as_categories(series))  # booleans with gaps
    parsed = pandas.to_numeric(series.astype(object), errors="coerce")
    parses = parsed.notna().to_numpy() & present
    n_present, n_parses = int(present.sum()), int(parses.sum())
    if n_parses == n_present:
        return _numeric_column(name, parsed, path)
    if n_parses >= _NUMERIC_SHARE * n_present:
        bad = present & ~parses
        label = series.index[int(np.argmax(bad))]
        raise ValueError(
            f"column {name!r} of {path} is mostly numeric ({n_parses} of {n_present} values) "
            f"but data row {label + 1} holds {series.loc[label]!r}: expected a number "
            f"({int(bad.sum())} value(s) do not parse; fix them or leave them empty)"
        )
    return Column(name, numeric=False, values=_as_categories(series))


def _numeric_column(name: str, series: pd.Series[Any], path: Path) -> Column:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        label = series.index[int(np.argmax(infinite))]
        raise ValueError(
            f"column {name!r} of {path} holds {values[np.argmax(infinite)]} at data row "
            f"{label + 1}: expected a finite number"
        )
    return Column(name, numeric=True, values=values)


def _as_categories(series: pd.Series[Any]) -> np.ndarray:
    present = series.notna().to_numpy()
    values = np.full(len(series), None, dtype=object)
    values[present] = series[present].astype(object).astype(str).to_numpy(dtype=object)
    return values


def target_classes(
    target: Column, n_rows: int, path: Path, task: str | None = None
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Encode the target: class indices and names, or float values and ``None`` (regression).

    ``task`` ``"classification"`` or ``"regression"`` decides; None infers it: a non-numeric
    target is a class label, and so is an integer-valued numeric target with at most 20
    distinct values, fewer than half the number of rows; any other numeric target is a
    quantity to regress.

    Raises:
        ValueError: The target holds one distinct value, or text with task "regression".
    """
    distinct = np.unique(target.values)
    if len(distinct) < 2:
        raise ValueError(
            f"target column {target.name!r} of {path} has a single class {distinct[0]!r}: "
            "expected at least 2 classes or distinct values"
        )
    if not target.numeric:
        if task == "regression":
            raise ValueError(
                f"target column {target.name!r} of {path} holds text (e.g. {distinct[0]!r}): "
                "task 'regression' needs numbers; expected task 'classification'")
        names = tuple(str(value) for value in distinct)
        return np.searchsorted(distinct, target.values).astype(np.int64), names
    values = target.values
    is_integer = bool(np.all(values == np.round(values)))
    if task is None:
        classify = (is_integer and len(distinct) <= _MAX_INTEGER_CLASSES
                    and len(distinct) < 0.5 * n_rows)
    else:
        classify = task == "classification"
    if classify:
        names = tuple(str(int(value)) if is_integer else str(value) for value in distinct)
        return np.searchsorted(distinct, values).astype(np.int64), names
    return values.astype(np.float64), None


@dataclasses.dataclass(frozen=True)
class ColumnEncoder:
    """Turn one column into features with statistics of the training rows.

    A numeric column has its missing values filled with the training median, then is
    standardized with the training mean and standard deviation (1 for a constant column). A
    categorical column has missing values filled with the most frequent training category
    (the first in sorted order on a tie), then is one-hot encoded over the training categories;
    a category never seen in training encodes as all zeros.

    Example:
        >>> column = Column("size", numeric=True, values=np.array([1.0, np.nan, 3.0]))
        >>> encoder = ColumnEncoder.fit(column, np.array([0, 2]))
        >>> encoder.transform(column).ravel().tolist()
        [-1.0, 0.0, 1.0]
    """

    name: str
    numeric: bool
    fill: float | str | None
    categories: tuple[str, ...] = ()
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, column: Column, rows: np.ndarray) -> ColumnEncoder:
        """Learn fill value, categories or scale of ``column`` from the rows ``rows``."""
        values = column.values[rows]
        if column.numeric:
            present = values[~np.isnan(values)]
            fill = float(np.median(present)) if present.size else 0.0
            filled = np.where(np.isnan(values), fill, values)
            mean, std = float(filled.mean()), float(filled.std())
            # Summing equal floats can leave a rounding-sized std: that column is constant too.
            if std <= 1e-10 * abs(mean):
                std = 1.0
            return cls(column.name, numeric=True, fill=fill, mean=mean, std=std)
        present = values[np.array([value is not None for value in values], dtype=bool)]
        if not present.size:
            return cls(column.name, numeric=False, fill=None)
        categories, counts = np.unique(present.astype(str), return_counts=True)
        if len(categories) > _MANY_CATEGORIES:
            warnings.warn(
                f"column {column.name!r} has {len(categories)} categories in the training "
                f"rows and becomes as many one-hot features; drop it if it is an identifier",
                stacklevel=3,
            )
        return cls(
            column.name,
            numeric=False,
            fill=str(categories[int(np.argmax(counts))]),
            categories=tuple(str(category) for category in categories),
        )

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The names of the features this column becomes: itself, or ``"name=category"``."""
        if self.numeric:
            return (self.name,)
        return tuple(f"{self.name}={category}" for category in self.categories)

    def transform(self, column: Column, rows: np.ndarray | None = None) -> np.ndarray:
        """Return the features of ``column`` (of rows ``rows``), shape ``(n_rows, n_features)``."""
        values = column.values if rows is None else column.values[rows]
        if self.numeric:
            assert isinstance(self.fill, float)
            filled: np.ndarray = np.where(np.isnan(values), self.fill, values)
            return ((filled - self.mean) / self.std)[:, None]
        index = {category: i for i, category in enumerate(self.categories)}
        fill = str(self.fill)  # unused when there are no categories (then fill is None)
        codes = np.fromiter(
            (index.get(fill if value is None else str(value), -1) for value in values),
            dtype=np.int64,
            count=len(values),
        )
        features = np.zeros((len(values), len(self.categories)))
        known = codes >= 0
        features[np.flatnonzero(known), codes[known]] = 1.0
        return features
