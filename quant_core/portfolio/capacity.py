"""Capacity: the same book re-simulated at a grid of AUM, and where its edge dies.

Linear costs grow with AUM, impact with AUM^1.5, and the participation cap starts to bind; the
gross PnL grows only linearly. ``capacity_curve`` reports, per AUM, gross and net PnL, net
Sharpe, the share of gross PnL the costs take and (with a factor model) the net alpha: specific
PnL minus costs. ``capacity_points`` interpolates, in log AUM, where the net Sharpe falls to half
its value at the smallest AUM and where the net alpha (else the net PnL) reaches zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from quant_core.portfolio.construction import WeightsResult
from quant_core.portfolio.ledger import LEDGER_COSTS, SimulationSpec, simulate
from quant_core.portfolio.market import MarketData

__all__ = ["DEFAULT_AUM_GRID_USD", "capacity_curve", "capacity_points"]

DEFAULT_AUM_GRID_USD = tuple(float(x) for x in np.logspace(6, 10, 9))  # 1e6 .. 1e10, half-decades


def capacity_curve(market: MarketData, weights: WeightsResult | Callable[[float], WeightsResult],
                   spec: SimulationSpec, aum_grid_usd: Sequence[float] = DEFAULT_AUM_GRID_USD,
                   specific_pnl: Callable[[np.ndarray], np.ndarray] | None = None) -> pl.DataFrame:
    """One row per AUM: ``aum_usd, gross_pnl_usd, net_pnl_usd, costs_usd, cost_share, gross_sharpe,
    net_sharpe, turnover_mean, unfilled_usd`` and, when ``specific_pnl(held_usd) -> daily specific
    PnL`` is given, ``net_alpha_usd``.

    ``weights`` may be a function of AUM (a book whose caps depend on dollar volume changes shape
    as it grows).
    """
    rows = []
    for aum in sorted(float(a) for a in aum_grid_usd):
        book = weights(aum) if callable(weights) else weights
        result = simulate(market, book, replace(spec, aum_usd=aum))
        totals = result.totals()
        costs = sum(totals[c] for c in LEDGER_COSTS)
        row = {"aum_usd": aum, "gross_pnl_usd": totals["gross"], "net_pnl_usd": totals["net"], "costs_usd": costs,
               "cost_share": costs / totals["gross"] if totals["gross"] > 0 else float("nan"),
               "gross_sharpe": result.sharpe("gross"), "net_sharpe": result.sharpe("net"),
               "turnover_mean": result.turnover_mean(), "unfilled_usd": float(result.daily["unfilled_usd"].sum())}
        if specific_pnl is not None:
            row["net_alpha_usd"] = float(np.sum(specific_pnl(result.held_usd))) - costs
        rows.append(row)
    return pl.DataFrame(rows)


def _crossing(aum: np.ndarray, values: np.ndarray, level: float) -> float | None:
    """The AUM (log-linear interpolation) where ``values`` first falls to ``level`` or below."""
    below = np.flatnonzero(values <= level)
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(aum[0])
    x0, x1 = np.log10(aum[k - 1]), np.log10(aum[k])
    y0, y1 = values[k - 1], values[k]
    t = (y0 - level) / (y0 - y1) if y0 != y1 else 0.0
    return float(10 ** (x0 + t * (x1 - x0)))


def capacity_points(curve: pl.DataFrame) -> dict[str, float | None]:
    """``half_sharpe_aum_usd`` (net Sharpe at half its smallest-AUM value) and
    ``capacity_aum_usd`` (net alpha, else net PnL, reaches zero); None when the grid never gets there."""
    if curve.height == 0:
        return {"half_sharpe_aum_usd": None, "capacity_aum_usd": None, "net_sharpe_at_smallest_aum": None}
    aum = curve["aum_usd"].to_numpy()
    sharpe = curve["net_sharpe"].to_numpy()
    start = sharpe[0]
    half = _crossing(aum, sharpe, start / 2) if np.isfinite(start) and start > 0 else None
    edge = curve["net_alpha_usd"].to_numpy() if "net_alpha_usd" in curve.columns else curve["net_pnl_usd"].to_numpy()
    return {"half_sharpe_aum_usd": half, "capacity_aum_usd": _crossing(aum, edge, 0.0),
            "net_sharpe_at_smallest_aum": float(start)}
