"""Champion/challenger promotion: a paired, serial-correlation-robust Rank IC test, and the
combinatorial re-validation that lets a champion keep its title.

A challenger replaces the production model (the champion) only when, on the out-of-sample
dates both cover, its cross-sectional Rank IC is higher by more than noise. Two signals scored
on the same dates have strongly correlated daily ICs, and each IC series is autocorrelated
(overlapping label windows, persistent regimes), so the test is *paired* (the per-date IC
difference) and uses a Newey-West (HAC) t-stat instead of the naive one.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from quant_core.validation.ic import ic_series
from quant_core.validation.significance import hac_t_stat, newey_west_lags

__all__ = [
    "REQUIRED_CHECKS",
    "PairedICComparison",
    "PromotionDecision",
    "PromotionPolicy",
    "clone_unfitted",
    "cpcv_path_rank_ic",
    "decide_promotion",
    "one_sided_p",
    "paired_rank_ic",
]

#: Checks of the same training run that must have passed: the data contract and both leakage
#: audits (the names of the research graph's asset checks).
REQUIRED_CHECKS: tuple[str, ...] = (
    "feature_snapshots_contract",
    "targets_leakage_audit",
    "folds_leakage_audit",
)


def one_sided_p(t: float, p_two_sided: float, *, upper: bool) -> float:
    """One-sided p-value from a symmetric test's t-stat and two-sided p.

    ``upper=True`` tests "the mean is above zero" (``p = p2 / 2`` when ``t > 0``, else
    ``1 - p2 / 2``); ``upper=False`` tests "below zero". NaN in, NaN out.
    """
    if not (math.isfinite(t) and math.isfinite(p_two_sided)):
        return math.nan
    half = p_two_sided / 2.0
    return half if (t > 0) == upper and t != 0 else 1.0 - half


@dataclass(frozen=True)
class PairedICComparison:
    """Challenger vs champion Rank IC on the ``(date, asset)`` rows both predicted out of sample.

    Attributes
    ----------
    n_dates
        Dates on which both per-date Rank ICs are defined.
    first_date, last_date
        Span of those dates (None when there are none).
    n_rows
        ``(date, asset)`` rows both models predicted.
    champion_rank_ic, challenger_rank_ic
        Mean per-date Rank IC of each model over the common dates.
    diff_mean, diff_std
        Mean and sample std (ddof=1) of ``challenger_ic - champion_ic`` per date.
    t_hac
        Newey-West t-stat of ``diff_mean`` (Bartlett weights, ``hac_lags`` lags).
    p_value
        One-sided p of "the challenger is better", from the same reference distribution as
        :func:`~quant_core.validation.hac_t_stat`'s two-sided p (half of it when ``t_hac > 0``).
    per_date
        ``date, champion_ic, challenger_ic, diff`` sorted by date.
    """

    n_dates: int
    first_date: Any
    last_date: Any
    n_rows: int
    champion_rank_ic: float
    challenger_rank_ic: float
    diff_mean: float
    diff_std: float
    t_hac: float
    p_value: float
    hac_lags: int
    per_date: pl.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers (dates as ISO strings), without the per-date table."""
        return {
            "n_dates": self.n_dates,
            "first_date": None if self.first_date is None else str(self.first_date),
            "last_date": None if self.last_date is None else str(self.last_date),
            "n_rows": self.n_rows,
            "champion_rank_ic": self.champion_rank_ic,
            "challenger_rank_ic": self.challenger_rank_ic,
            "diff_mean": self.diff_mean,
            "diff_std": self.diff_std,
            "t_hac": self.t_hac,
            "p_value": self.p_value,
            "hac_lags": self.hac_lags,
        }


def _one_prediction_per_row(oof: pl.DataFrame, prediction: str, target: str) -> pl.DataFrame:
    """Average the predictions of a row scored by several folds (combinatorial CV)."""
    missing = [c for c in ("date", "asset", prediction, target) if c not in oof.columns]
    if missing:
        raise ValueError(f"OOF frame is missing columns {missing}; has {oof.columns}")
    return oof.group_by(["date", "asset"]).agg(
        pl.col(prediction).cast(pl.Float64).mean().alias(prediction),
        pl.col(target).cast(pl.Float64).first().alias(target),
    )


