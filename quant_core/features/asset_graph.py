"""The daily asset graph, built point-in-time from sector membership and trailing correlation.

Stocks that share a sector or have moved together lately tend to share news and flows, so a
graph network lets each asset's score borrow from such neighbours. The graph must be as
point-in-time as the features: the edges of date ``t`` use only returns up to close ``t`` and
the sector recorded at ``t``, so changing any data dated after ``t`` changes no edge at ``t``.

Edges of date ``t`` (``neighbour -> asset``: the asset receives its neighbour's message)
    * **correlation**: for each asset, its ``top_k`` neighbours by Pearson correlation of daily
      returns over the trailing ``window_days`` dates ending at ``t`` (pairwise-complete: a pair
      needs ``min_periods`` dates where both returns exist), kept only when the correlation
      exceeds ``min_corr``; ties go to the asset that sorts first. Directed (``b`` in ``a``'s top
      ``k`` does not put ``a`` in ``b``'s).
    * **sector**: every other asset with the same sector at ``t`` (both directions).

Nodes of date ``t`` are the assets with a row at ``t``. Returns are ``close[t] / close[prev] -
1`` over each asset's consecutive rows, or a given return column known at ``t``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["AssetGraph", "asset_graph", "asset_graph_arrays", "trailing_correlation"]


@dataclass(frozen=True)
class AssetGraph:
    """Per-date edge lists in integer codes (the form a graph network consumes).

    Attributes
    ----------
    dates : pl.Series
        Dates the graph was built for, ascending (``date_index`` points into it).
    assets : list of str
        Asset names, sorted (``asset`` and ``neighbour`` point into it).
    date_index, asset, neighbour : np.ndarray
        int64 edge arrays, sorted by ``(date_index, asset, neighbour)``.
    corr : np.ndarray
        Trailing correlation of the pair (NaN where under ``min_periods``).
    same_sector, top_corr : np.ndarray
        bool: why the edge exists (both can be true).
    """

    dates: pl.Series
    assets: list[str]
    date_index: np.ndarray
    asset: np.ndarray
    neighbour: np.ndarray
    corr: np.ndarray
    same_sector: np.ndarray
    top_corr: np.ndarray

    @property
    def n_edges(self) -> int:
        return int(self.asset.size)


def trailing_correlation(returns: np.ndarray, min_periods: int) -> np.ndarray:
    """Pairwise-complete Pearson correlation of the columns of ``returns`` (NaN = missing).

    Parameters
    ----------
    returns : np.ndarray
        ``(n_dates, n_assets)`` window of returns.
    min_periods : int
        Pairs with fewer jointly observed dates get NaN.

    Returns
    -------
    np.ndarray
        ``(n_assets, n_assets)`` float64, diagonal 1 where defined.
    """
    X = np.asarray(returns, dtype=np.float64)
    observed = np.isfinite(X)
    any_obs = observed.any(axis=1)
    if not any_obs.all():  # dates where nothing traded add nothing to any pair
        X, observed = X[any_obs], observed[any_obs]
    if X.shape[0] < max(min_periods, 2):
        return np.full((X.shape[1], X.shape[1]), np.nan)
    if observed.all():  # fast path: one product of centred columns
        Xc = X - X.mean(axis=0)
        ss = np.sqrt((Xc * Xc).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = (Xc.T @ Xc) / np.outer(ss, ss)
        return corr
    M = observed.astype(np.float64)
    Xz = np.where(observed, X, 0.0)
    n = M.T @ M
    sx = Xz.T @ M  # sx[i, j] = sum of x_i over dates where i and j are both observed
    sxx = (Xz * Xz).T @ M
    sxy = Xz.T @ Xz
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var = (sxx - sx * sx / n) * (sxx.T - sx.T * sx.T / n)
        corr = cov / np.sqrt(var)
    corr[n < max(min_periods, 2)] = np.nan
    return corr


def _top_k_mask(score: np.ndarray, k: int) -> np.ndarray:
    """Per row, the ``k`` largest finite scores (ties: lower column first); O(m^2)."""
    m = score.shape[1]
    k = min(k, m)
    kth = -np.partition(-score, k - 1, axis=1)[:, k - 1 : k]  # k-th largest per row
    above = score > kth
    ties = score == kth
    need = k - above.sum(axis=1, keepdims=True)
    return (above | (ties & (np.cumsum(ties, axis=1) <= need))) & np.isfinite(score)


def _wide(frame: pl.DataFrame, value: str, assets: list[str], dates: pl.Series) -> np.ndarray:
    """``(n_dates, n_assets)`` matrix of ``value`` (NaN where there is no row)."""
    out = np.full((dates.len(), len(assets)), np.nan)
    d, a = _codes(frame, assets, dates)
    out[d, a] = frame.get_column(value).cast(pl.Float64).fill_null(np.nan).to_numpy()
    return out


def _codes(frame: pl.DataFrame, assets: list[str], dates: pl.Series) -> tuple[np.ndarray, ...]:
    """Each row's position in ``dates`` and in ``assets`` (both sorted)."""
    d = dates.search_sorted(frame.get_column("date")).to_numpy()
    a = pl.Series(assets, dtype=pl.String).search_sorted(frame.get_column("asset").cast(pl.String))
    return d.astype(np.int64), a.to_numpy().astype(np.int64)


