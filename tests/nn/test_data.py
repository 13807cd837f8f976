"""The data layer: built-in datasets and files in, split and prepared float32 arrays out."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperknob.nn._data import BUILTIN_DATASETS, Dataset, Task, load_dataset
from hyperknob.nn._tabular import Column, ColumnEncoder

CLASSIFICATION_BUILTINS = [name for name in BUILTIN_DATASETS if name != "diabetes"]


def write_csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def all_splits(data: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)]


def original_rows(data: Dataset) -> list[np.ndarray]:
    """Recover each split's file rows from a regression target ``y = 0.5 + 1.5 * row``."""
    return [
        np.rint((y.astype(np.float64) * data.target_std + data.target_mean - 0.5) / 1.5).astype(
            int
        )
        for _, y in all_splits(data)
    ]


@pytest.fixture
def tiny_frame() -> pd.DataFrame:
    """20 rows: a numeric column with gaps, a categorical one with gaps, a row-coded target."""
    rows = np.arange(20)
    size = (rows * 7 % 11).astype(float) ** 1.5
    size[[2, 5, 11, 17]] = np.nan
    color = np.array(["red", "blue", "green", "red", "red"] * 4, dtype=object)
    color[[3, 8]] = None
    color[13] = "purple"  # a single row: absent from training under some seeds
    frame: pd.DataFrame = pd.DataFrame({"size": size, "color": color, "y": 0.5 + 1.5 * rows})
    return frame


# ---------------------------------------------------------------- built-in datasets


def test_digits_has_64_features_and_10_classes() -> None:
    data = load_dataset("digits")
    assert data.n_features == 64 and data.n_classes == 10
    assert data.class_names == tuple(str(digit) for digit in range(10))
    assert data.task == "classification"  # a str enum: plain strings compare equal
    assert data.task is Task.CLASSIFICATION
    assert data.n_train + len(data.y_val) + len(data.y_test) == 1797
    assert (len(data.y_val), len(data.y_test)) == (270, 270)  # 15% of 1797, rounded
    assert data.feature_names[:2] == ("pixel_0_0", "pixel_0_1")


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_builtins_give_prepared_arrays(name: str) -> None:
    data = load_dataset(name, seed=3)
    for x, y in all_splits(data):
        assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == data.n_features
        assert y.shape == (x.shape[0],)
        assert np.isfinite(x).all()
    if name == "diabetes":
        assert data.task is Task.REGRESSION and data.n_classes is None
        assert data.y_train.dtype == np.float32
        assert abs(data.y_train.mean()) < 1e-5 and data.y_train.std() == pytest.approx(1, 1e-5)
    else:
        assert data.task is Task.CLASSIFICATION and data.y_train.dtype == np.int64
        assert set(np.unique(data.y_train)) == set(range(data.n_classes or 0))
    varying = data.x_train.std(axis=0) > 0  # digits has blank pixels: constant, so all zeros
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=0)[varying], 1, rtol=1e-4)
    assert not data.x_train[:, ~varying].any()
    summary = data.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["task"] == data.task.value and summary["n_train"] == data.n_train


def test_builtin_sizes_and_names() -> None:
    assert load_dataset("iris").class_names == ("setosa", "versicolor", "virginica")
    assert load_dataset("moons").n_features == 2
    assert load_dataset("circles").summary()["n_test"] == 150
    classification = load_dataset("classification")
    assert (classification.n_features, classification.n_classes) == (20, 3)
    assert classification.n_train == 1400


def test_synthetic_builtins_follow_the_seed() -> None:
    a, b, c = (load_dataset("moons", seed=seed) for seed in (4, 4, 5))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape == c.x_train.shape and not np.array_equal(a.x_train, c.x_train)


def test_builtin_with_a_target_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"built-in dataset 'iris'.*got target='species'"):
        load_dataset("iris", target="species")


def test_pandas_and_sklearn_load_only_when_used() -> None:
    code = "import sys, hyperknob.nn._data; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "'pandas'" not in loaded and "'sklearn'" not in loaded


# ---------------------------------------------------------------- splitting


