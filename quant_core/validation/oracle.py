"""The oracle ceiling: how well the simulator's true expected return ranks realised targets."""

from __future__ import annotations

import polars as pl

from quant_core.validation.ic import ic_series
from quant_core.validation.significance import ic_summary


def oracle_ic_summary(oracle: pl.DataFrame, oof: pl.DataFrame, horizon_days: int = 1) -> dict:
    """IC of ``oracle_alpha`` against the realised target on exactly the dates and assets of ``oof``.

    A model's out-of-sample IC should lie below this ceiling; far above it means a leak.
    """
    joined = oof.select(["date", "asset", "target"]).join(
        oracle.select(["date", "asset", "oracle_alpha"]), on=["date", "asset"], how="inner"
    )
    rank = ic_series(joined, "oracle_alpha", "target", method="spearman")
    pearson = ic_series(joined, "oracle_alpha", "target", method="pearson")
    summary = ic_summary(rank, horizon_days=horizon_days, n_boot=0)
    return {
        "rank_ic_mean": summary.mean,
        "ic_mean": float(pearson["ic"].mean()),
        "rank_icir": summary.icir,
        "n_dates": summary.n,
    }
