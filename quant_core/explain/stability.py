"""Do the folds (or the years) agree on what matters? Rank agreement of importances.

An importance ranking that reshuffles from fold to fold or from one period to the next is a
warning: the model may be fitting noise, or the market's drivers moved. Agreement is measured
by Kendall's coefficient of concordance W over all folds at once and by the mean pairwise
Spearman correlation of the importance vectors; a ranking is flagged unstable below a
threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import polars as pl
from scipy.stats import rankdata, spearmanr

__all__ = [
    "StabilityResult",
    "importance_stability",
    "kendall_w",
    "mean_pairwise_spearman",
    "windowed_mean_abs_shap",
]

_METRICS = ("mean_spearman", "kendall_w")


def _matrix(values: np.ndarray) -> np.ndarray:
    m = np.asarray(values, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise ValueError(f"need an (n_items >= 2, n_raters >= 2) matrix, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("importance matrix has non-finite values")
    return m


def kendall_w(values: np.ndarray) -> float:
    """Kendall's W of an (items x raters) matrix, with the correction for ties.

    Each rater (fold, window) ranks the items (features); ``W = 12 S / (m^2 (n^3 - n) - m T)``
    with ``S`` the sum of squared deviations of the items' rank sums, ``m`` raters, ``n``
    items and ``T`` the sum over raters of ``t^3 - t`` over tie groups. 1 means every rater
    ranks identically, 0 no agreement.
    """
    m_ = _matrix(values)
    n, m = m_.shape
    ranks = np.apply_along_axis(rankdata, 0, m_)
    s = float(((ranks.sum(axis=1) - m * (n + 1) / 2.0) ** 2).sum())
    ties = 0.0
    for j in range(m):
        _, counts = np.unique(m_[:, j], return_counts=True)
        ties += float((counts**3 - counts).sum())
    denom = m * m * (n**3 - n) - m * ties
    return 12.0 * s / denom if denom > 0 else float("nan")


def mean_pairwise_spearman(values: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean Spearman correlation over all pairs of raters, and the (raters x raters) matrix."""
    m_ = _matrix(values)
    k = m_.shape[1]
    corr = np.eye(k)
    for a, b in combinations(range(k), 2):
        rho = spearmanr(m_[:, a], m_[:, b]).statistic
        corr[a, b] = corr[b, a] = rho
    iu = np.triu_indices(k, 1)
    return float(np.nanmean(corr[iu])), corr


@dataclass
class StabilityResult:
    """Rank agreement of importances across raters (folds or time windows).

    Attributes
    ----------
    kendall_w, mean_spearman, min_spearman : float
    n_items, n_raters : int
    metric : str
        The statistic compared with ``threshold``.
    threshold : float
    stable : bool
        ``metric >= threshold``; when False the ranking should not be trusted.
    pairwise : pl.DataFrame
        ``rater_a, rater_b, spearman``.
    ranks : pl.DataFrame
        ``item`` plus one column per rater holding the item's rank (1 = most important).
    """

    kendall_w: float
    mean_spearman: float
    min_spearman: float
    n_items: int
    n_raters: int
    metric: str
    threshold: float
    stable: bool
    pairwise: pl.DataFrame
    ranks: pl.DataFrame

    @property
    def message(self) -> str:
        """One line for logs and asset metadata."""
        verdict = "stable" if self.stable else "UNSTABLE"
        return (
            f"{verdict}: Kendall W {self.kendall_w:.3f}, mean pairwise Spearman "
            f"{self.mean_spearman:.3f} (min {self.min_spearman:.3f}) over {self.n_raters} "
            f"raters x {self.n_items} items; {self.metric} threshold {self.threshold}"
        )