@pytest.mark.parametrize("name", ["iris", "wine", "digits", "breast_cancer", "classification"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_keeps_class_proportions(name: str, seed: int) -> None:
    data = load_dataset(name, seed=seed, val_fraction=0.2, test_fraction=0.25)
    k = data.n_classes or 0
    totals = np.bincount(np.concatenate([y for _, y in all_splits(data)]), minlength=k)
    n = int(totals.sum())
    counts = {
        split: np.bincount(y, minlength=k)
        for split, (_, y) in zip(("train", "val", "test"), all_splits(data), strict=True)
    }
    # Test is drawn from all rows; validation from what test leaves: each within one row of
    # its class's share of the rows it was drawn from.
    n_test = len(data.y_test)
    assert np.abs(counts["test"] - totals * n_test / n).max() < 1
    rest = totals - counts["test"]
    for split in ("train", "val"):
        size = counts[split].sum()
        assert np.abs(counts[split] - rest * size / (n - n_test)).max() < 1


def test_same_seed_same_split_other_seed_other_split(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 7, "y": np.arange(60) % 3})
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    for source in ("wine", str(path)):
        target = None if source == "wine" else "y"
        first, again, other = (
            load_dataset(source, target=target, seed=seed) for seed in (11, 11, 12)
        )
        for (x1, y1), (x2, y2) in zip(all_splits(first), all_splits(again), strict=True):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
        assert not np.array_equal(first.x_test, other.x_test)


def test_fractions_set_split_sizes() -> None:
    data = load_dataset("breast_cancer", val_fraction=0.1, test_fraction=0.3)
    assert (data.n_train, len(data.y_val), len(data.y_test)) == (341, 57, 171)


def test_max_rows_subsamples_by_class_under_the_seed() -> None:
    full = load_dataset("digits")
    shares = np.bincount(np.concatenate([y for _, y in all_splits(full)])) / 1797
    data = load_dataset("digits", max_rows=500, seed=7)
    labels = np.concatenate([y for _, y in all_splits(data)])
    assert len(labels) == 500
    assert np.abs(np.bincount(labels, minlength=10) - shares * 500).max() < 1
    again = load_dataset("digits", max_rows=500, seed=7)
    np.testing.assert_array_equal(data.x_train, again.x_train)
    regression = load_dataset("diabetes", max_rows=100)
    assert regression.n_train + len(regression.y_val) + len(regression.y_test) == 100
    assert load_dataset("iris", max_rows=10_000).n_train == load_dataset("iris").n_train


# ---------------------------------------------------------------- files: preparation


def test_standardization_and_imputation_use_training_rows_only(
    tmp_path: Path, tiny_frame: pd.DataFrame
) -> None:
    path = tmp_path / "tiny.csv"
    tiny_frame.to_csv(path, index=False)
    data = load_dataset(str(path), target="y", seed=1)
    assert data.task is Task.REGRESSION and data.name == str(path)
    assert data.feature_names[0] == "size"
    train_rows, *_ = rows = original_rows(data)
    assert sorted(np.concatenate(rows).tolist()) == list(range(20))

    size = tiny_frame["size"].to_numpy()
    median = np.nanmedian(size[train_rows])
    filled = np.where(np.isnan(size), median, size)
    mean, std = filled[train_rows].mean(), filled[train_rows].std()
    assert not np.isclose(mean, filled.mean())  # else the check below proves nothing
    for (x, _), split_rows in zip(all_splits(data), rows, strict=True):
        np.testing.assert_allclose(x[:, 0], (filled[split_rows] - mean) / std, rtol=1e-5)
    assert abs(data.x_train[:, 0].mean()) < 1e-6
    assert data.x_train[:, 0].std() == pytest.approx(1, rel=1e-5)


def test_one_hot_categories_come_from_training_rows(
    tmp_path: Path, tiny_frame: pd.DataFrame
) -> None:
    path = tmp_path / "tiny.csv"
    tiny_frame.to_csv(path, index=False)
    color = tiny_frame["color"].to_numpy()
    for seed in range(20):
        data = load_dataset(str(path), target="y", seed=seed)
        if "color=purple" not in data.feature_names:
            break
    else:
        pytest.fail("the purple row went to training under every seed")
    train_rows, *_ = rows = original_rows(data)
    assert data.feature_names[1:] == ("color=blue", "color=green", "color=red")
    present = [value for value in color[train_rows] if isinstance(value, str)]
    values, counts = np.unique(present, return_counts=True)
    mode = values[np.argmax(counts)]
    for (x, _), split_rows in zip(all_splits(data), rows, strict=True):
        for features, row in zip(x[:, 1:], split_rows, strict=True):
            value = color[row] if isinstance(color[row], str) else mode  # missing -> mode
            expected = [float(value == name) for name in ("blue", "green", "red")]
            assert features.tolist() == expected, (row, value)
    assert 13 not in train_rows  # the purple row: all zeros, checked above


def test_bool_and_text_columns_are_one_hot(tmp_path: Path) -> None:
    text = "flag,kind,y\n" + "".join(
        f"{'True' if i % 2 else 'False'},{'ab'[i % 3 == 0]},{i % 2}\n" for i in range(30)
    )
    data = load_dataset(str(write_csv(tmp_path, text)), target="y")
    assert data.feature_names == ("flag=False", "flag=True", "kind=a", "kind=b")
    x = np.concatenate([x for x, _ in all_splits(data)])
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(x[:, 0] + x[:, 1], 1)


def test_bool_column_with_gaps_is_one_hot(tmp_path: Path) -> None:
    text = "flag,y\n" + "".join(f"{['True', 'False', ''][i % 3]},{i % 2}\n" for i in range(30))
    data = load_dataset(str(write_csv(tmp_path, text)), target="y")
    assert data.feature_names == ("flag=False", "flag=True")


def test_mostly_text_column_with_numbers_is_categorical(tmp_path: Path) -> None:
    text = "code,v,y\n" + "".join(f"{['1', '2', 'other'][i % 3]},{i},{i % 2}\n" for i in range(30))
    data = load_dataset(str(write_csv(tmp_path, text)), target="y")
    assert data.feature_names == ("code=1", "code=2", "code=other", "v")


def test_numbers_stored_as_text_are_numeric(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [str(i / 2) for i in range(30)], "y": np.arange(30) % 2})
    frame.to_parquet(tmp_path / "text.parquet")
    data = load_dataset(str(tmp_path / "text.parquet"), target="y")
    assert data.feature_names == ("a",)


