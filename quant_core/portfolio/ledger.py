"""The backtest ledger: what a book earns, gross -> spread -> impact -> commission -> borrow -> net.

Conventions (the tests hold the code to them):

* The ``date`` of a weight row is the decision time, the close of that date. Trades execute at
  the close ``lag_days`` trading days later (``lag_days = 0`` executes at the decision close).
* Constant capital: the target dollar position is ``weight * aum_usd``; PnL accrues to a cash
  account and is never reinvested. Between executions positions drift with their returns; an
  execution trades ``adjustment_rate * (target - drifted position)`` (1 = all the way).
* Gross PnL of day ``d`` = sum over assets of the dollar position held after the close of
  ``d - 1`` times the close-to-close return of ``d``.
* Costs are charged on the day of the trade (borrow: every day a short is held over), each in its
  own column (see ``costs.py`` for the formulas). Net = gross - spread - impact - commission -
  borrow.
* A trade is cut to ``max_participation * adv_usd``; the cut is the ``unfilled_usd`` column.
  An asset without a price on an execution day cannot trade: its whole trade is unfilled.
* Turnover of a day = ``sum |trade_usd| / (2 * aum_usd)`` (replacing the whole book = 100%).

Implementation shortfall of the daily book, per day: ``delay`` (what the move from the decision
close to the execution close cost the filled trades: ``trade_usd * (1 - P_decision / P_execution)``),
the spread, impact and commission columns, and ``opportunity`` (the next day's return on the
unfilled dollars, which the book wanted but did not hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from quant_core.config_fields import described
from quant_core.portfolio.construction import WeightsResult
from quant_core.portfolio.costs import TRADING_DAYS, CostModel, trade_costs
from quant_core.portfolio.market import MarketData, trailing_mean, trailing_std

__all__ = ["LEDGER_COSTS", "Backtest", "SimulationSpec", "cost_inputs", "simulate"]

LEDGER_COSTS = ("spread", "impact", "commission", "borrow")



@dataclass(frozen=True)
class SimulationSpec:
    """Capital, execution delay and turnover control of a backtest (costs in ``costs``)."""

    aum_usd: float = described(1e8, "Constant capital (USD): target positions are weight * aum_usd")
    lag_days: int = described(1, "Trading days from the decision close to the execution close")
    adjustment_rate: float = described(1.0, "Share of the gap to the target traded at each execution (partial adjustment)")
    costs: CostModel = field(default_factory=CostModel)

    def __post_init__(self) -> None:
        if not self.aum_usd > 0:
            raise ValueError(f"aum_usd must be > 0, got {self.aum_usd}")
        if self.lag_days < 0:
            raise ValueError(f"lag_days must be >= 0, got {self.lag_days}")
        if not 0 < self.adjustment_rate <= 1:
            raise ValueError(f"adjustment_rate must be in (0, 1], got {self.adjustment_rate}")


@dataclass(frozen=True)
class Backtest:
    """One simulated book: the daily ledger and the dollar matrices behind it."""

    spec: SimulationSpec
    daily: pl.DataFrame
    """One row per date: gross, spread, impact, commission, borrow, net (USD), traded_usd,
    unfilled_usd, turnover, long_usd, short_usd, and the shortfall columns delay, opportunity."""
    held_usd: np.ndarray
    """(dates, assets) position held over day d (after the close of d - 1): what PnL accrues on."""
    trades_usd: np.ndarray
    """(dates, assets) filled trades at the close of d."""

    def column(self, name: str) -> np.ndarray:
        return self.daily[name].to_numpy()

    def totals(self) -> dict[str, float]:
        """Sum of every USD ledger column over the period."""
        return {c: float(self.daily[c].sum()) for c in ("gross", *LEDGER_COSTS, "net")}

    def sharpe(self, column: str = "net") -> float:
        """Annualised Sharpe ratio of the daily PnL column (constant capital: mean / std * sqrt(252))."""
        x = self.column(column)
        x = x[self.active_days()]
        sd = x.std(ddof=1) if x.size > 1 else 0.0
        return float(x.mean() / sd * np.sqrt(TRADING_DAYS)) if sd > 0 else float("nan")

    def turnover_mean(self) -> float:
        active = self.active_days()
        return float(self.column("turnover")[active].mean()) if active.any() else 0.0

    def active_days(self) -> np.ndarray:
        """Dates from the first execution on (before it the book is empty)."""
        traded = self.column("traded_usd") > 0
        if not traded.any():
            return np.zeros(traded.size, dtype=bool)
        return np.arange(traded.size) >= np.argmax(traded)


def _half_spread(market: MarketData, costs: CostModel) -> np.ndarray | float:
    if costs.spread_estimator == "fixed":
        return costs.half_spread_bps
    from quant_core.portfolio.spread import corwin_schultz_half_spread_bps

    estimate = corwin_schultz_half_spread_bps(market)
    return np.where(np.isfinite(estimate), estimate, costs.half_spread_bps)


def cost_inputs(market: MarketData, costs: CostModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point-in-time ``(sigma_daily, adv_usd, half_spread_bps)`` matrices the costs of a trade at the
    close of row d are computed from (known before that close)."""
    sigma = trailing_std(market.returns, costs.vol_window_days)
    adv = trailing_mean(market.dollar_volume(), costs.adv_window_days) if market.has_volume \
        else np.full(market.grid.shape, np.nan)
    half_spread = np.broadcast_to(np.asarray(_half_spread(market, costs), dtype=np.float64), market.grid.shape)
    return sigma, adv, half_spread