def importance_stability(
    table: pl.DataFrame,
    rater_col: str = "fold",
    item_col: str = "feature",
    value_col: str = "mean_abs_shap",
    threshold: float = 0.5,
    metric: str = "mean_spearman",
) -> StabilityResult:
    """Agreement of importance rankings across folds (or windows) of a long table.

    Parameters
    ----------
    table : pl.DataFrame
        Long ``<rater_col>, <item_col>, <value_col>``, e.g. from
        :func:`~quant_core.explain.mean_abs_shap_by_fold` or :func:`windowed_mean_abs_shap`;
        every rater must score every item once.
    threshold : float, default 0.5
        The ranking is flagged unstable when ``metric`` is below it.
    metric : {"mean_spearman", "kendall_w"}
        Mean pairwise Spearman is comparable across numbers of folds; W rises toward
        ``1 / m`` even for random rankings when there are few raters ``m``.

    Returns
    -------
    StabilityResult
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    missing = [c for c in (rater_col, item_col, value_col) if c not in table.columns]
    if missing:
        raise ValueError(f"table is missing columns {missing}")
    if table.select(rater_col, item_col).is_duplicated().any():
        raise ValueError(f"table has duplicate ({rater_col}, {item_col}) rows")
    wide = table.pivot(on=rater_col, index=item_col, values=value_col).sort(item_col)
    raters = [c for c in wide.columns if c != item_col]
    values = wide.select(raters).to_numpy()
    if np.isnan(values).any():
        raise ValueError(f"every {rater_col} must score every {item_col}; some pairs are missing")
    w = kendall_w(values)
    mean_rho, corr = mean_pairwise_spearman(values)
    pairs = list(combinations(range(len(raters)), 2))
    pairwise = pl.DataFrame(
        {
            "rater_a": [raters[a] for a, _ in pairs],
            "rater_b": [raters[b] for _, b in pairs],
            "spearman": [float(corr[a, b]) for a, b in pairs],
        },
        schema={"rater_a": pl.String, "rater_b": pl.String, "spearman": pl.Float64},
    )
    ranks = wide.select(
        item_col,
        *[pl.col(r).rank("ordinal", descending=True).cast(pl.Int64).alias(str(r)) for r in raters],
    ).rename({item_col: "item"})
    value = w if metric == "kendall_w" else mean_rho
    return StabilityResult(
        kendall_w=w,
        mean_spearman=mean_rho,
        min_spearman=float(pairwise.get_column("spearman").min()),
        n_items=values.shape[0],
        n_raters=values.shape[1],
        metric=metric,
        threshold=threshold,
        stable=bool(value >= threshold),
        pairwise=pairwise,
        ranks=ranks,
    )


def windowed_mean_abs_shap(
    shap_frame: pl.DataFrame, features: Sequence[str], window_days: int = 63
) -> pl.DataFrame:
    """Mean |SHAP| per feature in consecutive windows of ``window_days`` unique dates.

    Returns
    -------
    pl.DataFrame
        ``window, window_start, window_end, feature, mean_abs_shap``; feed it to
        :func:`importance_stability` with ``rater_col="window"`` for stability over time. A
        last window shorter than half ``window_days`` is merged into the one before.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    features = list(features)
    missing = [c for c in ["date", *features] if c not in shap_frame.columns]
    if missing:
        raise ValueError(f"shap_frame is missing columns {missing}")
    dates = shap_frame.get_column("date").unique().sort()
    window = np.arange(dates.len()) // window_days
    n_win = int(window[-1]) + 1 if dates.len() else 0
    if n_win > 1 and (window == n_win - 1).sum() < window_days / 2:
        window[window == n_win - 1] = n_win - 2
    lookup = pl.DataFrame({"date": dates, "window": pl.Series(window, dtype=pl.Int64)})
    agg = (
        shap_frame.select("date", *features)
        .join(lookup, on="date")
        .group_by("window")
        .agg(
            pl.col("date").min().alias("window_start"),
            pl.col("date").max().alias("window_end"),
            *[pl.col(f).abs().mean() for f in features],
        )
    )
    return agg.unpivot(
        index=["window", "window_start", "window_end"],
        on=features,
        variable_name="feature",
        value_name="mean_abs_shap",
    ).sort(["window", "feature"])
