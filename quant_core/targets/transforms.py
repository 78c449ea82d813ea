"""Target kinds: raw, market-excess, factor-residual, volatility-scaled, ranked and z-scored.

Each kind starts from :func:`forward_returns` and changes only the ``target`` column; every
output row keeps its ``label_start`` and ``label_end`` so purging and audits still see the label
window. Everything used to transform the target on date ``t`` (weights, sectors, style exposures,
the trailing volatility) is read at date ``t`` or earlier; the only future information in a
target row is its own label window. Rows whose transformed target is undefined (no exposures,
not enough volatility history, a constant cross-section) are dropped, never filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from quant_core.targets.cross_section import cs_mad_clip, cs_quantile_clip, cs_rank, cs_zscore
from quant_core.targets.forward_returns import _check_int, forward_returns

TargetKind = Literal["raw", "excess", "residual", "vol_scaled", "rank", "zscore"]
TARGET_KINDS: tuple[str, ...] = ("raw", "excess", "residual", "vol_scaled", "rank", "zscore")
_LABEL_COLUMNS = ["date", "asset", "target", "label_start", "label_end"]


def excess_over_market(
    targets: pl.DataFrame, weight_col: str | None = None, target: str = "target"
) -> pl.DataFrame:
    """Subtract the per-date market return: the equal-weighted (or ``weight_col``-weighted,
    e.g. market cap at ``t``) mean target of the assets that have a target on that date.

    Rows with a null or non-positive weight still get the excess return but do not enter the
    market average.
    """
    if weight_col is None:
        market = pl.col(target).mean().over("date")
    else:
        w = pl.when(pl.col(weight_col) > 0).then(pl.col(weight_col)).otherwise(None)
        wr = w * pl.col(target)
        market = wr.sum().over("date") / w.filter(wr.is_not_null()).sum().over("date")
    return targets.with_columns((pl.col(target) - market).alias(target)).filter(
        pl.col(target).is_not_null() & pl.col(target).is_finite()
    )


def residualize(
    targets: pl.DataFrame,
    sector_col: str | None = "sector",
    style_cols: Sequence[str] = (),
    target: str = "target",
) -> pl.DataFrame:
    """Residual of a per-date cross-sectional OLS of the target on sector dummies and styles.

    On each date ``t`` the target is regressed on one dummy per sector (which acts as the
    intercept) plus the style exposures observed at ``t`` (point in time: never later
    exposures); the residual is the part of the return not explained by the sector and style
    factor returns of that window. Without sectors an intercept is used. Rows missing an
    exposure are dropped; a date with no more rows than regressors is dropped (the residual
    would be identically zero). Rank-deficient designs use the minimum-norm least-squares fit.
    """
    style_cols = list(style_cols)
    needed = [target, *style_cols] + ([sector_col] if sector_col else [])
    missing = [c for c in needed if c not in targets.columns]
    if missing:
        raise ValueError(f"residualize needs columns {missing} that the frame lacks")
    frame = targets.drop_nulls(subset=needed).sort("date", "asset")
    if style_cols:
        frame = frame.filter(pl.all_horizontal([pl.col(c).is_finite() for c in style_cols]))
    if frame.height == 0:
        return frame

    y = frame.get_column(target).to_numpy().astype(np.float64)
    styles = (
        frame.select(style_cols).to_numpy().astype(np.float64)
        if style_cols
        else np.empty((frame.height, 0))
    )
    if sector_col:
        codes = frame.get_column(sector_col).cast(pl.String).to_numpy()
        _, sector_idx = np.unique(codes, return_inverse=True)
    else:
        sector_idx = np.zeros(frame.height, dtype=np.int64)

    date_codes = frame.get_column("date").to_physical().to_numpy()
    bounds = np.flatnonzero(np.diff(date_codes)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [frame.height]))
    resid = np.full(frame.height, np.nan)
    for s, e in zip(starts, ends):
        local = sector_idx[s:e]
        present, local = np.unique(local, return_inverse=True)
        dummies = np.zeros((e - s, present.size))
        dummies[np.arange(e - s), local] = 1.0
        X = np.hstack([dummies, styles[s:e]])
        if e - s <= X.shape[1]:
            continue
        beta, *_ = np.linalg.lstsq(X, y[s:e], rcond=None)
        resid[s:e] = y[s:e] - X @ beta
    return frame.with_columns(pl.Series(target, resid)).filter(pl.col(target).is_not_nan())


def trailing_volatility(
    panel: pl.DataFrame,
    vol_window_days: int = 20,
    min_periods: int | None = None,
    price_col: str = "close",
) -> pl.DataFrame:
    """Trailing std of daily close-to-close returns known at the close of ``t``.

    The estimate on date ``t`` uses the returns ending at ``t`` and the ``vol_window_days - 1``
    dates before it (each asset's own consecutive rows), never a later price. Returns
    ``date, asset, vol`` with null where fewer than ``min_periods`` returns exist.
    """
    window = _check_int("vol_window_days", vol_window_days, 2)
    min_p = window if min_periods is None else _check_int("min_periods", min_periods, 2)
    if min_p > window:
        raise ValueError(f"min_periods must be <= vol_window_days ({window}), got {min_p}")
    return (
        panel.select("date", "asset", pl.col(price_col).cast(pl.Float64).alias("_px"))
        .sort("asset", "date")
        .with_columns((pl.col("_px") / pl.col("_px").shift(1) - 1.0).over("asset").alias("_r"))
        .with_columns(
            pl.col("_r")
            .rolling_std(window_size=window, min_samples=min_p)
            .over("asset")
            .alias("vol")
        )
        .select("date", "asset", "vol")
        .sort("date", "asset")
    )


def vol_scale(
    targets: pl.DataFrame,
    panel: pl.DataFrame,
    horizon_days: int = 1,
    vol_window_days: int = 20,
    min_periods: int | None = None,
    price_col: str = "close",
    target: str = "target",
) -> pl.DataFrame:
    """Divide the target by ``vol_t * sqrt(horizon_days)``: the return in units of the asset's
    own expected move over the window, so volatile names do not dominate the loss.

    ``vol_t`` is :func:`trailing_volatility` at the row's date (past data only). Rows without a
    positive finite volatility are dropped.
    """
    h = _check_int("horizon_days", horizon_days, 1)
    vol = trailing_volatility(panel, vol_window_days, min_periods, price_col)
    out = targets.join(vol, on=["date", "asset"], how="inner")
    out = out.filter(pl.col("vol").is_finite() & (pl.col("vol") > 0))
    return out.with_columns((pl.col(target) / (pl.col("vol") * np.sqrt(h))).alias(target)).drop(
        "vol"
    )


def winsorize(
    frame: pl.DataFrame,
    column: str = "target",
    method: Literal["quantile", "mad"] = "quantile",
    quantiles: tuple[float, float] = (0.01, 0.99),
    mad_k: float = 5.0,
) -> pl.DataFrame:
    """Clip ``column`` per date, to its quantiles or to ``median +/- mad_k`` robust sigmas."""
    if method == "quantile":
        expr = cs_quantile_clip(column, *quantiles)
    elif method == "mad":
        expr = cs_mad_clip(column, mad_k)
    else:
        raise ValueError(f"winsorize method must be 'quantile' or 'mad', got {method!r}")
    return frame.with_columns(expr)


def make_target(
    panel: pl.DataFrame,
    kind: TargetKind = "raw",
    horizon_days: int = 1,
    lag_days: int = 1,
    *,
    price_col: str = "close",
    weight_col: str | None = None,
    sector_col: str | None = "sector",
    style_cols: Sequence[str] = (),
    vol_window_days: int = 20,
    vol_min_periods: int | None = None,
    cross_section: Literal["rank", "zscore"] | None = None,
    rank_centered: bool = False,
    winsorize_method: Literal["quantile", "mad"] | None = None,
    winsor_quantiles: tuple[float, float] = (0.01, 0.99),
    mad_k: float = 5.0,
) -> pl.DataFrame:
    """Build a modelling target of the given ``kind`` with its label window.

    Order of operations: forward return -> kind (``excess``/``residual``/``vol_scaled``; ``raw``,
    ``rank`` and ``zscore`` keep the raw return) -> optional per-date winsorisation -> optional
    per-date ``rank`` (to [0, 1], or [-0.5, 0.5] with ``rank_centered``) or ``zscore``.
    ``kind="rank"``/``"zscore"`` are shorthands for ``kind="raw", cross_section=...``.

    Returns ``date, asset, target, label_start, label_end`` sorted by ``(date, asset)``.
    """
    if kind not in TARGET_KINDS:
        raise ValueError(f"kind must be one of {TARGET_KINDS}, got {kind!r}")
    if kind in ("rank", "zscore"):
        if cross_section not in (None, kind):
            raise ValueError(f"kind={kind!r} conflicts with cross_section={cross_section!r}")
        cross_section, kind = kind, "raw"
    if cross_section not in (None, "rank", "zscore"):
        raise ValueError(f"cross_section must be None, 'rank' or 'zscore', got {cross_section!r}")

    out = forward_returns(panel, horizon_days=horizon_days, lag_days=lag_days, price_col=price_col)
    if kind == "excess":
        if weight_col is not None:
            out = _with_panel_columns(out, panel, [weight_col])
        out = excess_over_market(out, weight_col)
    elif kind == "residual":
        extra = list(style_cols) + ([sector_col] if sector_col else [])
        out = residualize(_with_panel_columns(out, panel, extra), sector_col, style_cols)
    elif kind == "vol_scaled":
        out = vol_scale(out, panel, horizon_days, vol_window_days, vol_min_periods, price_col)

    if winsorize_method is not None:
        out = winsorize(out, "target", winsorize_method, winsor_quantiles, mad_k)
    if cross_section == "rank":
        out = out.with_columns(cs_rank("target", centered=rank_centered))
    elif cross_section == "zscore":
        out = out.with_columns(cs_zscore("target"))
    out = out.filter(pl.col("target").is_not_null() & pl.col("target").is_finite())
    return out.select(_LABEL_COLUMNS).sort("date", "asset")


def _with_panel_columns(
    targets: pl.DataFrame, panel: pl.DataFrame, columns: list[str]
) -> pl.DataFrame:
    """Attach panel columns observed at the row's own date ``t`` (point in time)."""
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise ValueError(f"panel has no column(s) {missing} needed for this target kind")
    return targets.join(panel.select("date", "asset", *columns), on=["date", "asset"], how="left")
