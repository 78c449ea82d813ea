"""Holdings-based PnL attribution: how much of a book's daily PnL each risk factor explains.

A dollar position ``held_usd[d, i]`` held over day ``d`` earns ``held_usd[d, i] * r[d, i]``.
Given a :class:`~quant_core.portfolio.factors.FactorModel`, the book's exposure to factor ``k``
on day ``d`` is ``E_k[d] = sum_i held_usd[d, i] * loading_k[d, i]`` (dollars per unit factor
return) and the factor's PnL is ``E_k[d] * f_k[d]``. What the factors do not explain is the
specific PnL, the part a stock picker is paid for:

    total[d] = sum_k E_k[d] * f_k[d] + specific[d]

Factors sum into the groups ``market``, ``sector`` and ``style``. Each factor's PnL splits further
into tilt, the average exposure times the factor return (a static bet), and timing, the deviation
from that average times the factor return (changing the bet when the factor pays), as in
empyrical's ``perf_attrib``. NaN returns, loadings and factor returns count as 0, so the PnL of an
asset without a known loading lands in specific and every identity holds exactly.

:func:`brinson` is the classic single-period Brinson-Fachler decomposition of a portfolio's
excess return over a benchmark by segment (e.g. sector): allocation, selection, interaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from quant_core.portfolio.factors import GROUPS, RESERVED_COLUMNS, FactorModel
from quant_core.portfolio.market import Grid

__all__ = ["Attribution", "attribute_net", "attribute_pnl", "brinson", "specific_pnl"]


def _clean(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(x), x, 0.0)


@dataclass(frozen=True)
class Attribution:
    """Daily PnL attribution of a book, in dollars.

    Attributes
    ----------
    daily, long_daily, short_daily : pl.DataFrame
        One row per date: ``date, total, <factor>..., market, sector, style, specific`` for the
        whole book, its long positions (``held_usd > 0``) and its short positions (``< 0``).
        ``market + sector + style + specific == total`` and each group is the sum of its factors.
    exposures : pl.DataFrame
        ``date, <factor>...``: dollar exposure ``E_k[d]`` of the whole book.
    tilt_timing : pl.DataFrame
        ``date, <group>_tilt, <group>_timing`` per group: tilt uses the mean exposure over all
        dates, timing the deviation from it; ``tilt + timing`` equals the group's PnL.
    groups : dict of str to str
        Factor -> group, as in the factor model.
    """

    daily: pl.DataFrame
    long_daily: pl.DataFrame
    short_daily: pl.DataFrame
    exposures: pl.DataFrame
    tilt_timing: pl.DataFrame
    groups: dict[str, str]

    @property
    def components(self) -> list[str]:
        """Columns that sum to ``total``: the groups and ``specific``."""
        return [*GROUPS, "specific"]

    def summary(self) -> pl.DataFrame:
        """``component, pnl_usd, share_of_total``: each daily column summed over the whole period
        (gross of costs), then the tilt and timing of each group."""
        totals = self.daily.drop("date").sum()
        timing = self.tilt_timing.drop("date").sum()
        names = [*totals.columns, *timing.columns]
        values = [*totals.row(0), *timing.row(0)]
        total = totals["total"].item()
        share = [v / total if total != 0 else float("nan") for v in values]
        return pl.DataFrame({"component": names, "pnl_usd": values, "share_of_total": share})


def _legs(held: np.ndarray, r: np.ndarray, model: FactorModel, f: np.ndarray):
    """Total, per-factor exposures and per-factor PnL of one book (all ``(n_dates, ...)``)."""
    total = (held * r).sum(axis=1)
    exposure = np.zeros((held.shape[0], len(model.names)))
    for j, n in enumerate(model.names):  # a loop over factors; each is vectorised over assets
        exposure[:, j] = np.einsum("da,da->d", held, model.filled_loadings[n])
    return total, exposure, exposure * f


def specific_pnl(held_usd: np.ndarray, returns: np.ndarray, model: FactorModel) -> np.ndarray:
    """The daily specific (alpha) PnL alone: total minus every factor's PnL, as in
    :func:`attribute_pnl`'s ``specific`` column, without the legs, groups and frames (the
    capacity grid needs only this, at every AUM)."""
    total, _, pnl = _legs(_clean(held_usd), _clean(returns), model, _clean(model.factor_returns))
    return total - pnl.sum(axis=1)


def _frame(dates: np.ndarray, model: FactorModel, total: np.ndarray, pnl: np.ndarray) -> pl.DataFrame:
    groups = {g: np.zeros_like(total) for g in GROUPS}
    for j, n in enumerate(model.names):
        groups[model.groups[n]] = groups[model.groups[n]] + pnl[:, j]
    common = groups["market"] + groups["sector"] + groups["style"]
    return pl.DataFrame({
        "date": dates, "total": total,
        **{n: pnl[:, j] for j, n in enumerate(model.names)},
        **groups, "specific": total - common,
    }).with_columns(pl.col("date").cast(pl.Date))


def attribute_pnl(grid: Grid, held_usd: np.ndarray, returns: np.ndarray, model: FactorModel) -> Attribution:
    """Split a book's daily dollar PnL into factor, group and specific parts.

    Parameters
    ----------
    grid : Grid
        Dates (rows) and assets (columns) of the matrices.
    held_usd : np.ndarray
        ``(n_dates, n_assets)`` dollars held over day ``d`` (the position after the close of
        ``d - 1``); NaN counts as no position.
    returns : np.ndarray
        ``(n_dates, n_assets)`` close-to-close return of day ``d``; NaN counts as 0.
    model : FactorModel
        Loadings and factor returns on the same grid (NaN counts as 0).

    Returns
    -------
    Attribution
        Daily frames for the book and its long and short legs, exposures and tilt/timing.
    """
    held = _clean(held_usd)
    r = _clean(returns)
    if (held.shape != grid.shape or r.shape != grid.shape or model.factor_returns.shape[0] != grid.shape[0]
            or model.shape not in (None, grid.shape)):
        raise ValueError(f"held_usd {held.shape}, returns {r.shape}, the model's loadings {model.shape} "
                         f"and factor returns {model.factor_returns.shape} must be on the grid's {grid.shape}")
    if grid.shape[0] == 0:
        raise ValueError("the grid has no dates")
    f = _clean(model.factor_returns)
    dates = grid.dates.astype("datetime64[D]")
    total, exposure, pnl = _legs(held, r, model, f)
    legs = [_legs(np.where(sign * held > 0, held, 0.0), r, model, f) for sign in (1, -1)]

    tilt_pnl = exposure.mean(axis=0)[None, :] * f  # the average bet, held every day
    tilt_timing = {}
    for g in GROUPS:
        cols = [j for j, n in enumerate(model.names) if model.groups[n] == g]
        tilt = tilt_pnl[:, cols].sum(axis=1)
        tilt_timing[f"{g}_tilt"] = tilt
        tilt_timing[f"{g}_timing"] = pnl[:, cols].sum(axis=1) - tilt
    return Attribution(
        daily=_frame(dates, model, total, pnl),
        long_daily=_frame(dates, model, legs[0][0], legs[0][2]),
        short_daily=_frame(dates, model, legs[1][0], legs[1][2]),
        exposures=pl.DataFrame({"date": dates, **{n: exposure[:, j] for j, n in enumerate(model.names)}})
        .with_columns(pl.col("date").cast(pl.Date)),
        tilt_timing=pl.DataFrame({"date": dates, **tilt_timing}).with_columns(pl.col("date").cast(pl.Date)),
        groups=dict(model.groups),
    )


def attribute_net(attribution: Attribution, costs: dict[str, np.ndarray]) -> pl.DataFrame:
    """The net PnL decomposition: gross components plus one negative column per cost.

    Parameters
    ----------
    attribution : Attribution
        The gross attribution of the book.
    costs : dict of str to np.ndarray
        Cost name (e.g. ``spread``, ``impact``, ``commission``, ``borrow``) -> ``(n_dates,)``
        dollars paid each day (positive = paid; a rebate is negative).

    Returns
    -------
    pl.DataFrame
        ``date, total, market, sector, style, specific, <cost>..., net`` where each cost column
        is ``-cost`` and ``market + sector + style + specific + sum(costs columns) == net ==
        total - sum(costs)`` on every day.
    """
    daily = attribution.daily
    out = daily.select(["date", "total", *attribution.components])
    paid = np.zeros(daily.height)
    for name, cost in costs.items():
        c = np.asarray(cost, dtype=np.float64)
        if name in out.columns or name in RESERVED_COLUMNS or name == "net":
            raise ValueError(f"cost name {name!r} clashes with an attribution column")
        if c.shape != (daily.height,):
            raise ValueError(f"cost {name!r} must have shape ({daily.height},), got {c.shape}")
        if not np.isfinite(c).all():
            raise ValueError(f"cost {name!r} has non-finite values at rows {np.flatnonzero(~np.isfinite(c))[:5]}")
        out = out.with_columns(pl.Series(name, -c))
        paid += c
    return out.with_columns(pl.Series("net", daily["total"].to_numpy() - paid))


def brinson(
    portfolio_weights,
    benchmark_weights,
    portfolio_returns,
    benchmark_returns,
    segments=None,
) -> pl.DataFrame:
    """Single-period Brinson-Fachler attribution of excess return by segment.

    With portfolio/benchmark weights ``wp_i, wb_i`` and returns ``rp_i, rb_i`` per segment and
    benchmark return ``Rb = sum_i wb_i rb_i``:

    * allocation ``(wp_i - wb_i) * (rb_i - Rb)``: over-weighting segments that beat the benchmark;
    * selection ``wb_i * (rp_i - rb_i)``: picking better assets within a segment;
    * interaction ``(wp_i - wb_i) * (rp_i - rb_i)``: over-weighting where the picks were good.

    They sum to ``Rp - Rb``. A segment the portfolio does not hold (``wp_i == 0``) may have a NaN
    return; it is taken as ``rb_i`` (no selection there).

    Parameters
    ----------
    portfolio_weights, benchmark_weights : array-like
        ``(n_segments,)`` weights, each summing to 1.
    portfolio_returns, benchmark_returns : array-like
        ``(n_segments,)`` period returns of each segment, in decimals.
    segments : array-like of str, optional
        Segment names (default ``"0", "1", ...``).

    Returns
    -------
    pl.DataFrame
        ``segment, allocation, selection, interaction, total`` per segment.
    """
    wp, wb, rp, rb = (np.asarray(a, dtype=np.float64) for a in
                      (portfolio_weights, benchmark_weights, portfolio_returns, benchmark_returns))
    if not wp.ndim == 1 or not wp.shape == wb.shape == rp.shape == rb.shape:
        raise ValueError(f"weights and returns must be 1-d of one length, got shapes {wp.shape}, "
                         f"{wb.shape}, {rp.shape}, {rb.shape}")
    for name, w in (("portfolio_weights", wp), ("benchmark_weights", wb)):
        if not np.isfinite(w).all() or abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"{name} must be finite and sum to 1, got {w.tolist()} (sum {w.sum()})")
    rp = np.where((wp == 0) & ~np.isfinite(rp), rb, rp)
    if not (np.isfinite(rp).all() and np.isfinite(rb).all()):
        raise ValueError(f"returns must be finite (portfolio {rp.tolist()}, benchmark {rb.tolist()})")
    names = [str(i) for i in range(wp.size)] if segments is None else [str(s) for s in segments]
    if len(names) != wp.size:
        raise ValueError(f"segments must have {wp.size} names, got {len(names)}")
    bench = float(wb @ rb)
    allocation = (wp - wb) * (rb - bench)
    selection = wb * (rp - rb)
    interaction = (wp - wb) * (rp - rb)
    return pl.DataFrame({"segment": names, "allocation": allocation, "selection": selection,
                         "interaction": interaction, "total": allocation + selection + interaction})
