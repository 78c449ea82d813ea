import datetime as dt

import numpy as np
import polars as pl
import pytest


def _dates(n_days: int) -> list[dt.date]:
    start = dt.date(2021, 1, 4)
    return [start + dt.timedelta(days=i) for i in range(n_days)]


@pytest.fixture
def make_oof():
    """OOF-like frame: date, asset, fold, prediction, target, sector with a chosen true IC."""

    def make(n_days=120, n_assets=40, strength=0.2, n_folds=3, seed=0):
        rng = np.random.default_rng(seed)
        dates = _dates(n_days)
        s = rng.standard_normal((n_days, n_assets))
        y = strength * s + rng.standard_normal((n_days, n_assets))
        fold = np.repeat(np.arange(n_days) * n_folds // n_days, n_assets)
        return pl.DataFrame(
            {
                "date": np.repeat(np.array(dates, dtype="datetime64[D]"), n_assets),
                "asset": np.tile([f"A{i:03d}" for i in range(n_assets)], n_days),
                "fold": fold.astype(np.int64),
                "prediction": s.ravel(),
                "target": y.ravel(),
                "sector": np.tile([f"S{i % 4}" for i in range(n_assets)], n_days),
            }
        ).with_columns(pl.col("date").cast(pl.Date))

    return make
