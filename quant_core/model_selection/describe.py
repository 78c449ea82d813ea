"""Tabular summary of a splitter's folds on given data: what trained, what was tested, what was
dropped and why. A purge count near ``n_test`` warns that labels are long relative to folds."""

from __future__ import annotations

import numpy as np
import polars as pl

from ._calendar import build_calendar
from ._purge import TEST


def _day(days: np.ndarray, pos: int):
    return None if pos < 0 else np.datetime64(int(days[pos]), "D").astype(object)


def describe_splits(splitter, dates, label_end) -> pl.DataFrame:
    """One row per split of ``splitter`` on the given rows.

    Returns
    -------
    pl.DataFrame
        ``split`` (Int64), ``train_start``, ``train_end``, ``test_start``, ``test_end``
        (``pl.Date``; train dates null when no train row is kept), ``n_train``, ``n_test``,
        ``n_purged`` (train-eligible rows dropped for label overlap), ``n_embargoed`` (rows
        dropped only by the embargo), ``n_train_dates``, ``n_test_dates`` (unique dates).
    """
    cal = build_calendar(dates, label_end)
    records: dict[str, list] = {
        k: []
        for k in (
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
        )
    }
    for i, fold in enumerate(splitter._folds(cal)):
        test_dates = np.flatnonzero(fold.status == TEST)
        values = (
            i,
            _day(cal.days, fold.train_first),
            _day(cal.days, fold.train_last),
            _day(cal.days, int(test_dates[0])),
            _day(cal.days, int(test_dates[-1])),
            int(fold.train_idx.shape[0]),
            int(fold.test_idx.shape[0]),
            fold.n_purged,
            fold.n_embargoed,
            fold.n_train_dates,
            int(test_dates.shape[0]),
        )
        for key, value in zip(records, values):
            records[key].append(value)
    int_cols = [k for k in records if k.startswith("n_") or k == "split"]
    schema = {k: (pl.Int64 if k in int_cols else pl.Date) for k in records}
    return pl.DataFrame(records, schema=schema)
