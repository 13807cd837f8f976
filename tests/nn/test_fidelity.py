"""Lower fidelities of a dataset: fewer training rows, fewer classes."""

from __future__ import annotations

import numpy as np
import pytest

from hyperknob import nn


def test_subset_keeps_each_class_share_and_the_other_splits() -> None:
    data = nn.load_dataset("digits", seed=0)
    half = data.subset(0.25, seed=3)
    assert half.n_train == round(0.25 * data.n_train)
    share = np.bincount(half.y_train, minlength=10) / half.n_train
    np.testing.assert_allclose(share, np.bincount(data.y_train) / data.n_train, atol=0.01)
    assert half.x_val is data.x_val and half.x_test is data.x_test
    rows = {r.tobytes() for r in data.x_train}
    assert all(r.tobytes() in rows for r in half.x_train)  # rows of the training split
    again = data.subset(0.25, seed=3)
    np.testing.assert_array_equal(again.x_train, half.x_train)
    assert data.subset(1.0) is data
    assert nn.load_dataset("diabetes", seed=0).subset(0.5).n_train == 155
    for bad in (0.0, 1.5, True):
        with pytest.raises(ValueError, match=r"fraction must be a finite number > 0 and <= 1"):
            data.subset(bad)  # type: ignore[arg-type]


def test_with_classes_relabels_every_split() -> None:
    data = nn.load_dataset("digits", seed=0)
    pair = data.with_classes([3, 8])
    assert pair.class_names == ("3", "8") and pair.n_classes == 2
    for split in ("train", "val", "test"):
        y = getattr(pair, f"y_{split}")
        original = getattr(data, f"y_{split}")
        assert sorted(set(y.tolist())) == [0, 1]
        assert len(y) == int(np.isin(original, [3, 8]).sum())
    kept = data.x_train[data.y_train == 8]
    np.testing.assert_array_equal(pair.x_train[pair.y_train == 1], kept)
    with pytest.raises(ValueError, match="at least two distinct"):
        data.with_classes([1])
    with pytest.raises(ValueError, match="at least two distinct"):
        data.with_classes([1, 1, 2])
    with pytest.raises(ValueError, match=r"in \[0, 10\)"):
        data.with_classes([0, 10])
    with pytest.raises(ValueError, match="regression"):
        nn.load_dataset("diabetes").with_classes([0, 1])
