"""PNG figures of the validation report (matplotlib, imported only inside each function)."""

from __future__ import annotations

import io
import math

import numpy as np
import polars as pl

__all__ = ["decay_png", "ic_plot_png", "pbo_logits_png", "quantile_bars_png"]

_BLUE, _ORANGE, _NAVY, _GREEN = "#4c9be8", "#e8704c", "#1a2b4c", "#2e7d32"


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def ic_plot_png(ic_frame: pl.DataFrame, title: str = "Rank IC", window: int | None = None) -> bytes:
    """PNG of the daily IC (bars) with its rolling mean, and the cumulative IC below.

    A steadily rising cumulative IC means the edge is persistent; a flat stretch shows when it
    stopped working.
    """
    from matplotlib.figure import Figure

    dates = ic_frame["date"].to_numpy()
    ic = ic_frame["ic"].cast(pl.Float64).to_numpy()
    n = ic.size
    window = window or max(5, min(63, n // 10 or 1))
    roll = ic_frame["ic"].rolling_mean(window_size=window, min_samples=max(1, window // 2))
    roll = roll.to_numpy()
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    colors = np.where(ic >= 0, _BLUE, _ORANGE)
    ax1.vlines(dates, 0.0, ic, colors=colors, alpha=0.55, linewidth=1.0)  # one collection, not n bars
    ax1.plot(dates, roll, color=_NAVY, lw=1.6, label=f"{window}-day rolling mean")
    mean = float(np.mean(ic)) if n else 0.0
    ax1.axhline(mean, color=_GREEN, lw=1, ls="--", label=f"mean {mean:.3f}")
    ax1.axhline(0, color="grey", lw=0.8)
    ax1.set_ylabel("IC per date")
    ax1.set_title(f"{title}: daily values")
    ax1.legend(loc="upper left", fontsize=8, frameon=False)
    ax1.grid(alpha=0.25)
    ax2.plot(dates, np.cumsum(ic), color=_NAVY, lw=1.6)
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_ylabel("cumulative IC")
    ax2.set_title(f"{title}: cumulative sum")
    ax2.grid(alpha=0.25)
    return _png(fig)


def decay_png(decay: list[dict], half_life: dict | None, xlabel: str = "horizon (days)") -> bytes:
    """Mean IC by horizon (points with +/- 2 standard errors) and the fitted exponential."""
    from matplotlib.figure import Figure

    h = np.array([r["horizon"] for r in decay], dtype=float)
    y = np.array([np.nan if r["ic_mean"] is None else r["ic_mean"] for r in decay])
    se = np.array(
        [
            abs(r["ic_mean"] / r["t_hac"]) if r.get("t_hac") and r.get("ic_mean") is not None
            else np.nan
            for r in decay
        ]
    )
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(h, y, yerr=2 * se, fmt="o", color=_NAVY, capsize=3, label="mean IC (+/- 2 HAC s.e.)")
    if half_life and half_life.get("half_life") is not None and half_life.get("amplitude"):
        hl, a = half_life["half_life"], half_life["amplitude"]
        grid = np.linspace(h.min(), h.max(), 200)
        ax.plot(grid, a * np.exp(-math.log(2) * grid / hl), color=_ORANGE,
                label=f"fit, half-life {hl:.1f} days")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean IC")
    ax.set_title("IC decay")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    return _png(fig)


def quantile_bars_png(by_quantile: list[dict], spread_mean: float | None, horizon_days: int) -> bytes:
    """Mean forward return per signal bucket, in basis points, bottom to top."""
    from matplotlib.figure import Figure

    q = [int(r["quantile"]) for r in by_quantile]
    bps = np.array([np.nan if r["mean_return"] is None else 1e4 * r["mean_return"] for r in by_quantile])
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.bar(q, bps, color=np.where(bps >= 0, _BLUE, _ORANGE), width=0.7)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(q, [f"Q{k}" for k in q])
    ax.set_xlabel("signal quantile (Q1 = lowest signal)")
    ax.set_ylabel(f"mean {horizon_days}-day forward return (bp)")
    title = "Mean forward return by signal quantile"
    if spread_mean is not None:
        title += f"\ntop minus bottom: {1e4 * spread_mean:.1f} bp"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.25, axis="y")
    return _png(fig)


def pbo_logits_png(edges: list[float], counts: list[int], pbo: float) -> bytes:
    """Histogram of the CSCV logits: the mass left of zero is the probability of overfitting."""
    from matplotlib.figure import Figure

    e = np.asarray(edges, dtype=float)
    c = np.asarray(counts, dtype=float)
    fig = Figure(figsize=(6.5, 3.2), layout="constrained")
    ax = fig.subplots()
    left = e[:-1]
    ax.bar(left, c, width=np.diff(e), align="edge", color=np.where(left + np.diff(e) / 2 <= 0,
                                                                    _ORANGE, _BLUE), alpha=0.85)
    ax.axvline(0, color="grey", lw=1.2)
    reach = float(np.max(np.abs(e))) if e.size else 1.0
    ax.set_xlim(-1.05 * reach, 1.05 * reach)
    ax.set_xlabel("logit of the in-sample winner's out-of-sample rank (< 0: below median)")
    ax.set_ylabel("splits")
    ax.set_title(f"CSCV: probability of backtest overfitting {pbo:.0%}", fontsize=10)
    ax.grid(alpha=0.25)
    return _png(fig)