def paired_rank_ic(
    champion: pl.DataFrame,
    challenger: pl.DataFrame,
    *,
    horizon_days: int = 1,
    hac_lags: int | None = None,
    prediction: str = "prediction",
    target: str = "target",
    min_assets: int = 5,
) -> PairedICComparison:
    """Paired test of the challenger's Rank IC against the champion's on their common rows.

    Both frames are out-of-fold predictions (``date, asset, prediction, target``, optionally
    ``fold``). They are inner-joined on ``(date, asset)``, so both models are judged on exactly
    the same cross-sections against the same realised target (the challenger's, i.e. the newest
    data). The per-date Rank IC difference is tested with a Newey-West t-stat whose lag count
    covers the ``horizon_days - 1`` days of label overlap.

    Parameters
    ----------
    champion, challenger
        Out-of-fold prediction frames.
    horizon_days
        Label horizon; sets the minimum HAC lag count (default :func:`newey_west_lags`).
    hac_lags
        Explicit Newey-West lags.
    prediction, target
        Column names.
    min_assets
        Dates with fewer common assets are skipped.
    """
    champ = _one_prediction_per_row(champion, prediction, target)
    chal = _one_prediction_per_row(challenger, prediction, target)
    joined = chal.rename({prediction: "challenger"}).join(
        champ.select(["date", "asset", pl.col(prediction).alias("champion")]),
        on=["date", "asset"],
        how="inner",
    )
    ic_chal = ic_series(joined, "challenger", target, min_assets=min_assets)
    ic_champ = ic_series(joined, "champion", target, min_assets=min_assets)
    per_date = (
        ic_champ.select(["date", pl.col("ic").alias("champion_ic")])
        .join(ic_chal.select(["date", pl.col("ic").alias("challenger_ic")]), on="date", how="inner")
        .with_columns((pl.col("challenger_ic") - pl.col("champion_ic")).alias("diff"))
        .sort("date")
    )
    n = per_date.height
    lags = newey_west_lags(max(n, 1), horizon_days) if hac_lags is None else int(hac_lags)
    diff = per_date["diff"].to_numpy()
    nan = math.nan
    if n >= 2:
        t_hac, p_two_sided = hac_t_stat(diff, lags)
        p_value = one_sided_p(t_hac, p_two_sided, upper=True)
        diff_std = float(np.std(diff, ddof=1))
    else:
        t_hac = p_value = diff_std = nan
    return PairedICComparison(
        n_dates=n,
        first_date=per_date["date"].min() if n else None,
        last_date=per_date["date"].max() if n else None,
        n_rows=joined.height,
        champion_rank_ic=float(per_date["champion_ic"].mean()) if n else nan,
        challenger_rank_ic=float(per_date["challenger_ic"].mean()) if n else nan,
        diff_mean=float(diff.mean()) if n else nan,
        diff_std=diff_std,
        t_hac=float(t_hac),
        p_value=p_value,
        hac_lags=lags,
        per_date=per_date,
    )


@dataclass(frozen=True)
class PromotionPolicy:
    """When a challenger may replace the champion.

    Parameters
    ----------
    alpha
        One-sided significance level of "the challenger's Rank IC is higher".
    min_common_dates
        Fewest common out-of-sample dates a comparison may rest on.
    min_improvement
        Smallest mean Rank IC gain (challenger minus champion) worth a switch.
    required_checks
        Checks of the training run that must be present and passed.
    """

    alpha: float = field(default=0.05, metadata={
        "description": "One-sided significance of 'the challenger's Rank IC is higher'"})
    min_common_dates: int = field(default=60, metadata={
        "description": "Fewest common out-of-sample dates a comparison may rest on"})
    min_improvement: float = field(default=0.0, metadata={
        "description": "Smallest mean Rank IC gain worth a switch"})
    require_net_improvement: bool = field(default=False, metadata={
        "description": "Also require a higher net-of-cost daily PnL of the challenger's book (paired HAC test)"})
    required_checks: tuple[str, ...] = REQUIRED_CHECKS

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_common_dates < 2:
            raise ValueError(f"min_common_dates must be >= 2, got {self.min_common_dates}")