def asset_graph_arrays(
    frame: pl.DataFrame,
    *,
    dates: Sequence | pl.Series | None = None,
    window_days: int = 60,
    min_periods: int = 20,
    top_k: int = 5,
    min_corr: float = 0.0,
    sector_edges: bool = True,
    price_col: str = "close",
    returns_col: str | None = None,
    sector_col: str | None = "sector",
) -> AssetGraph:
    """Build the graph of every date (or of ``dates``) as integer edge arrays.

    Parameters
    ----------
    frame : pl.DataFrame
        Long panel ``date, asset`` with ``price_col`` (or ``returns_col``) and optionally
        ``sector_col``; unique on ``(date, asset)``.
    dates : sequence, optional
        Build only these dates (others in ``frame`` still feed the trailing windows); dates
        absent from ``frame`` get no edges.
    window_days : int
        Trailing dates per correlation window, ``t`` included.
    min_periods : int
        Jointly observed returns a pair needs for a correlation.
    top_k : int
        Correlation neighbours per asset (0 = none).
    min_corr : float
        A correlation edge needs a correlation above this.
    sector_edges : bool
        Add same-sector edges (needs ``sector_col`` in ``frame``).
    price_col, returns_col, sector_col : str
        Column names; ``returns_col`` (a return known at ``t``) replaces the returns computed
        from ``price_col``; ``sector_col=None`` or a missing column means no sector edges.
    """
    if window_days < 2:
        raise ValueError(f"window_days must be >= 2, got {window_days}")
    if not 2 <= min_periods <= window_days:
        raise ValueError(
            f"min_periods must be in [2, window_days={window_days}], got {min_periods}"
        )
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    value = returns_col if returns_col is not None else price_col
    missing = [c for c in ("date", "asset", value) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing columns {missing}; it has {frame.columns[:20]}")
    if frame.select(pl.struct("date", "asset").is_duplicated().any()).item():
        raise ValueError("frame has repeated (date, asset) rows")
    frame = frame.sort("date", "asset")
    if returns_col is None:
        ret = (pl.col(price_col) / pl.col(price_col).shift(1) - 1).over("asset", order_by="date")
        frame = frame.with_columns(ret.alias("_ret"))
        value = "_ret"
    all_dates = frame.get_column("date").unique().sort()
    assets = frame.get_column("asset").unique().sort().to_list()
    R = _wide(frame, value, assets, all_dates)
    present = np.zeros(R.shape, dtype=bool)
    d_code, a_code = _codes(frame, assets, all_dates)
    present[d_code, a_code] = True
    use_sector = sector_edges and sector_col is not None and sector_col in frame.columns
    if use_sector:
        sec = frame.get_column(sector_col).cast(pl.String).rank("dense").fill_null(0)
        S = np.full(R.shape, -1, dtype=np.int64)
        S[d_code, a_code] = sec.to_numpy().astype(np.int64) - 1
    if dates is None:
        out_dates = all_dates
    else:
        wanted = dates if isinstance(dates, pl.Series) else pl.Series("date", list(dates))
        out_dates = wanted.cast(all_dates.dtype).unique().sort()
    parts: list[tuple[np.ndarray, ...]] = []
    t_index = all_dates.search_sorted(out_dates).to_numpy()
    known = t_index < all_dates.len()
    known[known] = (all_dates.gather(t_index[known]) == out_dates.filter(known)).to_numpy()
    for j in np.flatnonzero(known):
        t = int(t_index[j])
        nodes = np.flatnonzero(present[t])
        m = nodes.size
        if m < 2:
            continue
        top = np.zeros((m, m), dtype=bool)
        corr = trailing_correlation(R[max(0, t - window_days + 1) : t + 1, nodes], min_periods)
        np.fill_diagonal(corr, np.nan)
        if top_k > 0:
            top = _top_k_mask(np.where(np.isfinite(corr) & (corr > min_corr), corr, -np.inf), top_k)
        same = np.zeros((m, m), dtype=bool)
        if use_sector:
            s = S[t, nodes]
            same = (s[:, None] == s[None, :]) & (s[:, None] >= 0)
            np.fill_diagonal(same, False)
        edge = top | same
        dst, src = np.nonzero(edge)
        parts.append(
            (np.full(dst.size, j), nodes[dst], nodes[src], corr[dst, src], same[dst, src],
             top[dst, src])
        )  # fmt: skip
    if parts:
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    else:
        cols = [np.empty(0, np.int64)] * 3 + [np.empty(0)] + [np.empty(0, bool)] * 2
    return AssetGraph(
        dates=out_dates.alias("date"),
        assets=assets,
        date_index=cols[0].astype(np.int64),
        asset=cols[1].astype(np.int64),
        neighbour=cols[2].astype(np.int64),
        corr=cols[3].astype(np.float64),
        same_sector=cols[4].astype(bool),
        top_corr=cols[5].astype(bool),
    )


def asset_graph(frame: pl.DataFrame, **kwargs) -> pl.DataFrame:
    """The daily asset graph as a long edge list (see :func:`asset_graph_arrays` for options).

    Returns
    -------
    pl.DataFrame
        ``date, asset, neighbour`` (the asset receives from its neighbour), ``corr`` (trailing
        return correlation, null where undefined), ``same_sector``, ``top_corr`` (why the edge
        exists), sorted by ``(date, asset, neighbour)``.
    """
    g = asset_graph_arrays(frame, **kwargs)
    names = pl.Series("names", g.assets, dtype=pl.String)
    return pl.DataFrame(
        [
            g.dates.gather(g.date_index).alias("date"),
            names.gather(g.asset).alias("asset"),
            names.gather(g.neighbour).alias("neighbour"),
            pl.Series("corr", g.corr, nan_to_null=True),
            pl.Series("same_sector", g.same_sector),
            pl.Series("top_corr", g.top_corr),
        ]
    )
