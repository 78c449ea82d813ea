"""Out-of-fold member predictions whose usefulness switches with a regime label."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest


def make_regime_oof(n_dates=120, n_assets=30, seed=0):
    """Member a predicts on even dates ("up"), member b on odd dates ("down"), c is noise."""
    rng = np.random.default_rng(seed)
    dates = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(n_dates)]
    n = n_dates * n_assets
    alpha = rng.standard_normal(n)
    even = np.repeat(np.arange(n_dates) % 2 == 0, n_assets)
    frame = pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(n_assets)],
            "asset": [f"A{i:02d}" for i in range(n_assets)] * n_dates,
            "target": alpha + 2.0 * rng.standard_normal(n),
            "a": np.where(even, alpha, 0.0) + rng.standard_normal(n),
            "b": np.where(even, 0.0, alpha) + rng.standard_normal(n),
            "c": rng.standard_normal(n),
        }
    )
    regimes = pl.DataFrame({"date": dates, "regime": ["up", "down"] * (n_dates // 2)})
    return frame, regimes


@pytest.fixture(scope="session")
def regime_oof_factory():
    return make_regime_oof
