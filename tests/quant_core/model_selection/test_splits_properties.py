"""Property-based checks of every splitter against a plain O(n^2) reference on random panels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_core.model_selection import (
    CombinatorialPurgedKFold,
    Holdout,
    PurgedKFold,
    Rolling,
    WalkForward,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------------
# Reference implementation: the spec, written plainly (date layout per splitter, then brute-force
# purge and embargo over all row pairs).
# ----------------------------------------------------------------------------------------------
def reference_layout(splitter, n_dates):
    """List of (test date positions, train-eligible date positions) per split, or raise."""
    U = n_dates
    if isinstance(splitter, (PurgedKFold, CombinatorialPurgedKFold)):
        k = splitter.n_splits
        if U < k:
            raise ValueError("too few dates")
        groups, start = [], 0
        for g in range(k):
            size = U // k + (1 if g < U % k else 0)
            groups.append(list(range(start, start + size)))
            start += size
        if isinstance(splitter, PurgedKFold):
            combos = [(g,) for g in range(k)]
        else:
            import itertools

            combos = list(itertools.combinations(range(k), splitter.n_test_splits))
        out = []
        for combo in combos:
            test = sorted(p for g in combo for p in groups[g])
            out.append((test, [p for p in range(U) if p not in test]))
        return out
    if isinstance(splitter, Holdout):
        n_test = math.ceil(round(splitter.test_fraction * U, 9))
        n_test = max(1, n_test)
        if n_test >= U:
            raise ValueError("too few dates")
        return [(list(range(U - n_test, U)), list(range(U - n_test)))]
    warmup = splitter.min_train_days if isinstance(splitter, WalkForward) else splitter.train_days
    n = splitter.n_splits
    size = (U - warmup) // n if splitter.test_days is None else splitter.test_days
    if size < 1 or warmup + n * size > U:
        raise ValueError("too few dates")
    out = []
    for i in range(n):
        first = U - n * size + i * size
        test = list(range(first, first + size))
        lo = 0 if isinstance(splitter, WalkForward) else first - splitter.train_days
        out.append((test, list(range(lo, first))))
    return out


def reference_split(splitter, dates, label_end):
    """[(train_idx, test_idx, n_purged, n_embargoed)] by brute force."""
    udates = np.unique(dates)
    pos = np.searchsorted(udates, dates)
    out = []
    for test_pos, train_pos in reference_layout(splitter, len(udates)):
        test_rows = np.flatnonzero(np.isin(pos, test_pos))
        cand = np.flatnonzero(np.isin(pos, train_pos))
        # closed-interval overlap of [date, label_end] with every test row: all pairs
        overlap = (dates[cand][:, None] <= label_end[test_rows][None, :]) & (
            label_end[cand][:, None] >= dates[test_rows][None, :]
        )
        purged = overlap.any(axis=1)
        # embargo: within embargo_days calendar dates after some test date (hence after its block)
        gap = pos[cand][:, None] - np.asarray(test_pos)[None, :]
        embargoed = ((gap > 0) & (gap <= splitter.embargo_days)).any(axis=1)
        keep = ~purged & ~embargoed
        out.append((cand[keep], test_rows, int(purged.sum()), int((embargoed & ~purged).sum())))
    return out


# ----------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------
@st.composite
def panels(draw, max_dates=16, max_assets=4):
    """Random panel: unique dates with random gaps, 1..max_assets rows per date, per-row
    label_end = date + random horizon in calendar days; optionally shuffled / very wide span."""
    n_dates = draw(st.integers(1, max_dates))
    gaps = draw(st.lists(st.integers(1, 4), min_size=n_dates, max_size=n_dates))
    wide = draw(st.booleans())
    scale = 40_000 if wide else 1  # spans above 65k days exercise the np.unique path
    udays = np.datetime64("2001-01-01") + np.cumsum(np.asarray(gaps) * scale).astype(
        "timedelta64[D]"
    )
    per_date = draw(st.lists(st.integers(1, max_assets), min_size=n_dates, max_size=n_dates))
    dates = np.repeat(udays, per_date)
    max_h = draw(st.integers(0, 8))
    horizons = draw(st.lists(st.integers(0, max_h), min_size=len(dates), max_size=len(dates)))
    label_end = dates + np.asarray(horizons, dtype="timedelta64[D]") * scale
    if draw(st.booleans()):
        perm = np.asarray(draw(st.permutations(range(len(dates)))), dtype=np.int64)
        dates, label_end = dates[perm], label_end[perm]
    return dates, label_end


embargo = st.integers(0, 3)
splitters = st.one_of(
    st.builds(PurgedKFold, n_splits=st.integers(2, 6), embargo_days=embargo),
    st.integers(2, 5).flatmap(
        lambda n: st.builds(
            CombinatorialPurgedKFold,
            n_splits=st.just(n),
            n_test_splits=st.integers(1, n - 1),
            embargo_days=embargo,
        )
    ),
    st.builds(
        WalkForward,
        n_splits=st.integers(1, 4),
        min_train_days=st.integers(1, 6),
        embargo_days=embargo,
        test_days=st.none() | st.integers(1, 4),
    ),
    st.builds(
        Rolling,
        n_splits=st.integers(1, 4),
        train_days=st.integers(1, 6),
        embargo_days=embargo,
        test_days=st.none() | st.integers(1, 4),
    ),
    st.builds(Holdout, test_fraction=st.floats(0.05, 0.95), embargo_days=embargo),
)


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------
@SETTINGS
@given(panel=panels(), splitter=splitters)
def test_matches_brute_force_reference(panel, splitter):
    dates, label_end = panel
    try:
        expected = reference_split(splitter, dates, label_end)
    except ValueError:
        with pytest.raises(ValueError, match="unique dates"):
            splitter.split(dates, label_end)
        return
    got = list(splitter.split(dates, label_end))
    assert len(got) == len(expected) == splitter.get_n_splits()
    for (train, test), (e_train, e_test, _, _) in zip(got, expected):
        assert train.dtype == np.int64 and test.dtype == np.int64
        np.testing.assert_array_equal(train, e_train)
        np.testing.assert_array_equal(test, e_test)
    table = splitter.describe(dates, label_end)
    assert table["n_train"].to_list() == [len(e[0]) for e in expected]
    assert table["n_test"].to_list() == [len(e[1]) for e in expected]
    assert table["n_purged"].to_list() == [e[2] for e in expected]
    assert table["n_embargoed"].to_list() == [e[3] for e in expected]


@SETTINGS
@given(panel=panels(), splitter=splitters)
def test_no_shared_dates_no_label_overlap_embargo_respected(panel, splitter):
    dates, label_end = panel
    try:
        folds = list(splitter.split(dates, label_end))
    except ValueError:
        return
    udates = np.unique(dates)
    for train, test in folds:
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
        assert test.size > 0
        assert not set(dates[train].tolist()) & set(dates[test].tolist())
        # whole dates: every row of a test date is in the test set
        assert np.isin(dates, dates[test]).sum() == test.size
        for r in train:  # brute-force label overlap
            assert not np.any((dates[r] <= label_end[test]) & (label_end[r] >= dates[test]))
        test_pos = np.unique(np.searchsorted(udates, dates[test]))
        train_pos = np.searchsorted(udates, dates[train])
        for p in test_pos:
            last_of_block = p + 1 not in set(test_pos.tolist())
            if last_of_block:
                after = (train_pos > p) & (train_pos <= p + splitter.embargo_days)
                assert not after.any()


@SETTINGS
@given(panel=panels(), n_splits=st.integers(2, 6), embargo_days=embargo)
def test_kfold_tests_every_date_exactly_once(panel, n_splits, embargo_days):
    dates, label_end = panel
    if len(np.unique(dates)) < n_splits:
        return
    tests = [test for _, test in PurgedKFold(n_splits, embargo_days).split(dates, label_end)]
    all_test = np.concatenate(tests)
    np.testing.assert_array_equal(np.sort(all_test), np.arange(len(dates)))


@SETTINGS
@given(panel=panels(max_dates=12, max_assets=2), n=st.integers(2, 6), data=st.data())
def test_cpcv_counts_and_paths(panel, n, data):
    k = data.draw(st.integers(1, n - 1))
    cv = CombinatorialPurgedKFold(n, k)
    assert cv.get_n_splits() == math.comb(n, k)
    assert cv.n_paths == math.comb(n, k) * k // n
    table = cv.path_assignment()
    assert table.shape == (cv.n_paths, n)
    groups = cv.test_groups()
    for p in range(cv.n_paths):
        for g in range(n):
            assert g in groups[table[p, g]]
    for g in range(n):  # each (split, group) test slot is used by exactly one path
        assert sorted(table[:, g].tolist()) == [s for s, c in enumerate(groups) if g in c]
    dates, label_end = panel
    if len(np.unique(dates)) < n:
        return
    folds = list(cv.split(dates, label_end))
    assert len(folds) == cv.get_n_splits()
    preds = [test.astype(np.float64) for _, test in folds]  # prediction = row number
    paths = cv.assemble_paths(preds, dates)
    assert paths.shape == (cv.n_paths, len(dates))
    np.testing.assert_array_equal(paths, np.broadcast_to(np.arange(len(dates)), paths.shape))
