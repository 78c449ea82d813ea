"""Execution costs of a trade, each its own ledger column.

For a trade of ``trade_usd`` dollars in one asset at the close of day ``d``:

* spread: ``half_spread_bps * 1e-4 * |trade_usd|`` (crossing half the bid-ask spread);
* commission: ``commission_bps * 1e-4 * |trade_usd|`` plus ``commission_per_share_usd`` times
  the shares traded (``|trade_usd| / close``);
* market impact, the square-root law: ``impact_coef * sigma_daily * |trade_usd| *
  sqrt(|trade_usd| / adv_usd)``, with ``sigma_daily`` the trailing standard deviation of daily
  returns and ``adv_usd`` the trailing average daily dollar volume, both known before the close
  of ``d`` (windows in days are parameters); an asset without volume data pays no impact and
  has no participation cap;
* borrow: ``borrow_bps_per_year * 1e-4 / 252 * short_usd`` for every trading day a short of
  ``short_usd`` dollars is held.

A trade larger than ``max_participation * adv_usd`` is cut to that size; the rest is reported as
unfilled (an opportunity cost), never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from quant_core.config_fields import described

__all__ = ["TRADING_DAYS", "CostModel", "TradeCosts", "trade_costs"]

TRADING_DAYS = 252



@dataclass(frozen=True)
class CostModel:
    """The cost parameters of a backtest (all linear costs in basis points of traded dollars)."""

    half_spread_bps: float = described(2.0, "Half the bid-ask spread paid on every traded dollar (bps)")
    commission_bps: float = described(0.5, "Commission on every traded dollar (bps)")
    commission_per_share_usd: float = described(0.0, "Commission per share traded (USD)")
    impact_coef: float = described(1.0, "Square-root impact: cost = coef * sigma_daily * |trade| * sqrt(|trade| / adv)")
    borrow_bps_per_year: float = described(30.0, "Borrow fee on short dollars, per year (bps), charged daily over 252 days")
    max_participation: float = described(0.1, "A trade is cut to this share of the trailing average dollar volume")
    vol_window_days: int = described(20, "Trailing window of daily returns for sigma_daily")
    adv_window_days: int = described(20, "Trailing window of daily dollar volume for adv_usd")
    spread_estimator: str = described(
        "fixed", "'fixed' (half_spread_bps everywhere) or 'corwin_schultz' (per asset and day from high/low)")

    def __post_init__(self) -> None:
        for name in ("half_spread_bps", "commission_bps", "commission_per_share_usd", "impact_coef",
                     "borrow_bps_per_year"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.max_participation > 0:
            raise ValueError(f"max_participation must be > 0, got {self.max_participation}")
        if self.spread_estimator not in ("fixed", "corwin_schultz"):
            raise ValueError(f"spread_estimator must be 'fixed' or 'corwin_schultz', got {self.spread_estimator!r}")

    def without_costs(self) -> CostModel:
        """The same model charging nothing (and capping nothing): the gross book."""
        return replace(self, half_spread_bps=0.0, commission_bps=0.0, commission_per_share_usd=0.0,
                       impact_coef=0.0, borrow_bps_per_year=0.0, max_participation=np.inf)


@dataclass(frozen=True)
class TradeCosts:
    """Per-asset costs of one day's trades (USD, all >= 0)."""

    spread: np.ndarray
    commission: np.ndarray
    impact: np.ndarray


def trade_costs(trade_usd: np.ndarray, close: np.ndarray, sigma_daily: np.ndarray, adv_usd: np.ndarray,
                half_spread_bps: np.ndarray | float, model: CostModel) -> TradeCosts:
    """Spread, commission and impact of filled trades (vectors over assets; NaN estimates cost 0)."""
    size = np.abs(trade_usd)
    spread = np.nan_to_num(np.asarray(half_spread_bps, dtype=np.float64) * 1e-4 * size)
    commission = model.commission_bps * 1e-4 * size
    if model.commission_per_share_usd:
        with np.errstate(invalid="ignore", divide="ignore"):
            commission = commission + np.nan_to_num(model.commission_per_share_usd * size / close)
    with np.errstate(invalid="ignore", divide="ignore"):
        impact = model.impact_coef * sigma_daily * size * np.sqrt(size / adv_usd)
    impact = np.where(np.isfinite(impact) & (size > 0), impact, 0.0)
    return TradeCosts(spread=spread, commission=commission, impact=impact)
