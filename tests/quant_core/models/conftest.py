"""Tiny planted-signal modelling frames for model tests (no dependency on the simulator)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

FEATURES = ["f1", "f2", "f3", "f4"]


def make_frame(n_dates: int = 200, n_assets: int = 40, seed: int = 0, noise: float = 0.2):
    """target = 0.1*f1 + 0.05*f2*f3 + noise; f4 is pure noise."""
    rng = np.random.default_rng(seed)
    dates = pl.date_range(
        dt.date(2021, 1, 1), dt.date(2021, 1, 1) + dt.timedelta(n_dates - 1), eager=True
    )
    n = n_dates * n_assets
    X = rng.standard_normal((n, 4))
    y = 0.1 * X[:, 0] + 0.05 * X[:, 1] * X[:, 2] + noise * rng.standard_normal(n)
    return pl.DataFrame(
        {
            "date": np.repeat(dates.to_numpy(), n_assets),
            "asset": [f"A{i:02d}" for i in range(n_assets)] * n_dates,
            **{f: X[:, j] for j, f in enumerate(FEATURES)},
            "target": y,
        }
    ).with_columns(pl.col("date").cast(pl.Date))


@pytest.fixture(scope="session")
def frame() -> pl.DataFrame:
    return make_frame()


@pytest.fixture(scope="session")
def frame_factory():
    return make_frame
