"""Per-row dates -> positions on the sorted calendar of unique dates.

A panel holds many assets per date, so every splitter works on the calendar of unique dates and
maps whole dates back to rows. This module validates the per-row ``dates`` / ``label_end`` arrays
and builds that mapping once, in O(n) for rows already sorted by date (the usual case) and
O(n log n) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MAX_EXAMPLES = 5


def as_day_array(values, name: str) -> np.ndarray:
    """Coerce per-row dates (numpy, polars, pandas, list) to a 1-D ``datetime64[D]`` array."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype="datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be convertible to datetime64[D], got {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def validate_dates(dates, label_end) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(dates, label_end)`` as ``datetime64[D]`` arrays after checking the row contract.

    A label ends no earlier than the date it is observed on (``label_end >= dates``); both arrays
    have one entry per row and no missing values.
    """
    d = as_day_array(dates, "dates")
    e = as_day_array(label_end, "label_end")
    if d.shape[0] != e.shape[0]:
        raise ValueError(
            f"dates and label_end must have the same length, got {d.shape[0]} and {e.shape[0]}"
        )
    if d.shape[0] == 0:
        raise ValueError("dates is empty, got 0 rows")
    for name, arr in (("dates", d), ("label_end", e)):
        bad = np.flatnonzero(np.isnat(arr))
        if bad.size:
            raise ValueError(
                f"{name} has {bad.size} missing values (NaT), e.g. rows "
                f"{bad[:_MAX_EXAMPLES].tolist()}"
            )
    bad = np.flatnonzero(e < d)
    if bad.size:
        examples = ", ".join(
            f"row {i}: date={d[i]}, label_end={e[i]}" for i in bad[:_MAX_EXAMPLES].tolist()
        )
        raise ValueError(f"label_end must be >= dates, got {bad.size} violating rows ({examples})")
    return d, e


@dataclass(frozen=True)
class Calendar:
    """Rows grouped by unique date.

    Attributes
    ----------
    days : int64 (U,)
        Sorted unique dates as days since epoch.
    counts : int64 (U,)
        Rows per unique date.
    min_end, max_end : int64 (U,)
        Earliest / latest label end (days since epoch) among the rows of each date.
    end : int64 (n,)
        Per-row label end (days since epoch), in row order.
    starts : int64 (U + 1,) or None
        When rows are sorted by date, the rows of date ``p`` are ``starts[p]:starts[p + 1]``.
    row_date_pos : int64 (n,) or None
        When rows are not sorted, the calendar position of each row's date.
    """

    days: np.ndarray
    counts: np.ndarray
    min_end: np.ndarray
    max_end: np.ndarray
    end: np.ndarray
    starts: np.ndarray | None
    row_date_pos: np.ndarray | None

    @property
    def n_dates(self) -> int:
        return int(self.days.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.end.shape[0])

    def last_pos_on_or_before(self, day: int) -> int:
        """Position of the last calendar date ``<= day`` (-1 when none)."""
        return int(np.searchsorted(self.days, day, side="right")) - 1

    def rows_where(self, date_mask: np.ndarray) -> np.ndarray:
        """Ascending row numbers (int64) of the rows whose date is flagged in ``date_mask``."""
        if self.starts is not None:
            lo, hi = runs(date_mask)
            return concat_ranges(self.starts[lo], self.starts[hi])
        return np.flatnonzero(date_mask[self.row_date_pos])

    def rows_of(self, date_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ascending row numbers of the dates ``date_pos`` (ascending) and each row's date."""
        if self.starts is not None:
            rows = concat_ranges(self.starts[date_pos], self.starts[date_pos + 1])
            return rows, np.repeat(date_pos, self.counts[date_pos])
        mask = np.zeros(self.n_dates, dtype=bool)
        mask[date_pos] = True
        rows = np.flatnonzero(mask[self.row_date_pos])
        return rows, self.row_date_pos[rows]


def build_calendar(dates, label_end) -> Calendar:
    """Validate per-row ``dates`` / ``label_end`` and group rows by unique date.

    O(n) for rows sorted by date; otherwise O(n) through a day-number lookup table when the
    date span is at most about twice the row count, else one O(n log n) ``np.unique``.
    """
    d, e = validate_dates(dates, label_end)
    d_int = d.view(np.int64)
    e_int = e.view(np.int64)
    n = d_int.shape[0]
    if n == 1 or not bool(np.any(d_int[1:] < d_int[:-1])):
        change = np.flatnonzero(d_int[1:] != d_int[:-1]) + 1
        starts = np.concatenate(([0], change, [n])).astype(np.int64)
        first = starts[:-1]
        return Calendar(
            days=d_int[first].copy(),
            counts=np.diff(starts),
            min_end=np.minimum.reduceat(e_int, first),
            max_end=np.maximum.reduceat(e_int, first),
            end=e_int,
            starts=starts,
            row_date_pos=None,
        )
    lo = int(d_int.min())
    span = int(d_int.max()) - lo + 1
    if span <= 2 * n + 2**16:
        offset = d_int - lo
        present = np.zeros(span, dtype=bool)
        present[offset] = True
        days = np.flatnonzero(present).astype(np.int64) + lo
        row_date_pos = (np.cumsum(present, dtype=np.int64) - 1)[offset]
    else:
        days, row_date_pos = np.unique(d_int, return_inverse=True)
        row_date_pos = row_date_pos.astype(np.int64, copy=False)
    n_dates = days.shape[0]
    min_end = np.full(n_dates, np.iinfo(np.int64).max, dtype=np.int64)
    max_end = np.full(n_dates, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(min_end, row_date_pos, e_int)
    np.maximum.at(max_end, row_date_pos, e_int)
    return Calendar(
        days=days,
        counts=np.bincount(row_date_pos, minlength=n_dates).astype(np.int64),
        min_end=min_end,
        max_end=max_end,
        end=e_int,
        starts=None,
        row_date_pos=row_date_pos,
    )


def concat_ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(lo[i], hi[i])`` for all i without a per-element Python loop."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    lengths = hi - lo
    keep = lengths > 0
    lo, lengths = lo[keep], lengths[keep]
    total = int(lengths.sum())
    if lo.shape[0] <= 64:
        out = np.empty(total, dtype=np.int64)
        offset = 0
        for start, length in zip(lo.tolist(), lengths.tolist()):
            out[offset : offset + length] = np.arange(start, start + length, dtype=np.int64)
            offset += length
        return out
    # many short runs: arange(total) shifted run by run
    shift = lo - (np.cumsum(lengths) - lengths)
    return np.arange(total, dtype=np.int64) + np.repeat(shift, lengths)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open ``[lo, hi)`` bounds of the runs of True in a 1-D boolean array."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges[0::2], edges[1::2]
