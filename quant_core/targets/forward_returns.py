"""Forward returns with explicit label windows.

A row dated ``t`` holds features known at the close of ``t``. The trade that monetises them is
entered ``lag_days`` trading dates later (the close of ``t + lag``, the *label start*) and exited
``horizon_days`` trading dates after that (the *label end*). The target is the simple return of
the close over that window. The calendar is the panel's own sorted unique dates, so "days" are
trading dates present in the data, not calendar days.

Rows whose window runs past the end of the data, or whose asset has no price at the label start
or end, are dropped: a target is never forward-filled or guessed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def trading_calendar(panel: pl.DataFrame, date_col: str = "date") -> pl.Series:
    """The panel's sorted unique dates: the calendar every ``*_days`` parameter counts in."""
    return panel.get_column(date_col).unique().sort()


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")  # noqa: TRY004
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _horizons(horizon_days: int | Sequence[int]) -> list[int]:
    if isinstance(horizon_days, (list, tuple)):
        if len(horizon_days) == 0:
            raise ValueError(f"horizon_days must name at least one horizon, got {horizon_days!r}")
        hs = [_check_int("horizon_days", h, 1) for h in horizon_days]
        if len(set(hs)) != len(hs):
            raise ValueError(f"horizon_days must not repeat a horizon, got {horizon_days!r}")
        return hs
    return [_check_int("horizon_days", horizon_days, 1)]


def forward_returns(
    panel: pl.DataFrame,
    horizon_days: int | Sequence[int] = 1,
    lag_days: int = 1,
    price_col: str = "close",
) -> pl.DataFrame:
    """Forward simple returns over ``[label_start, label_end]`` for every (date, asset) row.

    Parameters
    ----------
    panel
        Long panel with ``date`` (``pl.Date``), ``asset`` and ``price_col``.
    horizon_days
        Holding period in trading dates (>= 1). A list or tuple produces several targets at once.
    lag_days
        Trading dates between the feature close and the entry close (>= 0). The default 1 means
        "signal at close t, enter at close t+1": the day needed to compute and trade the signal.
        ``lag_days=0`` enters at the feature close itself, which assumes the trade fills at the
        very price the features were computed from (optimistic; use only for such a setup).
    price_col
        The price column to compute returns from.

    Returns
    -------
    pl.DataFrame
        Single horizon: ``date, asset, target, label_start, label_end``.
        Several horizons: ``date, asset, label_start, label_end, target_{h}d, label_end_{h}d``
        for each ``h``, where ``label_end`` is the longest horizon's end (what purging needs).
        A row is kept only when every requested horizon has a target, so no target is null.
        Sorted by ``(date, asset)``.
    """
    horizons = _horizons(horizon_days)
    lag = _check_int("lag_days", lag_days, 0)
    for column in ("date", "asset", price_col):
        if column not in panel.columns:
            raise ValueError(f"panel has no column '{column}' (columns: {panel.columns[:12]})")

    calendar = trading_calendar(panel)
    n_dates = calendar.len()
    positions = pl.DataFrame(
        {"date": calendar, "_pos": pl.int_range(n_dates, eager=True, dtype=pl.Int64)}
    )
    # Prices keyed by calendar position; null prices are treated like absent rows.
    prices = (
        panel.select("date", "asset", pl.col(price_col).cast(pl.Float64).alias("_px"))
        .join(positions, on="date", how="inner")
        .filter(pl.col("_px").is_not_null() & pl.col("_px").is_finite())
    )
    px_by_pos = prices.select("asset", "_pos", "_px")
    calendar_by_pos = positions.rename({"date": "_d", "_pos": "_p"})

    out = panel.select("date", "asset").join(positions, on="date", how="left")
    out = out.with_columns((pl.col("_pos") + lag).alias("_start_pos"))
    out = _attach(out, "_start_pos", "label_start", "_px_start", px_by_pos, calendar_by_pos)

    target_cols: list[str] = []
    for h in horizons:
        end_pos, end_col, px_col = f"_end_pos_{h}", f"label_end_{h}d", f"_px_end_{h}"
        out = out.with_columns((pl.col("_start_pos") + h).alias(end_pos))
        out = _attach(out, end_pos, end_col, px_col, px_by_pos, calendar_by_pos)
        out = out.with_columns((pl.col(px_col) / pl.col("_px_start") - 1.0).alias(f"target_{h}d"))
        target_cols.append(f"target_{h}d")

    keep = pl.all_horizontal([pl.col(c).is_not_null() & pl.col(c).is_finite() for c in target_cols])
    out = out.filter(keep & pl.col("label_start").is_not_null()).sort("date", "asset")

    if len(horizons) == 1 and not isinstance(horizon_days, (list, tuple)):
        h = horizons[0]
        return out.select(
            "date",
            "asset",
            pl.col(f"target_{h}d").alias("target"),
            "label_start",
            pl.col(f"label_end_{h}d").alias("label_end"),
        )
    longest = max(horizons)
    columns: list[str | pl.Expr] = [
        "date",
        "asset",
        "label_start",
        pl.col(f"label_end_{longest}d").alias("label_end"),
    ]
    for h in horizons:
        columns += [f"target_{h}d", f"label_end_{h}d"]
    return out.select(columns)


def _attach(
    frame: pl.DataFrame,
    pos_col: str,
    date_name: str,
    px_name: str,
    px_by_pos: pl.DataFrame,
    calendar_by_pos: pl.DataFrame,
) -> pl.DataFrame:
    """Join the calendar date and the asset's price at calendar position ``pos_col``.

    Positions past the calendar end get a null date and price (the row is dropped later).
    """
    frame = frame.join(
        calendar_by_pos.rename({"_d": date_name}), left_on=pos_col, right_on="_p", how="left"
    )
    return frame.join(
        px_by_pos.rename({"_px": px_name}),
        left_on=["asset", pos_col],
        right_on=["asset", "_pos"],
        how="left",
    )
