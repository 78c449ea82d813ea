"""Blending out-of-fold member signals into one ensemble score.

Blend weights are themselves a fitted model: they are estimated on the earlier dates of the
out-of-fold predictions only and judged on later dates the weights never saw, so the ensemble's
reported skill is out of sample twice over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "BLEND_METHODS",
    "BlendResult",
    "apply_blend",
    "blend_transform",
    "blend_weights",
    "fit_blend",
    "outer_split",
    "zscore_by_date",
]

BLEND_METHODS = ("equal", "ic_weighted", "rank_average", "nnls")


@dataclass
class BlendResult:
    """Fitted blend.

    Attributes
    ----------
    weights : dict[str, float]
        Non-negative member weights summing to 1.
    method : str
    fit_dates, eval_dates : tuple[date, date]
        First and last date of the weight-fitting and of the held-out evaluation period;
        every evaluation date is after every fitting date.
    eval_frame : pl.DataFrame
        ``date, asset, target, ensemble, <members>`` on the evaluation dates (members raw).
    transform : str
        Per-date member transform applied before weighting: "zscore" or "rank".
    member_ic : dict[str, float]
        Mean per-date Spearman rank IC of each member on the fitting dates.
    """

    weights: dict[str, float]
    method: str
    fit_dates: tuple[Any, Any]
    eval_dates: tuple[Any, Any]
    eval_frame: pl.DataFrame
    transform: str = "zscore"
    member_ic: dict[str, float] = field(default_factory=dict)

    def apply(self, frame: pl.DataFrame, output: str = "ensemble") -> pl.DataFrame:
        """Score ``frame`` (date, asset, <members>) with these weights."""
        return apply_blend(
            frame, self.weights, list(self.weights), transform=self.transform, output=output
        )


def _zscore_expr(col: str, by: str = "date") -> pl.Expr:
    x = pl.col(col).cast(pl.Float64).fill_nan(None)
    std = x.std(ddof=0).over(by)
    z = (x - x.mean().over(by)) / std
    return pl.when(std > 0).then(z).otherwise(0.0).fill_null(0.0).alias(col)


def _rank_expr(col: str, by: str = "date") -> pl.Expr:
    return pl.col(col).cast(pl.Float64).fill_nan(None).rank("average").over(by).alias(col)


def zscore_by_date(frame: pl.DataFrame, columns: Sequence[str], by: str = "date") -> pl.DataFrame:
    """Cross-sectionally z-score ``columns`` within each date; nulls and flat dates -> 0."""
    return frame.with_columns([_zscore_expr(c, by) for c in columns])


def _transformed(frame: pl.DataFrame, members: Sequence[str], transform: str) -> pl.DataFrame:
    if transform == "rank":
        frame = frame.with_columns([_rank_expr(c) for c in members])
    elif transform != "zscore":
        raise ValueError(f"transform must be 'zscore' or 'rank', got {transform!r}")
    return zscore_by_date(frame, members)


def _check(frame: pl.DataFrame, members: Sequence[str], need: Sequence[str]) -> None:
    if not members:
        raise ValueError("members must name at least one column, got []")
    if len(set(members)) != len(members):
        raise ValueError(f"members must be unique, got {list(members)}")
    missing = [c for c in [*need, *members] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing columns {missing}")


def apply_blend(
    frame: pl.DataFrame,
    weights: Mapping[str, float],
    members: Sequence[str] | None = None,
    *,
    transform: str = "zscore",
    output: str = "ensemble",
) -> pl.DataFrame:
    """Add ``output`` = sum of weight x per-date transformed member to ``frame``.

    Members are z-scored within each date (after ranking if ``transform="rank"``) so that
    signals on different scales combine on equal footing; a missing member value counts as 0
    (the cross-sectional average).
    """
    members = list(weights) if members is None else list(members)
    _check(frame, members, ["date"])
    unknown = [m for m in weights if m not in members]
    if unknown:
        raise ValueError(f"weights name members {unknown} not in members {members}")
    t = _transformed(frame.select(["date", *members]), members, transform)
    score = np.zeros(frame.height, dtype=np.float64)
    for m in members:
        w = float(weights.get(m, 0.0))
        if w:
            score += w * t.get_column(m).to_numpy()
    return frame.with_columns(pl.Series(output, score, dtype=pl.Float64))


def _mean_rank_ic(fit: pl.DataFrame, members: Sequence[str], target: str) -> dict[str, float]:
    """Mean per-date Rank IC (:func:`~quant_core.validation.ic_series`) of each member; 0.0 for
    a member without a single usable date. Every date with two or more complete (member,
    target) pairs counts (``min_assets=2``): the fit slice of an ensemble may be thin."""
    from quant_core.validation.ic import ic_series  # lazy: importing ensemble stays light

    out = {}
    for m in members:
        ic = ic_series(fit, m, target, method="spearman", min_assets=2).get_column("ic")
        out[m] = float(ic.mean()) if ic.len() else 0.0  # sorted by date: a fixed summation order
    return out


def _nnls_weights(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative least squares ``min ||y - X b||, b >= 0``, then ``w = b / sum(b)``.

    The scale of a cross-sectional signal is irrelevant, so the free-scale NNLS fit is
    normalised afterwards rather than forcing ``sum(b) = 1`` inside the fit: a sum-to-one
    constraint on z-scored members would reward low-variance (hedging) mixtures over
    predictive ones. Equal weights if every coefficient is 0.
    """
    from scipy.optimize import nnls

    b, _ = nnls(X, y)
    total = b.sum()
    return b / total if total > 0 else np.full(X.shape[1], 1.0 / X.shape[1])


