"""PNG plots of explanations: dependence, permutation importance, families, regimes.

Each function draws on a matplotlib ``Figure`` with an Agg canvas (no pyplot global state;
matplotlib is imported only when a plot is drawn), writes a PNG and returns its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "PERMUTATION_TOP_N",
    "group_bar_plot",
    "permutation_importance_plot",
    "permutation_plot_rows",
    "regime_importance_plot",
    "shap_dependence_plot",
]


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def shap_dependence_plot(
    shap_values: np.ndarray,
    X: Any,
    features: Sequence[str],
    path: str | Path,
    top_n: int = 4,
    max_points: int = 2000,
    seed: int = 0,
) -> Path:
    """SHAP value against feature value for the ``top_n`` features by mean |SHAP|.

    One panel per feature; dots are coloured by the other feature whose value correlates most
    with what a straight line in the feature leaves unexplained of its SHAP value, a cheap
    hint of an interaction partner. A straight rising cloud is a linear effect, a bend a non-linearity.
    """
    features = list(features)
    sv = np.asarray(shap_values, dtype=np.float64)[:, : len(features)]
    if isinstance(X, pl.DataFrame):
        X = X.select(pl.col(features).cast(pl.Float64)).to_numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.shape != sv.shape:
        raise ValueError(f"X shape {X.shape} does not match shap_values {sv.shape}")
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    rng = np.random.default_rng(seed)
    rows = (
        rng.choice(sv.shape[0], size=max_points, replace=False)
        if sv.shape[0] > max_points
        else np.arange(sv.shape[0])
    )
    sv, X = sv[rows], X[rows]
    order = np.argsort(-np.abs(sv).mean(axis=0), kind="stable")[: min(top_n, len(features))]
    ncol = min(2, len(order))
    nrow = int(np.ceil(len(order) / ncol))
    fig = _figure(5.5 * ncol, 4.0 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol)).ravel()
    for ax, j in zip(axes, order, strict=False):
        x, s = X[:, j], sv[:, j]
        partner = None
        best = 0.0
        for k in range(len(features)):
            ok = np.isfinite(X[:, k]) & np.isfinite(s)
            if k == j or ok.sum() < 3 or np.ptp(X[ok, k]) == 0:
                continue
            c = abs(np.corrcoef(X[ok, k], s[ok] - np.polyval(_fit_line(x, s), x)[ok])[0, 1])
            if np.isfinite(c) and c > best:
                best, partner = c, k
        if partner is None:
            ax.scatter(x, s, s=5, alpha=0.5, color="#4c72b0")
        else:
            pc = ax.scatter(x, s, s=5, alpha=0.6, c=X[:, partner], cmap="coolwarm")
            fig.colorbar(pc, ax=ax, label=features[partner])
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xlabel(features[j])
        ax.set_ylabel(f"SHAP({features[j]})")
        ax.set_title(f"{features[j]}: mean |SHAP| {np.abs(s).mean():.2e}")
    for ax in axes[len(order) :]:
        ax.set_visible(False)
    return _save(fig, path)


def _fit_line(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return np.array([0.0, float(np.nanmean(y)) if ok.any() else 0.0])
    return np.polyfit(x[ok], y[ok], 1)


# At most this many bars per panel: 25 rows make a figure 1,200 px tall at 100 dpi.
PERMUTATION_TOP_N = 25


def permutation_plot_rows(
    table: pl.DataFrame, groups_table: pl.DataFrame | None = None, top_n: int = PERMUTATION_TOP_N
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows :func:`permutation_importance_plot` draws: ``(features, families)``.

    Rows of ``table`` whose ``kind`` is ``"group"`` are families, the others features (all of
    them when there is no ``kind`` column); every row of ``groups_table`` is a family. Each
    part keeps its ``top_n`` rows by ``importance`` (ties in table order), sorted descending.
    """
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    is_group = pl.col("kind") == "group" if "kind" in table.columns else pl.lit(False)
    features = table.filter(~is_group)
    families = table.filter(is_group)
    if groups_table is not None:
        families = pl.concat([families, groups_table], how="diagonal_relaxed")

    def top(t: pl.DataFrame) -> pl.DataFrame:
        return t.sort("importance", descending=True, nulls_last=True, maintain_order=True).head(top_n)

    return top(features), top(families)


def permutation_importance_plot(
    table: pl.DataFrame,
    path: str | Path,
    groups_table: pl.DataFrame | None = None,
    *,
    top_n: int = PERMUTATION_TOP_N,
) -> Path:
    """Horizontal bars of the Rank IC drop per item with both confidence intervals.

    ``table`` is :attr:`PermutationImportance.table` (single features, families or both, told
    apart by its ``kind`` column); ``groups_table`` optionally adds a family-level table. Only
    the ``top_n`` (25) items by importance are drawn, features and families in separate
    panels side by side (see :func:`permutation_plot_rows`), so the figure stays readable and
    at most ``0.4 * top_n + 2`` inches (1,200 px) tall however many features there are. Thick
    black bars: t-interval over repeats; thin grey whiskers: date-block bootstrap interval.
    """
    return _save(_permutation_figure(table, groups_table, top_n), path)


