"""cvxportfolio's own cost objects on the cases our cost model is checked against.

Run with the peer venv's python (``.bench_cvx_venv/bin/python benchmarks/peers/cvx_cost_check.py``;
``make bench-peers`` builds the venv; cvxportfolio is never a dependency of the project). It
imports nothing from this repository: it states each case in our parameter names, maps them onto
cvxportfolio 1.5.1's, evaluates cvxportfolio and prints one JSON document, which
``tests/test_cvxportfolio_peer.py`` compares with ``quant_core.portfolio.costs.trade_costs``.

How cvxportfolio 1.5.1 parametrises a trade of ``x`` dollars (``costs.TransactionCost``, eq. 2.2
of Boyd et al. 2017): ``a |x| + b sigma |x|^exponent / V^(exponent - 1)`` with ``exponent = 3/2``
by default, so the impact is ``b sigma |x| sqrt(|x| / V)``: the square-root law with our
``impact_coef = b``.

* ``a`` is a fraction of the traded value, and the library leaves the 1/2 to the user: it is
  "half the bid-ask spread" plus proportional fees, so ``a = (half_spread_bps + commission_bps)
  * 1e-4``. ``StocksTransactionCost(pershare_cost=...)`` adds ``pershare_cost / price`` to ``a``
  (USD per share; default 0.005), which is our ``commission_per_share_usd * |x| / close``.
* ``sigma`` is the per-period (here daily) standard deviation of returns, not annualised; by
  default ``HistoricalStandardDeviation(rolling=365.24 days, kelly=True)``, i.e.
  ``sqrt(mean(r^2))`` over the past year (not demeaned; ``kelly=False`` gives the demeaned
  ``std(ddof=0)``). Ours is the demeaned ``ddof=1`` std of the last ``vol_window_days`` returns.
* ``V`` is the period's market volume in dollars: in optimization the forecast ``volume_hat``
  (default ``HistoricalMeanVolume(rolling=365.24 days)``, the mean past dollar volume), in
  simulation the realised volume of the period (``current_volumes``); 1e-8 is added to it. Ours
  is the mean dollar volume of the last ``adv_window_days`` days, the forecast in both cases.
* ``b`` defaults to 1 in ``StocksTransactionCost`` (``None``, no impact, in ``TransactionCost``).
* Holding cost (``HoldingCost(short_fees=...)``, ``StocksHoldingCost`` defaults to 5): an annual
  percent, compounded: per period ``(1 + short_fees / 100) ** (1 / ppy) - 1`` with ``ppy`` the
  given ``periods_per_year`` (or estimated from the index) in optimization and ``365.24 days /
  (t_next - t)`` in simulation (calendar time: a weekend costs three days). Ours is simple:
  ``borrow_bps_per_year * 1e-4 / 252`` per trading day. The equivalent cvxportfolio parameter is
  ``short_fees = 100 * ((1 + borrow_bps_per_year * 1e-4 / 252) ** 252 - 1)`` with ``ppy = 252``.

Evaluation without downloading data: each cost object is initialised on a universe with a cash
account, evaluated at one timestamp with user-provided ``sigma`` and volumes, and read both ways
cvxportfolio reads it: its optimization expression (``compile_to_cvxpy`` after
``values_in_time_recursive``, at ``z = trade / portfolio value``, times the portfolio value) and
its simulator cost (``simulate_recursive``, what ``MarketSimulator`` charges). The estimators are
run through their public ``estimate`` on a ``UserProvidedMarketData`` with a zero-rate cash
column (``cash_key="cash"``: nothing is downloaded).
"""

from __future__ import annotations

import json
import sys

import cvxportfolio as cvx
import cvxpy as cp
import numpy as np
import pandas as pd

T0 = pd.Timestamp("2024-03-01", tz="UTC")
PORTFOLIO_VALUE_USD = 1e8  # cvxportfolio works in weights; any value gives the same dollars

