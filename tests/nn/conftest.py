"""Datasets shared by the trainer tests (loaded once per test module)."""

from __future__ import annotations

import pytest

from hyperknob.nn import Dataset, load_dataset


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return load_dataset("iris", seed=0)


@pytest.fixture(scope="module")
def diabetes() -> Dataset:
    return load_dataset("diabetes", seed=0)
