"""Plots of a backtest: cumulative gross vs net PnL with the cost components, the attribution
bars, and the capacity curve. Each returns PNG bytes (matplotlib's object API, no global state)."""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import polars as pl

__all__ = ["attribution_plot_png", "capacity_plot_png", "pnl_plot_png"]

_COLORS = {"gross": "#1f4e79", "net": "#2e7d32", "spread": "#ef6c00", "impact": "#c62828",
           "commission": "#6a1b9a", "borrow": "#795548"}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def pnl_plot_png(daily: pl.DataFrame, title: str = "book") -> bytes:
    """Cumulative gross and net PnL (top) and the cumulative cost of each component (bottom)."""
    from matplotlib.figure import Figure

    dates = daily["date"].to_numpy()
    fig = Figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for name in ("gross", "net"):
        top.plot(dates, np.cumsum(daily[name].to_numpy()), color=_COLORS[name], lw=1.6, label=name)
    top.axhline(0, color="grey", lw=0.8)
    top.set_ylabel("cumulative PnL (USD)")
    top.set_title(f"{title}: gross -> net")
    top.legend(loc="upper left", frameon=False, fontsize=8)
    top.grid(alpha=0.25)
    for name in ("spread", "impact", "commission", "borrow"):
        bottom.plot(dates, np.cumsum(daily[name].to_numpy()), color=_COLORS[name], lw=1.3, label=name)
    bottom.set_ylabel("cumulative cost (USD)")
    bottom.legend(loc="upper left", frameon=False, fontsize=8, ncol=4)
    bottom.grid(alpha=0.25)
    return _png(fig)


def attribution_plot_png(gross: Mapping[str, float], net: Mapping[str, float], title: str = "book") -> bytes:
    """Horizontal bars: each component's total PnL, gross and net of costs."""
    from matplotlib.figure import Figure

    names = list(dict.fromkeys([*gross, *net]))
    y = np.arange(len(names))
    fig = Figure(figsize=(9, 0.45 * len(names) + 1.6), layout="constrained")
    ax = fig.subplots()
    ax.barh(y - 0.2, [gross.get(n, 0.0) for n in names], height=0.4, color=_COLORS["gross"], label="gross")
    ax.barh(y + 0.2, [net.get(n, 0.0) for n in names], height=0.4, color=_COLORS["net"], label="net")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("PnL over the period (USD)")
    ax.set_title(f"{title}: where the PnL comes from")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.25, axis="x")
    return _png(fig)


def capacity_plot_png(curve: pl.DataFrame, points: Mapping[str, float | None], title: str = "book") -> bytes:
    """Net Sharpe and the share of gross PnL taken by costs against AUM (log scale)."""
    from matplotlib.figure import Figure

    aum = curve["aum_usd"].to_numpy()
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    ax = fig.subplots()
    ax.semilogx(aum, curve["net_sharpe"].to_numpy(), "o-", color=_COLORS["net"], label="net Sharpe")
    ax.semilogx(aum, curve["gross_sharpe"].to_numpy(), "o--", color=_COLORS["gross"], label="gross Sharpe")
    ax.axhline(0, color="grey", lw=0.8)
    for key, style in (("half_sharpe_aum_usd", ":"), ("capacity_aum_usd", "-.")):
        if points.get(key):
            ax.axvline(points[key], color="black", ls=style, lw=1, label=f"{key.removesuffix('_usd')} {points[key]:.3g}")
    ax.set_xlabel("AUM (USD)")
    ax.set_ylabel("annualised Sharpe")
    share = ax.twinx()
    share.semilogx(aum, np.clip(curve["cost_share"].to_numpy(), 0, 5), "s-", color=_COLORS["impact"], alpha=0.6,
                   label="costs / gross PnL")
    share.set_ylabel("costs / gross PnL")
    lines = ax.get_legend_handles_labels()
    extra = share.get_legend_handles_labels()
    ax.legend(lines[0] + extra[0], lines[1] + extra[1], frameon=False, fontsize=8, loc="lower left")
    ax.set_title(f"{title}: capacity")
    ax.grid(alpha=0.25)
    return _png(fig)