def simulate(market: MarketData, weights: WeightsResult, spec: SimulationSpec = SimulationSpec()) -> Backtest:
    """Trade ``weights`` on ``market`` under ``spec``: the daily ledger (see the module docstring)."""
    if weights.grid.shape != market.grid.shape or not np.array_equal(weights.grid.dates, market.grid.dates):
        raise ValueError("weights and market data must share one grid (build the weights from this market)")
    costs = spec.costs
    n_dates, n_assets = market.grid.shape
    returns = np.nan_to_num(market.returns)
    close = market.close
    tradable = np.isfinite(close)
    sigma, adv, half_spread = cost_inputs(market, costs)
    cap = np.where(np.isfinite(adv), costs.max_participation * adv, np.inf)
    execute = np.zeros(n_dates, dtype=bool)
    execute[spec.lag_days:] = weights.decision[: n_dates - spec.lag_days]
    borrow_rate = costs.borrow_bps_per_year * 1e-4 / TRADING_DAYS

    held_all = np.zeros((n_dates, n_assets))
    trades_all = np.zeros((n_dates, n_assets))
    cols = {k: np.zeros(n_dates) for k in ("gross", *LEDGER_COSTS, "traded_usd", "unfilled_usd", "long_usd",
                                             "short_usd", "delay", "opportunity")}
    unfilled_prev = np.zeros(n_assets)
    position = np.zeros(n_assets)
    for d in range(n_dates):
        held = position
        held_all[d] = held
        cols["gross"][d] = held @ returns[d]
        short = np.maximum(-held, 0.0).sum()
        cols["borrow"][d] = borrow_rate * short
        cols["opportunity"][d] = unfilled_prev @ returns[d]
        drifted = held * (1.0 + returns[d])
        unfilled_prev = np.zeros(n_assets)
        if execute[d]:
            target = weights.weights[d - spec.lag_days] * spec.aum_usd
            wanted = spec.adjustment_rate * (target - drifted)
            # cut to the participation cap; a name without a price today cannot trade at all
            filled = np.where(tradable[d], np.clip(wanted, -cap[d], cap[d]), 0.0)
            unfilled = wanted - filled
            c = trade_costs(filled, close[d], sigma[d], adv[d], half_spread[d], costs)
            cols["spread"][d], cols["impact"][d], cols["commission"][d] = c.spread.sum(), c.impact.sum(), c.commission.sum()
            cols["traded_usd"][d] = np.abs(filled).sum()
            cols["unfilled_usd"][d] = np.abs(unfilled).sum()
            if spec.lag_days:
                decided = close[d - spec.lag_days]
                with np.errstate(invalid="ignore", divide="ignore"):
                    moved = np.nan_to_num(1.0 - decided / close[d])
                cols["delay"][d] = filled @ moved
            unfilled_prev = unfilled
            trades_all[d] = filled
            position = drifted + filled
        else:
            position = drifted
        cols["long_usd"][d] = np.maximum(position, 0.0).sum()
        cols["short_usd"][d] = np.maximum(-position, 0.0).sum()
    net = cols["gross"] - cols["spread"] - cols["impact"] - cols["commission"] - cols["borrow"]
    daily = pl.DataFrame({
        "date": market.grid.dates, "gross": cols["gross"], "spread": cols["spread"], "impact": cols["impact"],
        "commission": cols["commission"], "borrow": cols["borrow"], "net": net,
        "traded_usd": cols["traded_usd"], "unfilled_usd": cols["unfilled_usd"],
        "turnover": cols["traded_usd"] / (2.0 * spec.aum_usd),
        "long_usd": cols["long_usd"], "short_usd": cols["short_usd"],
        "delay": cols["delay"], "opportunity": cols["opportunity"],
    }).with_columns(pl.col("date").cast(pl.Date))
    return Backtest(spec=spec, daily=daily, held_usd=held_all, trades_usd=trades_all)
