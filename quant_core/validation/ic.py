"""Per-date information coefficients (IC): the cross-sectional correlation between a signal
and the return it is meant to predict.

A signal with a stable positive IC ranks tomorrow's winners above tomorrow's losers on most
days; the IC time series is the raw material for every significance test in this package.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from quant_core.validation.cross_section import pad_rows, row_correlations

__all__ = ["ic_series", "pooled_ic_series"]

_METHODS = ("spearman", "pearson")
# Beyond 4 matrix cells per usable row (plus a million cells of slack), a padded
# (dates x assets) matrix wastes memory: group in polars instead.
_MAX_PADDING_RATIO = 4
_PADDING_SLACK_CELLS = 1_000_000


def ic_series(
    frame: pl.DataFrame,
    signal: str,
    target: str = "target",
    method: str = "spearman",
    group: str | None = None,
    min_assets: int = 5,
) -> pl.DataFrame:
    """Cross-sectional IC of ``signal`` against ``target`` for every date.

    The Spearman version ("Rank IC") is the industry standard because it ignores the scale
    and outliers of both the signal and the returns; Pearson ("IC") rewards a signal whose
    magnitudes are informative too.

    Parameters
    ----------
    frame
        Long frame keyed by ``(date, asset)`` holding ``signal`` and ``target`` (and
        ``group`` if given).
    signal, target
        Column names.
    method
        ``"spearman"`` (Pearson correlation of average-tie ranks within the date) or
        ``"pearson"``.
    group
        Optional column (e.g. ``"sector"``) for the group-neutral IC: on each date both
        columns are demeaned within each group before correlating, so a signal that merely
        picks the best sector scores zero. For ``"spearman"`` the values are first ranked
        across the whole date's cross-section, then the ranks are demeaned within group.
    min_assets
        Dates with fewer usable rows are skipped.

    Returns
    -------
    pl.DataFrame
        ``date, ic (float64), n (int64 usable assets)``, sorted by date. Rows where the signal,
        target or group is null or NaN are dropped per date before ranking. Dates on which the
        correlation is undefined (a constant signal or target) are dropped too.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if min_assets < 2:
        raise ValueError(f"min_assets must be >= 2, got {min_assets}")
    needed = ["date", signal, target] + ([group] if group is not None else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing column(s) {missing}; has {frame.columns}")

    x = pl.col(signal).cast(pl.Float64)
    y = pl.col(target).cast(pl.Float64)
    valid = x.is_not_null() & y.is_not_null() & x.is_not_nan() & y.is_not_nan()
    if group is not None:
        valid = valid & pl.col(group).is_not_null()

    lf = frame.lazy().filter(valid)
    if group is None:
        return _ic_by_date(lf, x, y, method, min_assets)
    lf = (
        lf.select(["date", group, x.alias("_x"), y.alias("_y")])
        .with_columns(pl.len().over("date").alias("_n"))
        .filter(pl.col("_n") >= min_assets)
    )
    if method == "spearman":
        lf = lf.with_columns(
            pl.col("_x").rank("average").over("date").cast(pl.Float64),
            pl.col("_y").rank("average").over("date").cast(pl.Float64),
        )
    # Demean within date x group (two-pass, exact to rounding). A constant block demeans to
    # exact zeros (not rounding noise), so a constant signal or target gives 0/0 and the date
    # is dropped instead of reporting a spurious +/-1.
    keys = ["date", group]
    lf = lf.with_columns(
        _demean("_x", keys).alias("_dx"),
        _demean("_y", keys).alias("_dy"),
    )
    out = (
        lf.group_by("date")
        .agg(
            (
                (pl.col("_dx") * pl.col("_dy")).sum()
                / ((pl.col("_dx") ** 2).sum() * (pl.col("_dy") ** 2).sum()).sqrt()
            ).alias("ic"),
            pl.len().cast(pl.Int64).alias("n"),
        )
        .filter(pl.col("ic").is_finite())
        .sort("date")
        .collect()
    )
    return out


def _ic_by_date(
    lf: pl.LazyFrame, x: pl.Expr, y: pl.Expr, method: str, min_assets: int
) -> pl.DataFrame:
    """Per-date correlation: rows grouped by date, laid out as a (dates x assets) matrix and
    correlated row-wise on all cores (see :mod:`quant_core.validation.cross_section`)."""
    rows = lf.select("date", x.alias("_x"), y.alias("_y")).collect()
    if rows.height == 0:
        return pl.DataFrame(
            {"date": rows["date"], "ic": [], "n": []},
            schema_overrides={"ic": pl.Float64, "n": pl.Int64},
        )
    runs = rows["date"].rle()
    dates = runs.struct.field("value")
    if not (dates.is_sorted() and dates.n_unique() == dates.len()):
        # Rows are not grouped by ascending date: sort once (skipped for the usual layout).
        rows = rows.sort("date")
        runs = rows["date"].rle()
        dates = runs.struct.field("value")
    counts = runs.struct.field("len").to_numpy().astype(np.int64)
    if counts.size * int(counts.max()) > _MAX_PADDING_RATIO * rows.height + _PADDING_SLACK_CELLS:
        # Very ragged panel (one date far wider than the rest): padding would waste memory.
        return _ic_by_date_polars(rows.lazy(), method, min_assets)
    matrices = pad_rows([rows["_x"].to_numpy(), rows["_y"].to_numpy()], counts)
    ic = row_correlations(matrices[0], matrices[1], counts, method)
    keep = (counts >= min_assets) & np.isfinite(ic)
    return pl.DataFrame({"date": dates.filter(keep), "ic": ic[keep], "n": counts[keep]})


def _ic_by_date_polars(lf: pl.LazyFrame, method: str, min_assets: int) -> pl.DataFrame:
    x, y = pl.col("_x"), pl.col("_y")
    return (
        lf.group_by("date")
        .agg(
            pl.corr(x, y, method=method).alias("ic"),
            pl.len().cast(pl.Int64).alias("n"),
            ((x.max() > x.min()) & (y.max() > y.min())).alias("_varies"),
        )
        .filter(pl.col("_varies") & (pl.col("n") >= min_assets) & pl.col("ic").is_finite())
        .sort("date")
        .select("date", "ic", "n")
        .collect()
    )


def _demean(col: str, keys: list[str]) -> pl.Expr:
    c = pl.col(col)
    return (
        pl.when(c.max().over(keys) == c.min().over(keys))
        .then(pl.lit(0.0))
        .otherwise(c - c.mean().over(keys))
    )


def pooled_ic_series(
    oof: pl.DataFrame,
    signal: str = "prediction",
    target: str = "target",
    fold_col: str = "fold",
    method: str = "spearman",
    min_assets: int = 5,
) -> pl.DataFrame:
    """Per-date IC of out-of-fold predictions, computed within each fold then pooled.

    Under walk-forward or purged k-fold every date sits in one fold and this is just
    :func:`ic_series`; under combinatorial purged CV a date scored by several folds gets the
    mean of its per-fold ICs (``n`` is the largest cross-section), so no asset is counted twice
    in one correlation.

    Returns
    -------
    pl.DataFrame
        ``date, ic, n`` sorted by date.
    """
    if fold_col not in oof.columns:
        return ic_series(oof, signal, target, method=method, min_assets=min_assets)
    parts = [
        ic_series(part, signal, target, method=method, min_assets=min_assets)
        for _, part in oof.group_by(fold_col)
    ]
    if not parts:
        return ic_series(oof, signal, target, method=method, min_assets=min_assets)
    return (
        pl.concat(parts).group_by("date").agg(pl.col("ic").mean(), pl.col("n").max()).sort("date")
    )
