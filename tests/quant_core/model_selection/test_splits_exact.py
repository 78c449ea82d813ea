"""Hand-worked small cases with literal index arrays.

Panels are sorted by (date, asset), so row = n_assets * date_position + asset.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from quant_core.model_selection import (
    CombinatorialPurgedKFold,
    Holdout,
    PurgedKFold,
    Rolling,
    WalkForward,
)

DAY = np.timedelta64(1, "D")


def panel(n_dates=10, horizons=(2, 2)):
    """Consecutive calendar days; asset a's label ends horizons[a] days after the row's date."""
    days = np.datetime64("2024-01-01") + np.arange(n_dates) * DAY
    dates = np.repeat(days, len(horizons))
    label_end = dates + np.tile(np.asarray(horizons), n_dates) * DAY
    return dates, label_end


def r(*ranges):
    """Concatenate inclusive ranges (a, b) into an int64 array."""
    return np.concatenate([np.arange(a, b + 1) for a, b in ranges]).astype(np.int64)


def assert_folds(splitter, dates, label_end, expected):
    got = list(splitter.split(dates, label_end))
    assert len(got) == len(expected) == splitter.get_n_splits()
    for i, ((train, test), (e_train, e_test)) in enumerate(zip(got, expected)):
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert train.tolist() == list(e_train), f"split {i} train"
        assert test.tolist() == list(e_test), f"split {i} test"


def test_purged_kfold_horizon_2_embargo_1():
    # 10 dates x 2 assets, label = next 2 days, 5 folds of 2 dates. A test fold's labels reach 2
    # days past it, so the 2 dates after it are purged (embargo 1 falls inside the purge), and the
    # 2 dates before it are purged because their labels reach into it.
    dates, label_end = panel(10, (2, 2))
    expected = [
        (r((8, 19)), r((0, 3))),
        (r((12, 19)), r((4, 7))),
        (r((0, 3), (16, 19)), r((8, 11))),
        (r((0, 7)), r((12, 15))),
        (r((0, 11)), r((16, 19))),
    ]
    assert_folds(PurgedKFold(n_splits=5, embargo_days=1), dates, label_end, expected)
    table = PurgedKFold(5, 1).describe(dates, label_end)
    assert table["n_purged"].to_list() == [4, 8, 8, 8, 4]
    assert table["n_embargoed"].to_list() == [0, 0, 0, 0, 0]


def test_purged_kfold_partial_purge_and_embargo():
    # asset 0: label ends on its date; asset 1: one day later. Embargo 2 dates.
    # fold 1 (dates 2-3): only row 3 (date 1, asset 1, label ends on date 2) is purged before
    # the fold; date 4 is purged (asset 1 of date 3 ends on day 4); date 5 is embargoed.
    dates, label_end = panel(10, (0, 1))
    expected = [
        (r((8, 19)), r((0, 3))),
        (r((0, 2), (12, 19)), r((4, 7))),
        (r((0, 6), (16, 19)), r((8, 11))),
        (r((0, 10)), r((12, 15))),
        (r((0, 14)), r((16, 19))),
    ]
    cv = PurgedKFold(n_splits=5, embargo_days=2)
    assert_folds(cv, dates, label_end, expected)
    table = cv.describe(dates, label_end)
    assert table.columns == [
        "split",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "n_train",
        "n_test",
        "n_purged",
        "n_embargoed",
        "n_train_dates",
        "n_test_dates",
    ]
    assert table["n_purged"].to_list() == [2, 3, 3, 3, 1]
    assert table["n_embargoed"].to_list() == [2, 2, 2, 2, 0]
    assert table["n_train"].to_list() == [12, 11, 11, 11, 15]
    assert table["n_test_dates"].to_list() == [2] * 5
    assert table["n_train_dates"].to_list() == [6, 6, 6, 6, 8]
    assert table.row(1, named=True)["train_start"] == dt.date(2024, 1, 1)
    assert table.row(1, named=True)["train_end"] == dt.date(2024, 1, 10)
    assert table.row(0, named=True)["test_end"] == dt.date(2024, 1, 2)
    assert table.schema["test_start"] == pl.Date


def test_unsorted_rows_give_the_same_rows():
    dates, label_end = panel(10, (0, 1))
    perm = np.random.default_rng(3).permutation(len(dates))
    cv = PurgedKFold(n_splits=5, embargo_days=2)
    sorted_folds = list(cv.split(dates, label_end))
    for (train, test), (s_train, s_test) in zip(
        cv.split(dates[perm], label_end[perm]), sorted_folds
    ):
        assert np.all(np.diff(train) > 0)
        assert sorted(perm[train].tolist()) == s_train.tolist()
        assert sorted(perm[test].tolist()) == s_test.tolist()


def test_accepts_polars_pandas_and_lists():
    dates, label_end = panel(10, (2, 2))
    expected = [tuple(a.tolist() for a in f) for f in PurgedKFold(5, 1).split(dates, label_end)]
    inputs = [
        (pl.Series(dates), pl.Series(label_end)),
        (pd.Series(dates), pd.Series(label_end)),
        (dates.astype(str).tolist(), label_end.astype(str).tolist()),
        (dates.astype("datetime64[ns]"), label_end.astype("datetime64[ns]")),
    ]
    for d, e in inputs:
        got = [tuple(a.tolist() for a in f) for f in PurgedKFold(5, 1).split(d, e)]
        assert got == expected


def test_walk_forward_equal_blocks_after_min_train():
    # 6 dates after the first 4 -> three test blocks of 2 dates; train rows whose 2-day label
    # reaches the test block (the 2 dates just before it) are purged.
    dates, label_end = panel(10, (2, 2))
    expected = [
        (r((0, 3)), r((8, 11))),
        (r((0, 7)), r((12, 15))),
        (r((0, 11)), r((16, 19))),
    ]
    assert_folds(WalkForward(n_splits=3, min_train_days=4), dates, label_end, expected)


def test_walk_forward_fixed_test_days_anchored_at_the_end():
    dates, label_end = panel(10, (2, 2))
    expected = [
        (r((0, 9)), r((14, 15))),
        (r((0, 11)), r((16, 17))),
        (r((0, 13)), r((18, 19))),
    ]
    assert_folds(WalkForward(3, min_train_days=4, test_days=1), dates, label_end, expected)


def test_walk_forward_remainder_joins_first_train_window():
    dates, label_end = panel(11, (0,))
    folds = list(WalkForward(n_splits=3, min_train_days=4).split(dates, label_end))
    assert [f[1].tolist() for f in folds] == [[5, 6], [7, 8], [9, 10]]
    assert folds[0][0].tolist() == [0, 1, 2, 3, 4]


def test_rolling_fixed_window():
    dates, label_end = panel(10, (0, 0))
    expected = [
        (r((6, 11)), r((12, 15))),
        (r((10, 15)), r((16, 19))),
    ]
    assert_folds(Rolling(n_splits=2, train_days=3, test_days=2), dates, label_end, expected)


def test_holdout_last_fraction_of_dates():
    dates, label_end = panel(10, (2, 2))
    assert_folds(Holdout(test_fraction=0.3), dates, label_end, [(r((0, 9)), r((14, 19)))])
    assert Holdout(0.25).n_test_dates(10) == 3  # rounded up to whole dates


def test_cpcv_horizon_1_embargo_1():
    # 8 dates x 1 asset, 4 groups of 2 dates, label ends the next day.
    dates, label_end = panel(8, (1,))
    expected = [
        ([5, 6, 7], [0, 1, 2, 3]),  # groups (0, 1)
        ([7], [0, 1, 4, 5]),  # (0, 2): 2 purged after g0, 3 before g2, 6 after g2
        ([3, 4], [0, 1, 6, 7]),  # (0, 3)
        ([0, 7], [2, 3, 4, 5]),  # (1, 2)
        ([0], [2, 3, 6, 7]),  # (1, 3)
        ([0, 1, 2], [4, 5, 6, 7]),  # (2, 3)
    ]
    assert_folds(CombinatorialPurgedKFold(4, 2, embargo_days=1), dates, label_end, expected)


def test_cpcv_embargo_only():
    # labels end on their own date: nothing to purge, the embargo drops 1 date after each block
    dates, label_end = panel(8, (0,))
    expected = [
        ([5, 6, 7], [0, 1, 2, 3]),
        ([3, 7], [0, 1, 4, 5]),
        ([3, 4, 5], [0, 1, 6, 7]),
        ([0, 1, 7], [2, 3, 4, 5]),
        ([0, 1, 5], [2, 3, 6, 7]),
        ([0, 1, 2, 3], [4, 5, 6, 7]),
    ]
    cv = CombinatorialPurgedKFold(4, 2, embargo_days=1)
    assert_folds(cv, dates, label_end, expected)
    assert cv.describe(dates, label_end)["n_embargoed"].to_list() == [1, 2, 1, 1, 1, 0]


def test_cpcv_path_assignment_and_assembly():
    cv = CombinatorialPurgedKFold(n_splits=4, n_test_splits=2)
    assert cv.test_groups() == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert cv.n_paths == 3
    np.testing.assert_array_equal(cv.path_assignment(), [[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]])
    paths = cv.paths()
    assert paths.columns == ["path", "group", "split"] and paths.height == 12
    assert paths.filter(pl.col("path") == 1)["split"].to_list() == [1, 3, 3, 4]

    dates, label_end = panel(8, (0, 0))  # 16 rows, group g = rows 4g..4g+3
    np.testing.assert_array_equal(cv.group_ids(dates), np.repeat([0, 1, 2, 3], 4))
    preds = [100.0 * s + test for s, (_, test) in enumerate(cv.split(dates, label_end))]
    out = cv.assemble_paths(preds, dates)
    rows = np.arange(16)
    expected = 100.0 * cv.path_assignment()[:, rows // 4] + rows
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match=r"predictions\[2\] must have one value per test row"):
        cv.assemble_paths([p if i != 2 else p[:-1] for i, p in enumerate(preds)], dates)
    with pytest.raises(ValueError, match=r"one array per split \(6\), got 5"):
        cv.assemble_paths(preds[:5], dates)


def test_cpcv_assemble_keeps_extra_prediction_dims():
    cv = CombinatorialPurgedKFold(3, 1)
    dates, label_end = panel(6, (0,))
    preds = [np.stack([test, -test], axis=1) for _, test in cv.split(dates, label_end)]
    out = cv.assemble_paths(preds, dates)
    assert out.shape == (1, 6, 2)
    np.testing.assert_array_equal(out[0, :, 1], -np.arange(6))