# our parameter names (CostModel, trade_costs); one asset per list entry
TRADE_CASES = [
    {"name": "issue: $1M at 2% of volume, sigma 2%", "trade_usd": [1e6], "close": [50.0],
     "sigma_daily": [0.02], "adv_usd": [5e7], "half_spread_bps": 0.0, "commission_bps": 0.0,
     "commission_per_share_usd": 0.0, "impact_coef": 1.0},
    {"name": "sizes 0.1% to 10% of volume, buys and sells",
     "trade_usd": [5e4, -1e6, 2.5e6, -5e6], "close": [50.0, 20.0, 120.0, 8.0],
     "sigma_daily": [0.02, 0.015, 0.03, 0.01], "adv_usd": [5e7, 5e7, 5e7, 5e7],
     "half_spread_bps": 0.0, "commission_bps": 0.0, "commission_per_share_usd": 0.0,
     "impact_coef": 1.0},
    {"name": "linear: half spread 5 bps, commission 1 bp", "trade_usd": [1e6, -3e5],
     "close": [50.0, 10.0], "sigma_daily": [0.02, 0.02], "adv_usd": [5e7, 1e7],
     "half_spread_bps": 5.0, "commission_bps": 1.0, "commission_per_share_usd": 0.0,
     "impact_coef": 0.0},
    {"name": "per share: $0.005 a share", "trade_usd": [1e6, -4e5], "close": [50.0, 12.5],
     "sigma_daily": [0.02, 0.02], "adv_usd": [5e7, 1e7], "half_spread_bps": 0.0,
     "commission_bps": 0.0, "commission_per_share_usd": 0.005, "impact_coef": 0.0},
    {"name": "everything, impact_coef 0.7, three assets", "trade_usd": [1e6, -2e6, 7.5e5],
     "close": [50.0, 200.0, 5.0], "sigma_daily": [0.02, 0.012, 0.045],
     "adv_usd": [5e7, 4e8, 3e6], "half_spread_bps": 2.0, "commission_bps": 0.5,
     "commission_per_share_usd": 0.005, "impact_coef": 0.7},
]

HOLDING_CASES = [
    {"name": "$1M short, 30 bps a year (CostModel default)", "position_usd": [-1e6],
     "borrow_bps_per_year": 30.0},
    {"name": "two shorts and a long, 500 bps a year", "position_usd": [-1e6, -2.5e5, 3e6],
     "borrow_bps_per_year": 500.0},
]


def _universe(n_assets: int) -> pd.Index:
    return pd.Index([f"A{j}" for j in range(n_assets)] + ["cash"])


def _series(values, universe: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=universe[:-1])