@dataclass(frozen=True)
class PairedNetComparison:
    """Paired test of the challenger's net-of-cost daily PnL against the champion's, both traded
    as the same kind of book on their common out-of-sample rows."""

    n_dates: int
    champion_net_pnl_usd: float
    challenger_net_pnl_usd: float
    diff_mean_usd: float
    t_hac: float
    p_value: float
    hac_lags: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def paired_net_test(champion_net: np.ndarray, challenger_net: np.ndarray, horizon_days: int = 1) -> PairedNetComparison:
    """One-sided HAC test of ``mean(challenger_net - champion_net) > 0`` over aligned daily PnL."""
    diff = np.asarray(challenger_net, dtype=np.float64) - np.asarray(champion_net, dtype=np.float64)
    n = diff.size
    lags = newey_west_lags(max(n, 1), horizon_days)
    if n >= 2 and np.std(diff) > 0:
        t_hac, p_two_sided = hac_t_stat(diff, lags)
        p_value = one_sided_p(t_hac, p_two_sided, upper=True)
    else:
        t_hac = p_value = math.nan
    return PairedNetComparison(n_dates=n, champion_net_pnl_usd=float(np.sum(champion_net)),
                               challenger_net_pnl_usd=float(np.sum(challenger_net)),
                               diff_mean_usd=float(diff.mean()) if n else math.nan, t_hac=float(t_hac),
                               p_value=float(p_value), hac_lags=lags)


@dataclass(frozen=True)
class PromotionDecision:
    """The gate's verdict, its reason and the evidence behind it."""

    promote: bool
    reason: str
    checks: dict[str, bool]
    failed_checks: tuple[str, ...]
    missing_checks: tuple[str, ...]
    comparison: PairedICComparison | None
    net: PairedNetComparison | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "net_comparison": None if self.net is None else self.net.to_dict(),
            "promote": self.promote,
            "reason": self.reason,
            "checks": dict(self.checks),
            "failed_checks": list(self.failed_checks),
            "missing_checks": list(self.missing_checks),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
        }


