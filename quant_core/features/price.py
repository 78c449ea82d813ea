"""Point-in-time price and volume features, computed per asset with polars window expressions.

Every feature on a row dated ``t`` uses only that asset's rows dated ``t`` or earlier (all
windows look backwards), so a feature is known at ``t``'s close and can never peek at the
label window that starts after it. Lags count the asset's own observations (trading days on
which it has a row), not calendar days.
"""

from __future__ import annotations

import polars as pl

__all__ = ["PRICE_FEATURES", "RESERVED_COLUMNS", "numeric_feature_columns", "price_features"]

#: Every feature :func:`price_features` can add; ``hl_range_5d`` needs ``high``/``low`` and
#: ``volume_z_20d`` needs ``volume``.
PRICE_FEATURES: list[str] = [
    "ret_1d",
    "mom_5d",
    "mom_20d",
    "mom_60d",
    "rev_5d",
    "vol_20d",
    "hl_range_5d",
    "volume_z_20d",
]

#: Panel columns that are never model features.
RESERVED_COLUMNS: frozenset[str] = frozenset(
    {"date", "asset", "open", "high", "low", "close", "volume", "sector"}
)


def _momentum(close: pl.Expr, days: int) -> pl.Expr:
    # skip-1: close_{t-1} / close_{t-1-days} - 1, leaving out the latest day's reversal
    return close.shift(1) / close.shift(days + 1) - 1.0


def price_features(panel: pl.DataFrame) -> pl.DataFrame:
    """Return ``panel`` sorted by ``(date, asset)`` with point-in-time price features added.

    Features (per asset, ``c_t`` = close):

    - ``ret_1d``: ``c_t / c_{t-1} - 1``, the latest daily return.
    - ``mom_5d``, ``mom_20d``, ``mom_60d``: skip-1 momentum ``c_{t-1} / c_{t-1-N} - 1``;
      skipping the latest day separates trend from the one-day reversal effect.
    - ``rev_5d``: ``-(c_t / c_{t-5} - 1)``, short-term reversal (losers tend to bounce).
    - ``vol_20d``: sample std (ddof=1) of the last 20 daily returns, not annualised.
    - ``hl_range_5d``: mean of ``(high - low) / close`` over 5 days, if ``high``/``low`` exist.
    - ``volume_z_20d``: z-score of ``log1p(volume)`` against its own last 20 days (today
      included), if ``volume`` exists; null when that window is flat.

    A feature is null until its window is full.
    """
    missing = [c for c in ("date", "asset", "close") if c not in panel.columns]
    if missing:
        raise ValueError(f"panel is missing columns {missing}")
    close = pl.col("close").cast(pl.Float64)
    ret = close / close.shift(1) - 1.0
    exprs = [
        ret.over("asset").alias("ret_1d"),
        _momentum(close, 5).over("asset").alias("mom_5d"),
        _momentum(close, 20).over("asset").alias("mom_20d"),
        _momentum(close, 60).over("asset").alias("mom_60d"),
        (-(close / close.shift(5) - 1.0)).over("asset").alias("rev_5d"),
        ret.rolling_std(20, min_samples=20, ddof=1).over("asset").alias("vol_20d"),
    ]
    if "high" in panel.columns and "low" in panel.columns:
        hl = (pl.col("high").cast(pl.Float64) - pl.col("low").cast(pl.Float64)) / close
        exprs.append(hl.rolling_mean(5, min_samples=5).over("asset").alias("hl_range_5d"))
    if "volume" in panel.columns:
        lv = pl.col("volume").cast(pl.Float64).log1p()
        sd = lv.rolling_std(20, min_samples=20, ddof=1)
        z = (lv - lv.rolling_mean(20, min_samples=20)) / sd
        exprs.append(pl.when(sd > 0).then(z).otherwise(None).over("asset").alias("volume_z_20d"))
    return panel.sort(["date", "asset"]).with_columns(exprs)


def numeric_feature_columns(panel: pl.DataFrame, target: str = "target") -> list[str]:
    """Every numeric column that is a feature, in panel order.

    Excludes the key and raw price columns (:data:`RESERVED_COLUMNS`), ``target`` and
    anything starting with ``label_``.
    """
    return [
        name
        for name, dtype in panel.schema.items()
        if dtype.is_numeric()
        and name not in RESERVED_COLUMNS
        and name != target
        and not name.startswith("label_")
    ]