def _with_cash(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.append(values, -values.sum())


def _optimization_usd(cost, universe: pd.Index, trade_usd, holdings_usd, close) -> float:
    """The cost as an optimization objective term sees it, in dollars."""
    cost.initialize_estimator_recursive(universe=universe, trading_calendar=pd.DatetimeIndex([T0]))
    w_plus, z = cp.Variable(len(universe)), cp.Variable(len(universe))
    expression = cost.compile_to_cvxpy(w_plus=w_plus, z=z, w_plus_minus_w_bm=w_plus)
    cost.values_in_time_recursive(
        t=T0, current_weights=pd.Series(0.0, universe), current_portfolio_value=PORTFOLIO_VALUE_USD,
        past_returns=None, past_volumes=None, current_prices=_series(close, universe))
    z.value = _with_cash(trade_usd) / PORTFOLIO_VALUE_USD
    w_plus.value = _with_cash(holdings_usd) / PORTFOLIO_VALUE_USD
    value = float(np.asarray(expression.value)) * PORTFOLIO_VALUE_USD
    cost.finalize_estimator_recursive()
    return value


def _simulation_usd(cost, universe: pd.Index, trade_usd, holdings_usd, close, volume_usd,
                    t_next: pd.Timestamp) -> float:
    """The cost as MarketSimulator charges it, in dollars."""
    cost.initialize_estimator_recursive(universe=universe, trading_calendar=pd.DatetimeIndex([T0]))
    value = cost.simulate_recursive(
        t=T0, t_next=t_next, u=pd.Series(_with_cash(trade_usd), universe),
        h_plus=pd.Series(_with_cash(holdings_usd), universe), past_volumes=None,
        current_volumes=_series(volume_usd, universe), past_returns=None, current_returns=None,
        current_prices=_series(close, universe), current_weights=pd.Series(0.0, universe),
        current_portfolio_value=PORTFOLIO_VALUE_USD)
    cost.finalize_estimator_recursive()
    return float(value)


def _trade_cost_objects(case: dict, universe: pd.Index, for_simulation: bool) -> dict:
    """Our parameters as cvxportfolio cost objects, one per ledger column and their sum."""
    sigma = _series(case["sigma_daily"], universe)
    # in simulation V is the period's realised volume (passed to simulate); a volume_hat is refused
    volume = {} if for_simulation else {"volume_hat": _series(case["adv_usd"], universe)}
    b = case["impact_coef"] or None
    return {
        "spread": cvx.TransactionCost(a=case["half_spread_bps"] * 1e-4, b=None),
        "commission": cvx.StocksTransactionCost(
            a=case["commission_bps"] * 1e-4, pershare_cost=case["commission_per_share_usd"], b=None),
        "impact": cvx.TransactionCost(a=None, b=b, sigma=sigma, exponent=1.5, **volume)
        if b else None,
        "total": cvx.StocksTransactionCost(
            a=(case["half_spread_bps"] + case["commission_bps"]) * 1e-4,
            pershare_cost=case["commission_per_share_usd"], b=b, sigma=sigma, exponent=1.5, **volume),
    }


def trade_case(case: dict) -> dict:
    universe = _universe(len(case["trade_usd"]))
    holdings = case["trade_usd"]  # from cash: the post-trade holdings are the trades
    result = {}
    for mode in ("optimization", "simulation"):
        values = {}
        for column, cost in _trade_cost_objects(case, universe, mode == "simulation").items():
            if cost is None:
                values[column] = 0.0
            elif mode == "optimization":
                values[column] = _optimization_usd(cost, universe, case["trade_usd"], holdings,
                                                   case["close"])
            else:
                values[column] = _simulation_usd(cost, universe, case["trade_usd"], holdings,
                                                 case["close"], case["adv_usd"],
                                                 T0 + pd.Timedelta("1D"))
        result[mode] = values
    return {**case, "cvxportfolio": result}


def equivalent_short_fees_percent(borrow_bps_per_year: float, periods_per_year: int = 252) -> float:
    """cvxportfolio's compounded annual percent that charges our simple daily borrow rate."""
    return 100.0 * ((1.0 + borrow_bps_per_year * 1e-4 / periods_per_year) ** periods_per_year - 1.0)


def holding_case(case: dict) -> dict:
    universe = _universe(len(case["position_usd"]))
    zero = np.zeros(len(case["position_usd"]))
    close = np.ones(len(case["position_usd"]))
    native = case["borrow_bps_per_year"] / 100.0  # the same number read as cvxportfolio's annual %
    equivalent = equivalent_short_fees_percent(case["borrow_bps_per_year"])
    day, weekend = T0 + pd.Timedelta("1D"), T0 + pd.Timedelta("3D")
    return {**case, "cvxportfolio": {
        "short_fees_percent_native": native,
        "short_fees_percent_equivalent": equivalent,
        "optimization_ppy252_native": _optimization_usd(
            cvx.HoldingCost(short_fees=native, periods_per_year=252), universe, zero,
            case["position_usd"], close),
        "optimization_ppy252_equivalent": _optimization_usd(
            cvx.HoldingCost(short_fees=equivalent, periods_per_year=252), universe, zero,
            case["position_usd"], close),
        "simulation_one_day_native": _simulation_usd(
            cvx.StocksHoldingCost(short_fees=native), universe, zero, case["position_usd"], close,
            close, day),
        "simulation_weekend_native": _simulation_usd(
            cvx.StocksHoldingCost(short_fees=native), universe, zero, case["position_usd"], close,
            close, weekend),
    }}


def estimators(window_days: int = 20, n_days: int = 60, seed: int = 0) -> dict:
    """cvxportfolio's sigma and volume forecasters on a small user-provided panel.

    Calendar days, so its ``rolling=pd.Timedelta(days=window_days)`` holds exactly the last
    ``window_days`` rows before ``t`` (``past_returns`` are the rows strictly before ``t``).
    """
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n_days, freq="D", tz="UTC")
    columns = ["A0", "A1"]
    returns = pd.DataFrame(rng.normal([0.001, -0.002], [0.02, 0.01], (n_days, 2)), index, columns)
    volumes = pd.DataFrame(rng.lognormal(17.0, 0.5, (n_days, 2)), index, columns)
    market = cvx.UserProvidedMarketData(returns=returns, volumes=volumes, cash_key="cash",
                                        min_history=pd.Timedelta("0D"))
    t = index[-1]
    rolling = pd.Timedelta(days=window_days)

    def estimate(forecaster) -> list[float]:
        return [float(v) for v in np.asarray(forecaster.estimate(market, t))]

    return {
        "window_days": window_days,
        "returns": returns.to_numpy().tolist(),
        "dollar_volume": volumes.to_numpy().tolist(),
        "row_estimated": n_days - 1,
        "sigma_kelly_false": estimate(cvx.forecast.HistoricalStandardDeviation(rolling=rolling,
                                                                               kelly=False)),
        "sigma_kelly_true": estimate(cvx.forecast.HistoricalStandardDeviation(rolling=rolling)),
        "mean_volume": estimate(cvx.forecast.HistoricalMeanVolume(rolling=rolling)),
    }


def main() -> dict:
    report = {
        "cvxportfolio_version": cvx.__version__,
        "trade_cases": [trade_case(case) for case in TRADE_CASES],
        "holding_cases": [holding_case(case) for case in HOLDING_CASES],
        "estimators": estimators(),
    }
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return report


if __name__ == "__main__":
    main()
