"""Purging and embargo: turn test blocks of dates into train / test row indices.

A label observed on ``date`` is realised over ``[date, label_end]``. A training row whose label
interval overlaps the interval of any test row has seen (part of) the test outcome, so it is
*purged*. Returns are serially correlated, so the rows just after a test block are also dropped
(*embargo*, counted in calendar dates). All work is per unique date; only dates whose rows have
mixed label ends ("partial" dates) are resolved row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._calendar import Calendar

# per-date status codes
OUT, TRAIN, TEST, PURGED, EMBARGOED, PARTIAL, PARTIAL_EMBARGOED = range(7)
STATUS_NAMES = {
    OUT: "unused",
    TRAIN: "train",
    TEST: "test",
    PURGED: "purged",
    EMBARGOED: "embargoed",
    PARTIAL: "partly purged",
    PARTIAL_EMBARGOED: "partly purged, rest embargoed",
}
_NO_LIMIT = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Fold:
    """One split with its bookkeeping.

    ``status`` has one code per unique date (see ``STATUS_NAMES``); a row dropped both by
    purging and by the embargo counts as purged. ``train_first`` / ``train_last`` are calendar
    positions of the first / last date with a kept train row (-1 when the train set is empty);
    ``n_train_dates`` counts the dates keeping at least one train row.
    """

    train_idx: np.ndarray
    test_idx: np.ndarray
    status: np.ndarray
    n_purged: int
    n_embargoed: int
    train_first: int
    train_last: int
    n_train_dates: int


def resolve_fold(
    cal: Calendar,
    test_blocks: list[tuple[int, int]],
    train_lo: int,
    train_hi: int,
    embargo_days: int,
) -> Fold:
    """Resolve one split.

    Parameters
    ----------
    cal : Calendar
    test_blocks : list of (first, last)
        Inclusive calendar positions of disjoint, non-adjacent test blocks in ascending order.
    train_lo, train_hi : int
        Half-open range of calendar positions that may train (test dates excluded).
    embargo_days : int
        Calendar dates after each block's last date that may not train.
    """
    n_dates = cal.n_dates
    status = np.full(n_dates, OUT, dtype=np.int8)
    status[train_lo:train_hi] = TRAIN
    threshold = np.full(n_dates, _NO_LIMIT, dtype=np.int64)
    prev_last = -1
    for first, last in test_blocks:
        status[first : last + 1] = TEST
        # a train row dated before the block overlaps it iff its label ends on/after the block
        # start; the nearest following block is the binding one
        threshold[prev_last + 1 : first] = cal.days[first]
        prev_last = last
    for first, last in test_blocks:
        # a train row dated after the block overlaps it iff dated on/before the block's last
        # label end (its own label_end >= its date > block start holds automatically)
        reach = cal.last_pos_on_or_before(int(cal.max_end[first : last + 1].max()))
        seg = status[last + 1 : reach + 1]
        seg[seg == TRAIN] = PURGED
    is_train = status == TRAIN
    status[is_train & (cal.min_end >= threshold)] = PURGED
    status[is_train & (cal.min_end < threshold) & (cal.max_end >= threshold)] = PARTIAL
    if embargo_days:
        for _, last in test_blocks:
            seg = status[last + 1 : last + 1 + embargo_days]
            seg[seg == TRAIN] = EMBARGOED
            seg[seg == PARTIAL] = PARTIAL_EMBARGOED

    counts = cal.counts
    partial_dates = np.flatnonzero((status == PARTIAL) | (status == PARTIAL_EMBARGOED))
    partial_rows, partial_date_of_row = cal.rows_of(partial_dates)
    row_purged = cal.end[partial_rows] >= threshold[partial_date_of_row]
    row_in_embargo = status[partial_date_of_row] == PARTIAL_EMBARGOED
    kept = ~row_purged & ~row_in_embargo

    n_purged = int(counts[status == PURGED].sum()) + int(row_purged.sum())
    n_embargoed = int(counts[status == EMBARGOED].sum()) + int((~row_purged & row_in_embargo).sum())

    train_idx = cal.rows_where(status == TRAIN)
    kept_rows = partial_rows[kept]
    if kept_rows.size:  # merge two ascending, disjoint row lists
        train_idx = np.insert(train_idx, np.searchsorted(train_idx, kept_rows), kept_rows)
    train_dates = np.flatnonzero(_keeps_train(status, partial_date_of_row[kept]))
    return Fold(
        train_idx=train_idx,
        test_idx=cal.rows_where(status == TEST),
        status=status,
        n_purged=n_purged,
        n_embargoed=n_embargoed,
        train_first=int(train_dates[0]) if train_dates.size else -1,
        train_last=int(train_dates[-1]) if train_dates.size else -1,
        n_train_dates=int(train_dates.size),
    )


def _keeps_train(status: np.ndarray, partial_kept_dates: np.ndarray) -> np.ndarray:
    """Boolean per date: the date keeps at least one train row."""
    mask = status == TRAIN
    mask[partial_kept_dates] = True
    return mask