def decide_promotion(
    comparison: PairedICComparison | None,
    checks: Mapping[str, bool],
    policy: PromotionPolicy | None = None,
    net: PairedNetComparison | None = None,
) -> PromotionDecision:
    """Apply the promotion rules in order; the first that fails rejects the challenger.

    1. every ``policy.required_checks`` was evaluated in the training run and passed;
    2. with no champion (``comparison is None``) the challenger is promoted;
    3. at least ``min_common_dates`` common out-of-sample dates;
    4. ``diff_mean > min_improvement``;
    5. one-sided HAC ``p_value < alpha``;
    6. with ``require_net_improvement``: the challenger's book earns more net of costs than the
       champion's on the same dates (one-sided HAC ``p < alpha`` on the daily net PnL difference).

    ``net`` is recorded in the decision whether or not it is required.
    """
    policy = policy or PromotionPolicy()
    checks = {str(k): bool(v) for k, v in checks.items()}
    failed = tuple(c for c in policy.required_checks if checks.get(c) is False)
    missing = tuple(c for c in policy.required_checks if c not in checks)

    def decision(promote: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(promote, reason, checks, failed, missing, comparison, net)

    if failed or missing:
        parts = []
        if failed:
            parts.append(f"check(s) failed: {', '.join(failed)}")
        if missing:
            parts.append(f"check(s) not evaluated in this run: {', '.join(missing)}")
        return decision(False, "blocked: " + "; ".join(parts))
    if comparison is None:
        return decision(True, "no champion yet: the first challenger becomes the champion")
    c = comparison
    if c.n_dates < policy.min_common_dates:
        return decision(False, f"only {c.n_dates} common out-of-sample dates "
                               f"(need >= {policy.min_common_dates})")
    if not c.diff_mean > policy.min_improvement:
        return decision(False, f"challenger Rank IC {c.challenger_rank_ic:+.4f} is not above the "
                               f"champion's {c.champion_rank_ic:+.4f} by more than "
                               f"{policy.min_improvement:g} on {c.n_dates} common dates")
    if not c.p_value < policy.alpha:
        return decision(False, f"gain {c.diff_mean:+.4f} is not significant: HAC t = {c.t_hac:.2f}, "
                               f"one-sided p = {c.p_value:.4f} >= alpha {policy.alpha:g}")
    if policy.require_net_improvement:
        if net is None:
            return decision(False, "the net-of-cost test is required but could not be run")
        if not (net.diff_mean_usd > 0 and net.p_value < policy.alpha):
            return decision(False, f"Rank IC gain {c.diff_mean:+.4f} is significant, but net of costs the "
                                   f"challenger's book earns {net.diff_mean_usd:+,.0f} USD a day more than the "
                                   f"champion's (HAC t = {net.t_hac:.2f}, one-sided p = {net.p_value:.4f})")
    return decision(True, f"challenger Rank IC {c.challenger_rank_ic:+.4f} > champion "
                          f"{c.champion_rank_ic:+.4f} on {c.n_dates} common dates "
                          f"(HAC t = {c.t_hac:.2f}, one-sided p = {c.p_value:.4f})")


def clone_unfitted(model: Any) -> Any:
    """A fresh, unfitted copy of ``model`` built from its constructor parameters.

    Signal models follow sklearn's contract (``__init__`` stores each parameter under its own
    name), so the champion's exact recipe can be re-fitted on other splits.
    """
    params = {}
    for name, parameter in inspect.signature(type(model).__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if not hasattr(model, name):
            raise ValueError(f"{type(model).__name__} does not store its parameter {name!r}")
        params[name] = getattr(model, name)
    return type(model)(**params)


def cpcv_path_rank_ic(
    oof: pl.DataFrame,
    splitter: Any,
    *,
    horizon_days: int = 1,
    prediction: str = "prediction",
    target: str = "target",
    min_assets: int = 5,
) -> pl.DataFrame:
    """Rank IC of every combinatorial purged CV backtest path.

    ``oof`` holds the out-of-fold predictions of ``train_foldwise`` over the splits of
    ``splitter`` (a :class:`~quant_core.model_selection.CombinatorialPurgedKFold`), ``fold``
    being the split number. Path ``p`` takes each date group's predictions from the split
    ``splitter.path_assignment()[p, group]``, so each path is one complete out-of-sample
    history; a recipe that is good on only one of them was lucky.

    Returns
    -------
    pl.DataFrame
        ``path, n_dates, rank_ic_mean, rank_ic_std, rank_icir, t_hac`` (one row per path).
    """
    for col in ("date", "fold", prediction, target):
        if col not in oof.columns:
            raise ValueError(f"oof is missing column {col!r}; has {oof.columns}")
    unique_dates = oof["date"].unique().sort()
    groups = pl.DataFrame({"date": unique_dates,
                           "group": splitter.group_ids(unique_dates.to_numpy())})
    tagged = oof.join(groups, on="date", how="left")
    assignment = splitter.path_assignment()
    rows = []
    for path in range(assignment.shape[0]):
        chosen = pl.DataFrame({"group": np.arange(assignment.shape[1], dtype=np.int64),
                               "fold": assignment[path].astype(np.int64)})
        part = tagged.join(chosen, on=["group", "fold"], how="inner")
        ic = ic_series(part, prediction, target, min_assets=min_assets)["ic"].to_numpy()
        n = ic.size
        std = float(np.std(ic, ddof=1)) if n > 1 else math.nan
        t_hac = hac_t_stat(ic, newey_west_lags(max(n, 1), horizon_days))[0] if n > 1 else math.nan
        rows.append({"path": path, "n_dates": n, "rank_ic_mean": float(ic.mean()) if n else math.nan,
                     "rank_ic_std": std, "rank_icir": float(ic.mean()) / std if n > 1 and std > 0 else math.nan,
                     "t_hac": t_hac})
    return pl.DataFrame(rows, schema={"path": pl.Int64, "n_dates": pl.Int64, "rank_ic_mean": pl.Float64,
                                      "rank_ic_std": pl.Float64, "rank_icir": pl.Float64,
                                      "t_hac": pl.Float64})

