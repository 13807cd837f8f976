"""Datasets for the MLP trainer: a built-in name or a CSV/Parquet file in, prepared arrays out.

:func:`load_dataset` reads the data, splits it into train / validation / test under a seed
(stratified by class for classification), and prepares the features with statistics of the
training split only: missing values imputed, categories one-hot encoded, numbers standardized.
Nothing here needs torch; scikit-learn and pandas are imported only when used.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np

from hyperknob._checks import check_int, check_number
from hyperknob.nn._split import split_rows, subsample_rows
from hyperknob.nn._tabular import Column, ColumnEncoder, file_format, read_table, target_classes

__all__ = ["BUILTIN_DATASETS", "Dataset", "Task", "load_dataset"]

BUILTIN_DATASETS: tuple[str, ...] = (
    "digits",
    "iris",
    "wine",
    "breast_cancer",
    "diabetes",
    "moons",
    "circles",
    "classification",
)
_MAX_SEED = 2**32 - 1  # scikit-learn's random_state range


class Task(str, enum.Enum):
    """What the target is: a class label, or a quantity to regress."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Prepared train / validation / test arrays, and what they mean.

    Features are float32 of shape ``(n_rows, n_features)``. Targets are int64 class indices
    for classification, float32 for regression, standardized with the training split's mean
    and standard deviation (kept as ``target_mean`` and ``target_std`` to report metrics in
    original units: ``y * target_std + target_mean``).

    Example:
        >>> data = load_dataset("iris", seed=0)
        >>> data.n_features, data.n_classes, data.x_train.dtype
        (4, 3, dtype('float32'))
    """

    name: str
    task: Task
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    target_name: str
    target_mean: float = 0.0
    target_std: float = 1.0

    def __post_init__(self) -> None:
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2 or x.shape[1] != len(self.feature_names):
                raise ValueError(
                    f"x_{split} must have shape (n_rows, {len(self.feature_names)}) to match "
                    f"feature_names, got {x.shape}"
                )
            if y.shape != (x.shape[0],):
                raise ValueError(f"y_{split} must have shape ({x.shape[0]},), got {y.shape}")
        if (self.task == Task.CLASSIFICATION) != (self.class_names is not None):
            raise ValueError(
                f"class_names must be given exactly for classification, got task={self.task!r}"
                f" and class_names={self.class_names!r}"
            )

    @property
    def n_features(self) -> int:
        """The number of input features (columns of ``x_*``)."""
        return len(self.feature_names)

    @property
    def n_classes(self) -> int | None:
        """The number of classes, or ``None`` for regression."""
        return None if self.class_names is None else len(self.class_names)

    @property
    def n_train(self) -> int:
        """The number of training rows."""
        return int(self.x_train.shape[0])

    def subset(self, fraction: float, *, seed: int = 0) -> Dataset:
        """Return the dataset with a share of its training rows (each class keeping its share);
        validation and test rows unchanged -- the data-size fidelity of multi-fidelity search.

        Example:
            >>> load_dataset("iris", seed=0).subset(0.5).n_train
            52
        """
        check_number("fraction", fraction, above=0.0, most=1.0)
        if fraction == 1.0:
            return self
        labels = self.y_train if self.task == Task.CLASSIFICATION else None
        n_classes = self.n_classes or 1
        keep = max(round(fraction * self.n_train), n_classes, 1)
        rows = subsample_rows(self.n_train, labels, keep, seed)
        return dataclasses.replace(self, name=f"{self.name}[{fraction:g} of train]",
                                   x_train=self.x_train[rows], y_train=self.y_train[rows])

    def with_classes(self, classes: list[int] | tuple[int, ...]) -> Dataset:
        """Return the classification task restricted to some classes (indices into
        ``class_names``), relabelled 0..k-1 in the order given, in every split -- the article's
        "simplify the problem first" (e.g. two classes instead of ten).

        Example:
            >>> load_dataset("iris", seed=0).with_classes([0, 2]).class_names
            ('setosa', 'virginica')
        """
        if self.class_names is None:
            raise ValueError(f"with_classes() needs a classification dataset; {self.name!r} is "
                             "a regression task")
        k = len(self.class_names)
        if (len(classes) < 2 or len(set(classes)) != len(classes)
                or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < k
                       for c in classes)):
            raise ValueError(f"classes must be at least two distinct indices in [0, {k}), got "
                             f"{list(classes)!r}")
        relabel = np.full(k, -1, dtype=np.int64)
        relabel[list(classes)] = np.arange(len(classes))
        kept = [relabel[y] >= 0 for y in (self.y_train, self.y_val, self.y_test)]
        names = tuple(self.class_names[c] for c in classes)
        return dataclasses.replace(
            self, name=f"{self.name}[classes {', '.join(names)}]", class_names=names,
            x_train=self.x_train[kept[0]], y_train=relabel[self.y_train[kept[0]]],
            x_val=self.x_val[kept[1]], y_val=relabel[self.y_val[kept[1]]],
            x_test=self.x_test[kept[2]], y_test=relabel[self.y_test[kept[2]]])

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready record: name, task, target, rows per split and sizes."""
        return {
            "name": self.name,
            "task": self.task.value,
            "target": self.target_name,
            "n_train": self.n_train,
            "n_val": int(self.x_val.shape[0]),
            "n_test": int(self.x_test.shape[0]),
            "n_features": self.n_features,
            "n_classes": self.n_classes,
        }