def _permutation_figure(
    table: pl.DataFrame, groups_table: pl.DataFrame | None, top_n: int
) -> Any:
    features, families = permutation_plot_rows(table, groups_table, top_n)
    n_groups = int((table.get_column("kind") == "group").sum()) if "kind" in table.columns else 0
    n_families = n_groups + (0 if groups_table is None else groups_table.height)
    panels = [
        (part, total, noun)
        for part, total, noun in [
            (features, table.height - n_groups, "features"),
            (families, n_families, "families"),
        ]
        if part.height
    ] or [(features, 0, "features")]  # nothing to draw: one empty panel
    rows = max(1, *(part.height for part, _, _ in panels))
    fig = _figure(8.0 if len(panels) == 1 else 15.0, max(3.0, 0.4 * rows + 2.0))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    both = pl.concat([features, families], how="diagonal_relaxed")
    base = float(both.get_column("baseline_rank_ic")[0]) if both.height else float("nan")
    for ax, (part, total, noun) in zip(axes, panels, strict=True):
        _permutation_panel(ax, part, rows)
        shown = f"top {part.height} of {total} {noun}" if total > part.height else f"{total} {noun}"
        ax.set_title(f"Permutation importance (out of sample): {shown}")
        ax.set_xlabel(f"drop in mean Rank IC when shuffled within dates (baseline {base:.4f})")
    # just under the x label (about 0.55 in below the axes), where it cannot hide a bar
    below = -0.55 / (fig.get_figheight() - 1.0)
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, below), ncol=2, fontsize=8, frameon=False)
    return fig


def _permutation_panel(ax: Any, part: pl.DataFrame, rows: int) -> None:
    """Bars of ``part`` (sorted by importance, descending) top-aligned on ``rows`` slots."""
    t = part.reverse()  # matplotlib draws y = 0 at the bottom: largest importance on top
    k = t.height
    y = np.arange(k) + (rows - k)
    imp = t.get_column("importance").to_numpy()
    ax.barh(y, imp, color=np.where(imp > 0, "#4c72b0", "#c44e52"), alpha=0.8)
    lo, hi = t.get_column("boot_ci_low").to_numpy(), t.get_column("boot_ci_high").to_numpy()
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.hlines(y[ok], lo[ok], hi[ok], color="grey", lw=1.0, label="date-block bootstrap CI")
    ax.hlines(
        y,
        t.get_column("t_ci_low").to_numpy(),
        t.get_column("t_ci_high").to_numpy(),
        color="black",
        lw=3.0,
        label="t-interval over repeats",
    )
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_yticks(y, t.get_column("item").to_list())
    ax.set_ylim(-0.6, rows - 0.4)


def group_bar_plot(group_table: pl.DataFrame, path: str | Path) -> Path:
    """Bars per feature family: share of score variance and share of IC.

    ``group_table`` is :func:`~quant_core.explain.group_contributions`' output.
    """
    t = group_table.sort("mean_abs_contribution")
    k = t.height
    y = np.arange(k)
    has_ic = t.get_column("ic_share").null_count() < k
    fig = _figure(11.0 if has_ic else 6.0, max(3.0, 0.45 * k + 1.5))
    axes = np.atleast_1d(fig.subplots(1, 2 if has_ic else 1, sharey=True))
    labels = t.get_column("group").to_list()
    panels = [("variance_share", "share of cross-sectional score variance")]
    if has_ic:
        panels.append(("ic_share", "share of the score's Pearson IC"))
    for ax, (col, title) in zip(axes, panels, strict=True):
        v = t.get_column(col).fill_null(0.0).to_numpy()
        ax.barh(y, v, color=np.where(v >= 0, "#55a868", "#c44e52"))
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_title(title)
        for yi, vi in zip(y, v, strict=True):
            ax.annotate(
                f"{vi:+.0%}",
                (vi, yi),
                xytext=(3 if vi >= 0 else -3, 0),
                textcoords="offset points",
                ha="left" if vi >= 0 else "right",
                va="center",
                fontsize=8,
            )
        ax.margins(x=0.15)
    axes[0].set_yticks(y, labels)
    return _save(fig, path)


def regime_importance_plot(regime_table: pl.DataFrame, path: str | Path, top_n: int = 10) -> Path:
    """Grouped bars of mean |SHAP| per feature, one bar colour per regime.

    ``regime_table`` is :func:`~quant_core.explain.shap_by_regime`' output; features are the
    ``top_n`` by their largest mean |SHAP| in any regime.
    """
    top = (
        regime_table.group_by("feature")
        .agg(pl.col("mean_abs_shap").max().alias("m"))
        .sort(["m", "feature"], descending=[True, False])
        .head(top_n)
        .get_column("feature")
        .to_list()[::-1]
    )
    regimes = sorted(regime_table.get_column("regime").unique().to_list())
    k, r = len(top), max(1, len(regimes))
    fig = _figure(8.0, max(3.0, 0.5 * k + 1.5))
    ax = fig.subplots()
    height = 0.8 / r
    colours = ["#4c72b0", "#c44e52", "#55a868", "#8172b2", "#ccb974", "#64b5cd"]
    for i, reg in enumerate(regimes):
        sub = regime_table.filter(pl.col("regime") == reg)
        lookup = dict(zip(sub.get_column("feature"), sub.get_column("mean_abs_shap"), strict=True))
        vals = [lookup.get(f, 0.0) for f in top]
        ax.barh(
            np.arange(k) + (i - (r - 1) / 2) * height,
            vals,
            height=height,
            color=colours[i % len(colours)],
            label=str(reg),
        )
    ax.set_yticks(np.arange(k), top)
    ax.set_xlabel("mean |SHAP|")
    ax.set_title("SHAP importance by regime")
    ax.legend(fontsize=8)
    return _save(fig, path)