def test_many_categories_warn(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(300)], "y": np.arange(300) % 2})
    frame.to_csv(tmp_path / "ids.csv", index=False)
    with pytest.warns(UserWarning, match=r"column 'id' has \d+ categories") as caught:
        load_dataset(str(tmp_path / "ids.csv"), target="y")
    assert caught[0].filename == __file__  # points at the caller of load_dataset


# ---------------------------------------------------------------- files: the target


@pytest.mark.parametrize(
    ("values", "task", "class_names"),
    [
        (np.arange(40) % 3, Task.CLASSIFICATION, ("0", "1", "2")),
        ((np.arange(40) % 4) * 10.0, Task.CLASSIFICATION, ("0", "10", "20", "30")),
        (np.array(["no", "yes"] * 20, dtype=object), Task.CLASSIFICATION, ("no", "yes")),
        (np.array([True, False] * 20), Task.CLASSIFICATION, ("False", "True")),
        (np.arange(40) % 25, Task.REGRESSION, None),  # 25 distinct integers: more than 20
        (np.arange(40) % 20, Task.REGRESSION, None),  # 20 distinct in 40 rows: not < 50%
        (np.arange(40) * 0.5, Task.REGRESSION, None),  # not integer-valued
    ],
)
def test_task_follows_the_target(
    tmp_path: Path, values: np.ndarray, task: Task, class_names: tuple[str, ...] | None
) -> None:
    frame = pd.DataFrame({"x": np.linspace(0, 1, 40), "target": values})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = load_dataset(str(tmp_path / "t.csv"), target="target")
    assert data.task is task and data.class_names == class_names
    assert data.target_name == "target"
    if task is Task.REGRESSION:
        y = np.concatenate([y for _, y in all_splits(data)]).astype(np.float64)
        np.testing.assert_allclose(
            np.sort(y * data.target_std + data.target_mean), np.sort(values), atol=1e-5
        )
        assert abs(data.y_train.mean()) < 1e-5
        assert data.y_train.std() == pytest.approx(1, rel=1e-5)


def test_regression_target_scaled_with_training_statistics(
    tmp_path: Path, tiny_frame: pd.DataFrame
) -> None:
    tiny_frame.to_csv(tmp_path / "tiny.csv", index=False)
    data = load_dataset(str(tmp_path / "tiny.csv"), target="y", seed=2)
    train_rows = original_rows(data)[0]
    y = tiny_frame["y"].to_numpy()
    assert data.target_mean == pytest.approx(y[train_rows].mean())
    assert data.target_std == pytest.approx(y[train_rows].std())
    np.testing.assert_allclose(
        data.y_test, (y[original_rows(data)[2]] - data.target_mean) / data.target_std, rtol=1e-5
    )


