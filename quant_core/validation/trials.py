"""The configurations a run tried, as one matrix: input to PBO and the deflated Sharpe ratio."""

from collections.abc import Mapping

import polars as pl

from quant_core.validation.ic import pooled_ic_series


def trial_ic_matrix(oofs: Mapping[str, pl.DataFrame], method: str = "spearman") -> pl.DataFrame:
    """``date`` plus one column per configuration holding its per-date out-of-fold IC.

    Only dates every configuration scored are kept, so each column is a comparable performance
    series (the rows of the CSCV matrix in the Probability of Backtest Overfitting).
    """
    if not oofs:
        raise ValueError("trial_ic_matrix needs at least one configuration")
    matrix = None
    for name, oof in oofs.items():
        series = pooled_ic_series(oof, method=method).select(["date", pl.col("ic").alias(name)])
        matrix = series if matrix is None else matrix.join(series, on="date", how="inner")
    return matrix.sort("date")