def blend_transform(method: str) -> str:
    """Per-date member transform a blend method uses: "rank" for rank_average, else "zscore"."""
    if method not in BLEND_METHODS:
        raise ValueError(f"method must be one of {BLEND_METHODS}, got {method!r}")
    return "rank" if method == "rank_average" else "zscore"


def outer_split(dates: Any, outer_test_fraction: float) -> Any:
    """Last date of the fitting period of an outer (fit, eval) split of ``dates``.

    The earliest ``floor(n * (1 - outer_test_fraction))`` unique dates fit an ensemble; the
    later ones judge it. Every ensemble in this package uses this rule, so a blend, a stack
    and a regime router fitted on the same frame share the same held-out dates.
    """
    if not 0.0 < outer_test_fraction < 1.0:
        raise ValueError(f"outer_test_fraction must be in (0, 1), got {outer_test_fraction}")
    unique = pl.Series("date", dates).unique().sort()
    n_fit = int(np.floor(unique.len() * (1.0 - outer_test_fraction)))
    if n_fit < 1 or n_fit >= unique.len():
        raise ValueError(
            f"{unique.len()} unique dates with outer_test_fraction={outer_test_fraction} "
            f"leave {n_fit} fit dates and {unique.len() - n_fit} eval dates; need >= 1 of each"
        )
    return unique[n_fit - 1]


def blend_weights(
    fit: pl.DataFrame, members: Sequence[str], method: str = "ic_weighted", target: str = "target"
) -> tuple[dict[str, float], dict[str, float]]:
    """Blend weights fitted on every row of ``fit`` (the caller has cut the fitting dates).

    Returns
    -------
    weights : dict[str, float]
        Non-negative, summing to one (see :func:`fit_blend` for each method).
    member_ic : dict[str, float]
        Mean per-date Spearman rank IC of each member on ``fit``.
    """
    if method not in BLEND_METHODS:
        raise ValueError(f"method must be one of {BLEND_METHODS}, got {method!r}")
    members = list(members)
    _check(fit, members, ["date", target])
    member_ic = _mean_rank_ic(fit, members, target)
    m = len(members)
    if method in ("equal", "rank_average"):
        w = np.full(m, 1.0 / m)
    elif method == "ic_weighted":
        pos = np.array([max(member_ic[c], 0.0) for c in members])
        w = pos / pos.sum() if pos.sum() > 0 else np.full(m, 1.0 / m)
    else:  # nnls
        fz = _transformed(
            fit.select("date", pl.col(target).cast(pl.Float64), *members).filter(
                pl.col(target).is_not_null() & pl.col(target).is_not_nan()
            ),
            [target, *members],
            "zscore",
        )
        if fz.height == 0:
            w = np.full(m, 1.0 / m)
        else:
            w = _nnls_weights(fz.select(members).to_numpy(), fz.get_column(target).to_numpy())
    return {c: float(x) for c, x in zip(members, w, strict=True)}, member_ic


def fit_blend(
    oof_wide: pl.DataFrame,
    members: Sequence[str],
    method: str = "ic_weighted",
    outer_test_fraction: float = 0.3,
    target: str = "target",
) -> BlendResult:
    """Fit blend weights on the earliest dates of out-of-fold predictions; evaluate on the rest.

    Parameters
    ----------
    oof_wide : pl.DataFrame
        ``date, asset, target`` and one out-of-fold prediction column per member.
    members : sequence of str
    method : {"equal", "ic_weighted", "rank_average", "nnls"}
        ``equal``: 1/m each. ``ic_weighted``: proportional to max(mean rank IC, 0) on the fit
        dates, equal if no member has positive IC. ``rank_average``: members ranked within each
        date, then equal weights. ``nnls``: non-negative least squares of the per-date
        z-scored target on the per-date z-scored members, normalised to sum to one (equal if
        all coefficients are 0).
    outer_test_fraction : float, default 0.3
        Share of the latest unique dates held out from fitting and used for ``eval_frame``.
    target : str, default "target"

    Returns
    -------
    BlendResult
    """
    if method not in BLEND_METHODS:
        raise ValueError(f"method must be one of {BLEND_METHODS}, got {method!r}")
    members = list(members)
    _check(oof_wide, members, ["date", "asset", target])
    dates = oof_wide.get_column("date").unique().sort()
    last_fit = outer_split(dates, outer_test_fraction)
    n_fit = int((dates <= last_fit).sum())
    # Only rows up to the last fitting date are read to fit the weights.
    fit = oof_wide.filter(pl.col("date") <= last_fit)
    evl = oof_wide.filter(pl.col("date") > last_fit).sort(["date", "asset"])
    transform = blend_transform(method)
    weights, member_ic = blend_weights(fit, members, method, target=target)

    scored = apply_blend(evl, weights, members, transform=transform)
    eval_frame = scored.select(
        "date", "asset", pl.col(target).cast(pl.Float64).alias("target"), "ensemble", *members
    )
    return BlendResult(
        weights=weights,
        method=method,
        fit_dates=(dates[0], last_fit),
        eval_dates=(dates[n_fit], dates[-1]),
        eval_frame=eval_frame,
        transform=transform,
        member_ic=member_ic,
    )