def test_rows_without_target_are_dropped_with_a_warning(tmp_path: Path) -> None:
    text = "a,y\n" + "".join(f"{i},{'' if i in (3, 9) else i % 2}\n" for i in range(30))
    message = r"dropped 2 of 30 rows .* target 'y' is missing"
    with pytest.warns(UserWarning, match=message) as caught:
        data = load_dataset(str(write_csv(tmp_path, text)), target="y")
    assert caught[0].filename == __file__
    assert data.n_train + len(data.y_val) + len(data.y_test) == 28


# ---------------------------------------------------------------- Parquet


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_round_trip_matches_csv(
    tmp_path: Path, tiny_frame: pd.DataFrame, suffix: str
) -> None:
    tiny_frame.to_csv(tmp_path / "tiny.csv", index=False)
    tiny_frame.to_parquet(tmp_path / f"tiny{suffix}")
    from_csv = load_dataset(str(tmp_path / "tiny.csv"), target="y", seed=5)
    from_parquet = load_dataset(str(tmp_path / f"tiny{suffix}"), target="y", seed=5)
    assert from_parquet.feature_names == from_csv.feature_names
    for (x1, y1), (x2, y2) in zip(all_splits(from_csv), all_splits(from_parquet), strict=True):
        np.testing.assert_allclose(x1, x2, rtol=1e-6)
        np.testing.assert_allclose(y1, y2, rtol=1e-6)


def test_parquet_categorical_dtype(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "shade": pd.Categorical(["dark", "light", "dark"] * 10),
            "y": pd.Categorical(["a", "b"] * 15),
        }
    )
    frame.to_parquet(tmp_path / "cat.parquet")
    data = load_dataset(str(tmp_path / "cat.parquet"), target="y")
    assert data.feature_names == ("shade=dark", "shade=light")
    assert data.class_names == ("a", "b")


def test_parquet_without_pyarrow_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pd.DataFrame({"a": [1.0], "y": [1]}).to_parquet(tmp_path / "x.parquet")

    def no_engine(*args: Any, **kwargs: Any) -> None:
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        load_dataset(str(tmp_path / "x.parquet"), target="y")


# ---------------------------------------------------------------- errors


def test_unknown_builtin_lists_the_names() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'digts'.*digits, iris, wine"):
        load_dataset("digts")


@pytest.mark.parametrize("source", ["missing.csv", "nowhere/data"])
def test_missing_file(tmp_path: Path, source: str) -> None:
    with pytest.raises(ValueError, match="no such file"):
        load_dataset(str(tmp_path / source), target="y")


def test_directory_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory"):
        load_dataset(str(tmp_path), target="y")
    write_csv(tmp_path, "a,y\n1,2\n", name="data.xlsx")
    with pytest.raises(ValueError, match=r"suffix '\.xlsx': expected a \.csv, \.parquet"):
        load_dataset(str(tmp_path / "data.xlsx"), target="y")


def test_target_is_required_and_must_exist(tmp_path: Path) -> None:
    path = str(write_csv(tmp_path, "alpha,beta\n1,2\n"))
    with pytest.raises(ValueError, match=r"target= is required .*\['alpha', 'beta'\]"):
        load_dataset(path)
    with pytest.raises(
        ValueError,
        match=r"target column 'gamma' is not in .*data\.csv; available columns: "
        r"\['alpha', 'beta'\]",
    ):
        load_dataset(path, target="gamma")