def load_dataset(
    source: str | os.PathLike[str],
    *,
    target: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    max_rows: int | None = None,
    task: str | None = None,
) -> Dataset:
    """Load a built-in dataset or a CSV/Parquet file, split it and prepare its features.

    Args:
        source: A name in :data:`BUILTIN_DATASETS`, or the path of a ``.csv`` or ``.parquet``
            (``.pq``) file.
        target: The target column of a file; not allowed for a built-in dataset.
        seed: Seeds the synthetic built-ins, the subsample and the split.
        val_fraction: The share of rows in the validation split.
        test_fraction: The share of rows in the test split.
        max_rows: Keep at most this many rows (a stratified random subsample) before splitting.
        task: ``"classification"`` or ``"regression"`` for a file's target; None infers it
            (text or an integer target with at most 20 distinct values: classification).

    Returns:
        The prepared dataset; the same arguments give the same arrays.

    Raises:
        ValueError: An argument is out of range, the source is unknown or unreadable, or the
            data cannot be split or encoded; the message names the file, column and value.
        ImportError: scikit-learn, pandas or (for Parquet) pyarrow is missing.

    Example:
        >>> data = load_dataset("digits", seed=1)
        >>> data.x_train.shape[1], data.n_classes
        (64, 10)
    """
    _check_arguments(target, seed, val_fraction, test_fraction, max_rows)
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification', 'regression' or None (inferred from "
                         f"the target), got task={task!r}")
    seed = int(seed)  # NumPy integers too; scikit-learn and NumPy take either
    max_rows = None if max_rows is None else int(max_rows)
    name = os.fspath(source)
    if name in BUILTIN_DATASETS:
        if target is not None:
            raise ValueError(
                f"target= is only for files: built-in dataset {name!r} has a fixed target, "
                f"got target={target!r}"
            )
        columns, target_column, y, class_names = _load_builtin(name, seed)
        fixed = "regression" if class_names is None else "classification"
        if task not in (None, fixed):
            raise ValueError(f"built-in dataset {name!r} is a {fixed} task, got task={task!r}")
    else:
        path = _resolve_file(name)
        table = read_table(path, target)
        columns, target_column = table.columns, table.target.name
        y, class_names = target_classes(table.target, len(table.target.values), path, task)
    labels = None if class_names is None else y
    rows = subsample_rows(len(y), labels, max_rows, seed)
    context = f"{name}" + (f" (after max_rows={max_rows})" if len(rows) < len(y) else "")
    train, val, test = split_rows(
        rows, labels, class_names, target_column, seed, val_fraction, test_fraction, context
    )
    encoders: list[ColumnEncoder] = []
    for column in columns:  # a loop, not a comprehension: warnings point at the caller
        encoders.append(ColumnEncoder.fit(column, train))

    def features(split: np.ndarray) -> np.ndarray:
        parts = [
            encoder.transform(column, split)
            for encoder, column in zip(encoders, columns, strict=True)
        ]
        return np.concatenate(parts, axis=1).astype(np.float32)

    feature_names = tuple(feature for encoder in encoders for feature in encoder.feature_names)
    if class_names is None:
        target_mean, target_std = float(y[train].mean()), float(y[train].std())
        target_std = target_std if target_std > 1e-10 * abs(target_mean) else 1.0
        y = ((y - target_mean) / target_std).astype(np.float32)
    else:
        target_mean, target_std = 0.0, 1.0
    return Dataset(
        name=name,
        task=Task.REGRESSION if class_names is None else Task.CLASSIFICATION,
        x_train=features(train),
        y_train=y[train],
        x_val=features(val),
        y_val=y[val],
        x_test=features(test),
        y_test=y[test],
        feature_names=feature_names,
        class_names=class_names,
        target_name=target_column,
        target_mean=target_mean,
        target_std=target_std,
    )


