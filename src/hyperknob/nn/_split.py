"""Subsample and split rows under a seed, keeping each class's share."""

from __future__ import annotations

import math

import numpy as np


def subsample_rows(
    n: int, labels: np.ndarray | None, max_rows: int | None, seed: int
) -> np.ndarray:
    """Return the sorted indices of at most ``max_rows`` rows, each class keeping its share."""
    if max_rows is None or max_rows >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(n, size=max_rows, replace=False))
    counts = np.bincount(labels)
    exact = counts * max_rows / n
    quota = np.floor(exact).astype(np.int64)
    # Largest remainders first, so the quotas sum to max_rows (Hamilton's apportionment).
    quota[np.argsort(quota - exact, kind="stable")[: max_rows - int(quota.sum())]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=int(size), replace=False)
        for label, size in enumerate(quota)
    ]
    return np.sort(np.concatenate(chosen))


def split_rows(
    rows: np.ndarray,
    labels: np.ndarray | None,
    class_names: tuple[str, ...] | None,
    target_name: str,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    context: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``rows`` into train, validation and test indices, stratified when labelled.

    The split sizes are ``test_fraction`` and ``val_fraction`` of the rows, rounded; the rest
    trains. Two calls of scikit-learn's ``train_test_split`` under ``seed`` (test first, then
    validation from the rest) keep each class within about a row of its share in every split.

    Raises:
        ValueError: A split would hold fewer than 2 rows, fewer rows than classes, or a class
            has too few rows to appear in the splits; ``context`` names the data.
    """
    n = len(rows)
    n_test = math.floor(n * test_fraction + 0.5)
    n_val = math.floor(n * val_fraction + 0.5)
    n_train = n - n_val - n_test
    sizes = f"train/val/test = {n_train}/{n_val}/{n_test} rows"
    if min(n_train, n_val, n_test) < 2:
        raise ValueError(
            f"{context} has {n} rows: too few to split with val_fraction={val_fraction}, "
            f"test_fraction={test_fraction} ({sizes}); expected at least 2 rows per split"
        )
    stratify = None if labels is None else labels[rows]
    if stratify is not None and class_names is not None:
        counts = np.bincount(stratify, minlength=len(class_names))
        rarest = int(np.argmin(counts))
        if counts[rarest] < 3:
            raise ValueError(
                f"class {class_names[rarest]!r} of target {target_name!r} in {context} has "
                f"{counts[rarest]} row(s): a stratified train/val/test split needs at least 3 "
                "per class"
            )
        if min(n_train, n_val, n_test) < len(class_names):
            raise ValueError(
                f"{context} splits into {sizes}: stratifying {len(class_names)} classes needs "
                f"at least {len(class_names)} rows per split; use more rows or larger fractions"
            )
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(rows, test_size=n_test, stratify=stratify, random_state=seed)
    if stratify is None or labels is None or class_names is None:
        train, val = train_test_split(rest, test_size=n_val, random_state=seed)
        return np.asarray(train), np.asarray(val), np.asarray(test)
    counts = np.bincount(labels[rest], minlength=len(class_names))
    rarest = int(np.argmin(counts))
    if counts[rarest] < 2:
        raise ValueError(
            f"class {class_names[rarest]!r} of target {target_name!r} in {context} keeps "
            f"{counts[rarest]} row(s) after taking the test split: stratifying train and "
            "validation needs at least 2; lower test_fraction or use more rows"
        )
    train, val = train_test_split(rest, test_size=n_val, stratify=labels[rest], random_state=seed)
    return np.asarray(train), np.asarray(val), np.asarray(test)