def test_target_with_one_class(tmp_path: Path) -> None:
    text = "a,y\n" + "".join(f"{i},spam\n" for i in range(30))
    with pytest.raises(ValueError, match=r"target column 'y' .* single class 'spam'"):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_typo_in_a_numeric_column_names_column_value_and_row(tmp_path: Path) -> None:
    values = [str(i / 2) for i in range(20)]
    values[6] = "abc"
    text = "price,y\n" + "".join(f"{value},{i % 2}\n" for i, value in enumerate(values))
    with pytest.raises(
        ValueError,
        match=r"column 'price' of .*data\.csv is mostly numeric \(19 of 20 values\) but data "
        r"row 7 holds 'abc': expected a number",
    ):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_infinite_value(tmp_path: Path) -> None:
    text = "a,y\n" + "".join(f"{'inf' if i == 4 else i},{i % 2}\n" for i in range(20))
    with pytest.raises(ValueError, match=r"column 'a' .* holds inf at data row 5"):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_date_column_is_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=20), "y": [0, 1] * 10})
    frame.to_parquet(tmp_path / "dates.parquet")
    with pytest.raises(ValueError, match=r"column 'when' .* has dtype datetime64"):
        load_dataset(str(tmp_path / "dates.parquet"), target="y")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"data\.csv is empty: expected a header row"),
        ("\n\n", r"data\.csv is empty"),
        ("a,y\n", r"data\.csv has a header but no rows"),
        ("y\n1\n2\n", r"holds only the target column 'y'"),
    ],
)
def test_empty_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_all_missing_columns_are_named(tmp_path: Path) -> None:
    text = "a,b,c,y\n" + "".join(f"{i},,,{i % 2}\n" for i in range(20))
    with pytest.raises(ValueError, match=r"columns \['b', 'c'\] .* hold no values"):
        load_dataset(str(write_csv(tmp_path, text)), target="y")
    text = "a,y\n" + "".join(f"{i},\n" for i in range(20))
    with pytest.raises(ValueError, match=r"target column 'y' .* holds no values"):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_too_few_rows_for_the_split(tmp_path: Path) -> None:
    text = "a,y\n" + "".join(f"{i},{i * 1.5}\n" for i in range(8))
    with pytest.raises(ValueError, match=r"has 8 rows: too few .*at least 2 rows per split"):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_class_too_small_for_stratification(tmp_path: Path) -> None:
    labels = ["a"] * 20 + ["b"] * 20 + ["c"] * 2
    text = "x,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    with pytest.raises(ValueError, match=r"class 'c' of target 'y' .* has 2 row\(s\)"):
        load_dataset(str(write_csv(tmp_path, text)), target="y")


def test_max_rows_too_small_names_max_rows() -> None:
    with pytest.raises(ValueError, match=r"iris \(after max_rows=12\)"):
        load_dataset("iris", max_rows=12)


def test_invalid_files_name_the_path(tmp_path: Path) -> None:
    ragged = write_csv(tmp_path, "a,y\n1,2\n1,2,3,4\n")
    with pytest.raises(ValueError, match=r"data\.csv is not a valid CSV file"):
        load_dataset(str(ragged), target="y")
    (tmp_path / "bad.parquet").write_text("not parquet at all")
    with pytest.raises(ValueError, match=r"bad\.parquet is not a valid Parquet file"):
        load_dataset(str(tmp_path / "bad.parquet"), target="y")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"val_fraction": 0.0}, r"'val_fraction' must be > 0 and < 1, got val_fraction=0\.0"),
        ({"test_fraction": 1.0}, r"'test_fraction' must be > 0 and < 1"),
        ({"test_fraction": -0.1}, r"'test_fraction' must be > 0 and < 1"),
        ({"val_fraction": math.nan}, r"'val_fraction' must be > 0 and < 1"),
        (
            {"val_fraction": 0.5, "test_fraction": 0.5},
            r"'val_fraction' \+ 'test_fraction' must be < 1.*val_fraction=0\.5, test_fraction",
        ),
        ({"seed": -1}, r"'seed' must be an integer in \[0, 2\*\*32 - 1\], got seed=-1"),
        ({"seed": 1.5}, r"'seed' must be an integer"),
        ({"max_rows": 0}, r"max_rows must be an int >= 1 or None, got max_rows=0"),
    ],
)
def test_arguments_out_of_range(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_dataset("iris", **kwargs)


def test_dataset_checks_its_shapes() -> None:
    x, y = np.zeros((4, 2), np.float32), np.zeros(4, np.int64)
    with pytest.raises(ValueError, match=r"x_val must have shape \(n_rows, 2\)"):
        Dataset("d", Task.CLASSIFICATION, x, y, x[:, :1], y, x, y, ("a", "b"), ("0", "1"), "t")
    with pytest.raises(ValueError, match=r"y_test must have shape \(4,\)"):
        Dataset("d", Task.CLASSIFICATION, x, y, x, y, x, y[:3], ("a", "b"), ("0", "1"), "t")


# ---------------------------------------------------------------- the column encoder


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=2, max_size=40))
def test_numeric_encoding_standardizes_training_rows(values: list[float | None]) -> None:
    raw = np.array([np.nan if value is None else value for value in values])
    column = Column("v", numeric=True, values=raw)
    train = np.arange(0, len(values), 2)
    encoder = ColumnEncoder.fit(column, train)
    features = encoder.transform(column, train)[:, 0]
    assert np.isfinite(encoder.transform(column)).all()
    assert abs(features.mean()) < 1e-6
    assert features.std() == pytest.approx(1, rel=1e-4) or np.allclose(features, 0, atol=1e-6)
    present = raw[train][~np.isnan(raw[train])]
    if present.size:
        assert encoder.fill == np.median(present)