def _check_arguments(
    target: object, seed: object, val_fraction: object, test_fraction: object, max_rows: object
) -> None:
    if target is not None and not isinstance(target, str):
        raise TypeError(f"'target' must be a column name (str) or None, got target={target!r}")
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) <= _MAX_SEED
    ):
        raise ValueError(f"'seed' must be an integer in [0, 2**32 - 1], got seed={seed!r}")
    for label, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float))
            or not 0 < fraction < 1
        ):
            raise ValueError(f"'{label}' must be > 0 and < 1, got {label}={fraction!r}")
    assert isinstance(val_fraction, (int, float)) and isinstance(test_fraction, (int, float))
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            "'val_fraction' + 'test_fraction' must be < 1 to leave training rows, got "
            f"val_fraction={val_fraction!r}, test_fraction={test_fraction!r}"
        )
    check_int("max_rows", max_rows, least=1, none_ok=True)


def _resolve_file(source: str) -> Path:
    path = Path(source).expanduser()
    kind = file_format(path)
    if not path.exists():
        if kind is None and os.sep not in source and "/" not in source:
            raise ValueError(
                f"unknown dataset {source!r}: expected a built-in name "
                f"({', '.join(BUILTIN_DATASETS)}) or the path of a .csv or .parquet file"
            )
        raise ValueError(f"no such file: {source!r} (expected an existing .csv or .parquet file)")
    if path.is_dir():
        raise ValueError(f"{source!r} is a directory: expected a .csv or .parquet file")
    if kind is None:
        raise ValueError(
            f"{source!r} has suffix {path.suffix!r}: expected a .csv, .parquet or .pq file"
        )
    return path


def _load_builtin(
    name: str, seed: int
) -> tuple[tuple[Column, ...], str, np.ndarray, tuple[str, ...] | None]:
    """Return feature columns, target name, target (indices or values) and class names."""
    try:
        from sklearn import datasets
    except ImportError as error:
        raise ImportError(
            f"built-in dataset {name!r} needs scikit-learn: pip install 'hyperknob[nn]'"
        ) from error
    synthetic: dict[str, Any] = {
        "moons": lambda: datasets.make_moons(n_samples=1000, noise=0.2, random_state=seed),
        "circles": lambda: datasets.make_circles(
            n_samples=1000, noise=0.1, factor=0.5, random_state=seed
        ),
        "classification": lambda: datasets.make_classification(
            n_samples=2000, n_features=20, n_informative=10, n_classes=3, random_state=seed
        ),
    }
    if name in synthetic:
        x, labels = synthetic[name]()
        feature_names = [f"x{j}" for j in range(x.shape[1])]
        target_name = "label"
        class_names: tuple[str, ...] | None = tuple(str(c) for c in np.unique(labels))
    else:
        loaders: dict[str, tuple[Any, str]] = {
            "digits": (datasets.load_digits, "digit"),
            "iris": (datasets.load_iris, "species"),
            "wine": (datasets.load_wine, "cultivar"),
            "breast_cancer": (datasets.load_breast_cancer, "diagnosis"),
            "diabetes": (lambda: datasets.load_diabetes(scaled=False), "disease_progression"),
        }
        loader, target_name = loaders[name]
        bunch = loader()
        x, labels, feature_names = bunch.data, bunch.target, list(bunch.feature_names)
        class_names = None if name == "diabetes" else tuple(str(c) for c in bunch.target_names)
    columns = tuple(
        Column(str(feature), numeric=True, values=np.asarray(x[:, j], dtype=np.float64))
        for j, feature in enumerate(feature_names)
    )
    dtype = np.float64 if class_names is None else np.int64
    return columns, target_name, np.asarray(labels, dtype=dtype), class_names
