"""From a signal cross-section to target weights (fractions of AUM).

Per decision date, vectorised over assets: score the signal (cross-sectional rank or z-score,
optionally only the top and bottom quantiles), remove the exposures the book must not carry
(dollar, beta, sector: a least-squares projection onto the constraints' orthogonal complement),
scale to the gross leverage target, and cap each name at ``max_weight`` of AUM and at
``max_adv_fraction`` of its trailing average dollar volume.

Caps are hard (risk limits) and neutrality is restored after each clip: clip, project, rescale,
repeated ``cap_iterations`` times, then a final clip. The book is then within the caps exactly and
neutral up to the residual the last clip leaves (``WeightsResult.max_residual_exposure``).

Turnover control is not done here but in the ledger (``SimulationSpec.adjustment_rate``): each
execution trades a fixed fraction of the way from the drifted book to the target (partial
adjustment). With quadratic-ish costs that is the optimal policy's shape (Garleanu and Pedersen
2013, "Dynamic Trading with Predictable Returns and Transaction Costs"), it needs no threshold
that changes meaning with the number of names, and it keeps the book a smooth function of the
signal.

The ``date`` of a signal row is the decision time: the close of that date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from quant_core.config_fields import described
from quant_core.portfolio.market import Grid, MarketData, trailing_beta, trailing_mean

__all__ = ["ConstructionSpec", "WeightsResult", "build_weights", "weights_from_frame"]



@dataclass(frozen=True)
class ConstructionSpec:
    """How a signal becomes a long-short book."""

    scheme: Literal["rank", "zscore"] = described("rank", "Cross-sectional rank (centred) or z-score of the signal")
    quantile: float | None = described(None, "Only the top and bottom quantile, equally weighted (e.g. 0.2); None = all names")
    dollar_neutral: bool = described(True, "Long dollars equal short dollars")
    beta_neutral: bool = described(False, "No exposure to the market (betas estimated point-in-time)")
    sector_neutral: bool = described(False, "No net exposure to any sector")
    gross_leverage: float = described(1.0, "Sum of |weight| (long + short dollars over AUM)")
    max_weight: float = described(0.05, "Largest |weight| of one name (fraction of AUM)")
    max_adv_fraction: float | None = described(None, "Largest position as a fraction of its trailing average dollar volume")
    beta_window_days: int = described(252, "Trailing days of the beta estimates")
    adv_window_days: int = described(20, "Trailing days of the average dollar volume")
    cap_iterations: int = described(10, "Clip-project-rescale rounds that restore neutrality after the caps")

    def __post_init__(self) -> None:
        if self.quantile is not None and not 0 < self.quantile <= 0.5:
            raise ValueError(f"quantile must be in (0, 0.5], got {self.quantile}")
        if not self.gross_leverage > 0:
            raise ValueError(f"gross_leverage must be > 0, got {self.gross_leverage}")
        if not self.max_weight > 0:
            raise ValueError(f"max_weight must be > 0, got {self.max_weight}")


@dataclass(frozen=True)
class WeightsResult:
    """Target weights on the market grid; ``decision[d]`` says whether row ``d`` is a decision date."""

    grid: Grid
    weights: np.ndarray
    decision: np.ndarray
    max_residual_exposure: float = 0.0

    def frame(self) -> pl.DataFrame:
        """``date, asset, weight`` of the decision dates (zero weights dropped)."""
        w = np.where(self.decision[:, None], self.weights, np.nan)
        w = np.where(w == 0, np.nan, w)
        return self.grid.long(weight=w)


def _scores(signal: np.ndarray, spec: ConstructionSpec) -> np.ndarray:
    valid = np.isfinite(signal)
    n = valid.sum(axis=1, keepdims=True)
    if spec.scheme == "rank" or spec.quantile is not None:
        filled = np.where(valid, signal, np.inf)
        order = np.argsort(filled, axis=1, kind="stable")
        ranks = np.empty_like(order, dtype=np.float64)
        np.put_along_axis(ranks, order, np.arange(signal.shape[1], dtype=np.float64)[None, :], axis=1)
        # average ranks of ties: the mean rank of equal values
        ranks = _average_ties(signal, ranks, valid)
        if spec.quantile is not None:
            pct = (ranks + 0.5) / np.maximum(n, 1)
            score = np.where(pct > 1 - spec.quantile, 1.0, np.where(pct <= spec.quantile, -1.0, 0.0))
        else:
            score = ranks - (n - 1) / 2.0
    else:
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(valid, signal, np.nan), axis=1, keepdims=True)
            std = np.nanstd(np.where(valid, signal, np.nan), axis=1, keepdims=True)
            score = np.clip((signal - mean) / np.where(std > 0, std, np.nan), -3.0, 3.0)
    return np.where(valid, np.nan_to_num(score), 0.0)


def _average_ties(signal: np.ndarray, ranks: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = ranks.copy()
    ordered = np.sort(np.where(valid, signal, np.inf), axis=1)
    tied = (ordered[:, 1:] == ordered[:, :-1]) & np.isfinite(ordered[:, 1:])
    for d in np.flatnonzero(tied.any(axis=1)):
        row = signal[d]
        ok = valid[d]
        _, inverse = np.unique(row[ok], return_inverse=True)
        sums = np.bincount(inverse, weights=ranks[d, ok])
        counts = np.bincount(inverse)
        out[d, ok] = (sums / counts)[inverse]
    return out


def _project(w: np.ndarray, constraints: list[np.ndarray], active: np.ndarray) -> np.ndarray:
    """``w`` minus its least-squares fit on the constraint columns, over the active names."""
    if not constraints:
        return w
    if len(constraints) == 1 and np.all(constraints[0] == 1.0):  # dollar neutral only: demean
        n = active.sum(axis=1, keepdims=True)
        mean = np.where(active, w, 0.0).sum(axis=1, keepdims=True) / np.maximum(n, 1)
        return np.where(active & (n >= 2), w - mean, w)
    out = w.copy()
    for d in range(w.shape[0]):
        ok = active[d]
        if ok.sum() < 2:
            continue
        C = np.column_stack([c[d, ok] for c in constraints])
        C = C[:, np.abs(C).sum(axis=0) > 0]
        if C.size == 0:
            continue
        coef, *_ = np.linalg.lstsq(C, w[d, ok], rcond=None)
        out[d, ok] = w[d, ok] - C @ coef
    return out


def _scale(w: np.ndarray, gross: float) -> np.ndarray:
    total = np.abs(w).sum(axis=1, keepdims=True)
    return np.where(total > 0, w * gross / np.where(total > 0, total, 1.0), 0.0)


def build_weights(signal: pl.DataFrame, market: MarketData, spec: ConstructionSpec = ConstructionSpec(),
                  aum_usd: float = 1e8, column: str = "signal") -> WeightsResult:
    """Target weights from ``signal`` (``date, asset, <column>``): every date it covers decides.

    Names without a signal (or without a price) on a decision date get weight 0.
    """
    grid = market.grid
    raw = grid.matrix(signal, column)
    raw = np.where(np.isfinite(market.close), raw, np.nan)
    decision = np.isin(grid.dates, np.unique(signal["date"].to_numpy().astype("datetime64[D]")))
    active = np.isfinite(raw)
    w = _scores(raw, spec)
    constraints: list[np.ndarray] = []
    if spec.dollar_neutral and not spec.sector_neutral:
        constraints.append(np.ones_like(w))
    if spec.sector_neutral:
        for name in sorted(set(market.sector) - {""}):
            constraints.append(np.broadcast_to((market.sector == name).astype(np.float64), w.shape))
        if (market.sector == "").any():  # names without a sector form their own group
            constraints.append(np.broadcast_to((market.sector == "").astype(np.float64), w.shape))
    if spec.beta_neutral:
        beta = trailing_beta(market.returns, market.market_return(), spec.beta_window_days)
        active = active & np.isfinite(beta)
        constraints.append(np.nan_to_num(beta))
    w = np.where(active, w, 0.0)
    w = _scale(_project(w, constraints, active), spec.gross_leverage)
    cap = np.full(w.shape, spec.max_weight)
    if spec.max_adv_fraction is not None and market.has_volume:
        adv = trailing_mean(market.dollar_volume(), spec.adv_window_days)
        cap = np.minimum(cap, np.nan_to_num(spec.max_adv_fraction * adv / aum_usd))
    for _ in range(spec.cap_iterations):
        if (np.abs(w) <= cap + 1e-15).all():
            break
        w = np.clip(w, -cap, cap)
        w = _scale(_project(w, constraints, active), spec.gross_leverage)
    w = np.clip(w, -cap, cap)
    residual = 0.0
    if constraints:
        exposures = [np.abs((w * c).sum(axis=1))[decision] for c in constraints]
        residual = float(max((e.max() if e.size else 0.0) for e in exposures))
    return WeightsResult(grid=grid, weights=np.where(decision[:, None], w, 0.0), decision=decision,
                         max_residual_exposure=residual)


def weights_from_frame(weights: pl.DataFrame, market: MarketData, column: str = "weight") -> WeightsResult:
    """A user's own weights (``date, asset, weight``): dates with rows are decision dates; an asset
    missing on a decision date has target weight 0; other dates are not decisions (positions drift)."""
    grid = market.grid
    decision = np.isin(grid.dates, np.unique(weights["date"].to_numpy().astype("datetime64[D]")))
    w = np.nan_to_num(grid.matrix(weights, column))
    return WeightsResult(grid=grid, weights=np.where(decision[:, None], w, 0.0), decision=decision)
