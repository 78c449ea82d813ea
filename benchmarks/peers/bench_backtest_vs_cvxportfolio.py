"""Our ledger's positions through cvxportfolio 1.5.1's ``MarketSimulator``: equal costs, and its speed.

Run with the peer venv's python (``make bench-peers`` builds ``.bench_cvx_venv``; cvxportfolio is
never a dependency of the project). It imports nothing from this repository: our side
(``benchmarks/bench_backtest.py``, ``write_peer_inputs``) runs ``quant_core.portfolio.ledger.simulate``
and writes an ``.npz`` of the panel, the ledger's filled trades and daily cost columns and the
cost parameters; this script replays those trades in cvxportfolio's simulator and prints one JSON
document (cvxportfolio's cost totals, their relative differences from ours, the holdings and
trades it reproduced, and its timings)::

    .bench_cvx_venv/bin/python benchmarks/peers/bench_backtest_vs_cvxportfolio.py \\
        --inputs PANEL.npz [--n-assets 3000 --n-days 2520]

(``--n-assets``/``--n-days`` are only the full size its time is extrapolated to.)

What had to be aligned, and how:

* Periods. A cvxportfolio period ``t`` is our close of day ``d``: its return row ``t`` is the
  return from ``t`` to the next period, so it gets ``close[d + 1] / close[d] - 1`` (our
  ``returns[d + 1]``; the last row is NaN, never served). The trade of period ``t`` is our trade at
  the close of ``d``, its holding cost of period ``t`` is charged on the post-trade holdings over
  ``t -> t_next``: our borrow of day ``d + 1`` (ours charges a day on the position held over it).
  The last period is never simulated (it has no return), so our side makes no trade on the last
  day, and our borrow of the last day is cvxportfolio's holding cost of the last simulated period.
* Constant capital and trades. cvxportfolio holds a cash account and its policies trade weights
  of the current portfolio value ``v_t`` (``u = z * v_t``). The policy is cvxportfolio's own
  ``FixedTrades`` with ``z_t = trades_usd_t / v_t``, where ``v_t`` is what its portfolio value will
  be: the initial value (our ``aum_usd``, all cash) plus our cumulative net PnL before the trade
  (cash earns 0: ``cash_key="cash"``; costs are debited from cash, positions drift with the
  returns exactly as ours do). The script checks the dollars it traded (``result.u``) and the
  positions it held (``result.h_plus``) against ours. No participation cap, rounding or trade rejection
  runs in cvxportfolio (``MarketSimulator(round_trades=False)``): it replays our filled trades.
* Spread and commission. ``a`` is a fraction of the traded dollars: spread ``a =
  half_spread_bps * 1e-4`` (``TransactionCost``), commission ``a = commission_bps * 1e-4`` plus
  ``pershare_cost / price`` (``StocksTransactionCost``; our ``commission_per_share_usd * |x| /
  close``: its "current prices" are our closes, the execution prices).
* Impact. ``b sigma |x|^1.5 / V^0.5`` with ``b = impact_coef`` (exponent 3/2). ``sigma`` is passed
  as a user-provided DataFrame: our point-in-time ``sigma_daily`` (trailing 20-day ddof=1 std,
  rows known before the close; NaN rows before any trade set to 0). ``V``: in simulation
  cvxportfolio uses the realised market volume of the period (``current_volumes``; a
  ``volume_hat`` forecast is refused there), ours the trailing 20-day mean dollar volume. Our side
  builds the panel so the two agree: each asset's dollar volume (close x shares) is constant in
  time, so the realised dollar volume of the trade day equals the trailing mean, and no trade is
  made before the 20-day windows are full. The volumes cvxportfolio gets are the panel's own
  dollar volumes (not our estimates); the script reports how far they are from our ``adv_usd`` on
  the traded cells (rounding only). cvxportfolio adds 1e-8 to ``V`` (below 1e-13 relative here).
* Borrow. cvxportfolio's ``HoldingCost(short_fees=...)`` is an annual percent, compounded over
  the calendar length of each period: ``(1 + f / 100) ** ((t_next - t) / 365.24 days) - 1`` of
  the short dollars (a weekend costs three days). Ours is simple, per trading day:
  ``borrow_bps_per_year * 1e-4 / 252``. ``short_fees`` is passed as a series in time,
  ``f_t = 100 * ((1 + borrow_bps_per_year * 1e-4 / 252) ** (365.24 days / (t_next - t)) - 1)``,
  so every period (a weekday or over a weekend) costs exactly one of our trading days.
* Cost names. ``MarketSimulator`` keys the realised costs by class name (two ``TransactionCost``
  objects would overwrite each other's record), so the impact term is a subclass, ``Impact``, of
  ``TransactionCost`` with no other change.

Two cost configurations run: ``split`` (one cost object per ledger column: spread, commission,
impact, borrow), compared column by column, and ``natural`` (what a cvxportfolio user would write:
one ``StocksTransactionCost`` with ``a``, ``pershare_cost``, ``b`` and ``sigma``, and one
``HoldingCost``), compared in total and timed. The time is the wall time of
``MarketSimulator.backtest`` (the market-data object is built before it; cvxportfolio gets sigma
precomputed, while ours estimates sigma and adv inside ``simulate``), on the first ``--widths``
assets of the inputs over all their days. The full-size time (``--n-assets`` x ``--n-days``) is
extrapolated, and labelled so: the sum over the full days of a per-period time ``a(n) + c(n) d``
fitted to cvxportfolio's own per-period times (``policy_times + simulator_times``; ``d`` the days
of history: every period cvxportfolio re-slices and counts the returns up to ``t``, so a period
costs more the longer the history), with ``a`` and ``c`` linear in the number of assets through
the measured widths. ``lower_bound_seconds``, the widest run's mean per-period time times the full
number of periods, is what the full size can only exceed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings

import cvxportfolio as cvx
import numpy as np
import pandas as pd

DAY = pd.Timedelta("1D")
YEAR = pd.Timedelta("365.24D")
TRADING_DAYS = 252  # ours: borrow_bps_per_year * 1e-4 / 252 a trading day
LEDGER_COSTS = ("spread", "commission", "impact", "borrow")


class Impact(cvx.TransactionCost):
    """``TransactionCost`` under another name: the simulator records realised costs by class name."""


def load(path: str) -> dict:
    with np.load(path, allow_pickle=False) as data:
        inputs = {k: data[k] for k in data.files}
    for k in ("aum_usd", "half_spread_bps", "commission_bps", "commission_per_share_usd", "impact_coef",
              "borrow_bps_per_year"):
        inputs[k] = float(inputs[k])
    return inputs


def _index(inputs: dict) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(inputs["dates"].astype("datetime64[D]").astype("datetime64[ns]"), tz="UTC")


def portfolio_value(inputs: dict) -> np.ndarray:
    """cvxportfolio's portfolio value at each period, before its trade: the initial cash plus our
    net PnL up to the close of ``d``, except the trade costs of ``d`` (debited after the trade)."""
    trade_costs = inputs["spread"] + inputs["commission"] + inputs["impact"]
    net = inputs["gross"] - trade_costs - inputs["borrow"]
    return inputs["aum_usd"] + np.cumsum(net) + trade_costs


def cvx_inputs(inputs: dict, n_assets: int | None = None) -> dict:
    """Market data, sigma, per-period short fees and the FixedTrades weights on the first
    ``n_assets`` columns (all by default)."""
    n = inputs["close"].shape[1] if n_assets is None else n_assets
    index = _index(inputs)
    assets = [str(a) for a in inputs["assets"][:n]]
    close = inputs["close"][:, :n]
    forward = np.vstack([close[1:] / close[:-1] - 1.0, np.full((1, n), np.nan)])
    returns = pd.DataFrame(forward, index=index, columns=assets)
    volumes = pd.DataFrame(inputs["dollar_volume"][:, :n], index=index, columns=assets)
    prices = pd.DataFrame(close, index=index, columns=assets)
    market = cvx.UserProvidedMarketData(returns=returns, volumes=volumes, prices=prices, cash_key="cash",
                                        min_history=pd.Timedelta("0D"))
    sigma = pd.DataFrame(np.nan_to_num(inputs["sigma"][:, :n]), index=index, columns=assets)
    daily_rate = inputs["borrow_bps_per_year"] * 1e-4 / TRADING_DAYS
    periods_per_year = YEAR / np.append(np.diff(index), DAY)  # the last (unsimulated) period: a day
    short_fees = pd.Series(100.0 * ((1.0 + daily_rate) ** periods_per_year.astype(float) - 1.0), index=index)
    value = portfolio_value(inputs)
    z = inputs["trades_usd"][:, :n] / value[:, None]
    trades_weights = pd.DataFrame(np.column_stack([z, -z.sum(axis=1)]), index=index, columns=[*assets, "cash"])
    return {"market": market, "sigma": sigma, "short_fees": short_fees, "trades_weights": trades_weights,
            "value": value, "assets": assets, "index": index}


def cost_objects(inputs: dict, sigma: pd.DataFrame, short_fees: pd.Series, config: str) -> list:
    spread, commission = inputs["half_spread_bps"] * 1e-4, inputs["commission_bps"] * 1e-4
    pershare, b = inputs["commission_per_share_usd"] or None, inputs["impact_coef"] or None
    borrow = cvx.HoldingCost(short_fees=short_fees)
    if config == "split":
        return [cvx.TransactionCost(a=spread, b=None),
                cvx.StocksTransactionCost(a=commission, pershare_cost=pershare, b=None),
                Impact(a=None, b=b, sigma=sigma, exponent=1.5), borrow]
    return [cvx.StocksTransactionCost(a=spread + commission, pershare_cost=pershare, b=b, sigma=sigma,
                                      exponent=1.5), borrow]


SPLIT_COLUMNS = {"TransactionCost": "spread", "StocksTransactionCost": "commission", "Impact": "impact",
                 "HoldingCost": "borrow"}


def backtest(inputs: dict, config: str, n_assets: int | None = None, base_location: str | None = None):
    data = cvx_inputs(inputs, n_assets)
    simulator = cvx.MarketSimulator(market_data=data["market"], round_trades=False, base_location=base_location,
                                    costs=cost_objects(inputs, data["sigma"], data["short_fees"], config))
    policy = cvx.FixedTrades(data["trades_weights"])
    start = time.perf_counter()
    result = simulator.backtest(policy, initial_value=inputs["aum_usd"])
    seconds = time.perf_counter() - start
    return result, seconds, data


def _rel(theirs: float, ours: float) -> float:
    return abs(theirs - ours) / max(abs(ours), 1e-300)


def _per_period(result) -> np.ndarray:
    return (result.policy_times + result.simulator_times).to_numpy()[:-1]


def compare(inputs: dict, result, data: dict, config: str) -> dict:
    """cvxportfolio's cost totals (and per-day costs) against our ledger's, with the replay checks."""
    costs = {name: series.to_numpy()[:-1] for name, series in result.costs.items()}  # last period: not simulated
    ours_daily = {c: inputs[c] for c in LEDGER_COSTS}
    # our day d trade costs <-> period d; our borrow of day d + 1 <-> holding cost of period d
    ours_by_period = {c: ours_daily[c][:-1] for c in ("spread", "commission", "impact")}
    ours_by_period["borrow"] = ours_daily["borrow"][1:]
    if config == "split":
        theirs = {SPLIT_COLUMNS[name]: v for name, v in costs.items()}
        theirs["spread_plus_commission"] = theirs["spread"] + theirs["commission"]
    else:
        theirs = {"trade_costs": costs["StocksTransactionCost"], "borrow": costs["HoldingCost"]}
    ours_by_period["spread_plus_commission"] = ours_by_period["spread"] + ours_by_period["commission"]
    ours_by_period["trade_costs"] = ours_by_period["spread_plus_commission"] + ours_by_period["impact"]
    totals, per_day = {}, {}
    for column, values in theirs.items():
        mine = ours_by_period[column]
        ours_total = float(mine.sum())
        theirs_total = float(values.sum())
        positive = mine > 0
        totals[column] = {"ours_usd": ours_total, "cvxportfolio_usd": theirs_total,
                          "rel_diff": _rel(theirs_total, ours_total),
                          "cvxportfolio_max_usd_on_days_ours_is_zero": float(np.abs(values[~positive]).max())
                          if (~positive).any() else 0.0}
        per_day[column] = float(np.max(np.abs(values[positive] - mine[positive]) / mine[positive])) \
            if positive.any() else 0.0
    # the ledger's totals over all days equal the simulated periods' (no trade on the last day)
    assert np.all(inputs["trades_usd"][-1] == 0), "our side must not trade on the last day"
    u = result.u.iloc[:-1, :-1].to_numpy()
    h_plus = result.h_plus.iloc[:-1, :-1].to_numpy()  # post-trade holdings of period d: our held over d + 1
    traded, held = inputs["trades_usd"][:-1], inputs["held_usd"][1:]
    scale_u, scale_h = np.abs(traded).max(), np.abs(held).max()
    v = result.v.to_numpy()[:-1]
    volume_check = np.abs(inputs["dollar_volume"] / inputs["adv"] - 1.0)[inputs["trades_usd"] != 0]
    return {
        "config": config,
        "cost_objects": list(result.costs),
        "totals": totals,
        "max_rel_diff": max(t["rel_diff"] for t in totals.values()),
        "max_per_day_rel_diff": per_day,
        "replay": {
            "trades_max_abs_diff_over_max_trade": float(np.abs(u - traded).max() / scale_u),
            "holdings_max_abs_diff_over_max_position": float(np.abs(h_plus - held).max() / scale_h),
            "portfolio_value_max_rel_diff": float(np.max(np.abs(v - data["value"][:-1]) / data["value"][:-1])),
            "realised_volume_vs_our_adv_max_rel_diff_on_traded_cells": float(volume_check.max())
            if volume_check.size else 0.0,
            "traded_cells": int((inputs["trades_usd"] != 0).sum()),
        },
    }


def _fit(times: np.ndarray, chunks: int = 10) -> tuple[float, float]:
    """``tau(d) = a + c d`` through the medians of ``chunks`` consecutive blocks of per-period times
    (medians: the machine may be shared); ``c`` clipped at 0."""
    blocks = np.array_split(np.arange(times.size), min(chunks, times.size))
    centre = np.array([b.mean() for b in blocks])
    median = np.array([np.median(times[b]) for b in blocks])
    if centre.size < 2:
        return float(median.mean()), 0.0
    c, a = np.polyfit(centre, median, 1)
    if c < 0:
        return float(median.mean()), 0.0
    return float(a), float(c)


def _line(x: np.ndarray, y: np.ndarray, at: float) -> float:
    if np.unique(x).size < 2:
        return float(y[np.argmax(x)])
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept + slope * at)


def timing(runs: list[dict], n_assets_full: int, n_days_full: int) -> dict:
    """Per-day and per-asset-day seconds of the timed runs, and the extrapolation to full size."""
    rows = []
    for run in runs:
        n, periods = run["n_assets"], run["n_days"] - 1
        a, c = _fit(run["per_period"])
        rows.append({"n_assets": n, "n_days": run["n_days"], "simulated_periods": periods,
                     "backtest_seconds": round(run["seconds"], 4),
                     "seconds_per_simulated_day": run["seconds"] / periods,
                     "seconds_per_asset_day": run["seconds"] / (periods * n),
                     "per_period_fit": {"a_seconds": a, "c_seconds_per_day_of_history": c}})
    widest = max(rows, key=lambda r: r["n_assets"])
    fit_a = np.array([r["per_period_fit"]["a_seconds"] for r in rows])
    fit_c = np.array([r["per_period_fit"]["c_seconds_per_day_of_history"] for r in rows])
    widths = np.array([r["n_assets"] for r in rows], dtype=float)
    if n_assets_full <= widest["n_assets"]:
        a_full, c_full = widest["per_period_fit"]["a_seconds"], widest["per_period_fit"]["c_seconds_per_day_of_history"]
    else:  # linear in the number of assets, never below the widest run's
        a_full = max(_line(widths, fit_a, n_assets_full), widest["per_period_fit"]["a_seconds"])
        c_full = max(_line(widths, fit_c, n_assets_full), widest["per_period_fit"]["c_seconds_per_day_of_history"])
    periods = n_days_full - 1
    lower = widest["seconds_per_simulated_day"] * periods
    extrapolated = max(a_full * periods + c_full * periods * (periods - 1) / 2.0, lower)
    measured = widest["n_assets"] == n_assets_full and widest["n_days"] == n_days_full
    return {
        "runs": rows,
        "full_size": {
            "n_assets": n_assets_full, "n_days": n_days_full,
            "measured": measured,  # True: the widest run is the full size, and "extrapolated" is its time
            "extrapolated_seconds": widest["backtest_seconds"] if measured else extrapolated,
            "extrapolation": "sum over the full days of a per-period time a(n) + c(n) d (d: days of history), "
                             "fitted to cvxportfolio's per-period times; a, c linear in n through the measured "
                             "widths (the widest run's own fit when it is full width); never below the lower bound",
            "per_period_model_at_full_width": {"a_seconds": a_full, "c_seconds_per_day_of_history": c_full},
            "lower_bound_seconds": lower,
            "lower_bound": "mean per-period time of the widest measured run x the full number of periods",
        },
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", required=True, help=".npz written by benchmarks/bench_backtest.py")
    parser.add_argument("--n-assets", type=int, default=3000, help="full size the time is extrapolated to")
    parser.add_argument("--n-days", type=int, default=2520, help="full size the time is extrapolated to")
    parser.add_argument("--widths", default="100,300,1000,all",
                        help="numbers of assets (the first columns of the inputs) the natural config is timed on")
    parser.add_argument("--no-timing", action="store_true", help="only the cost comparison")
    args = parser.parse_args(argv)
    inputs = load(args.inputs)
    n_days, n_assets = inputs["close"].shape
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as base:  # nothing of cvxportfolio's goes to ~/cvxportfolio_data
        split, split_seconds, split_data = backtest(inputs, "split", base_location=base)
        natural, natural_seconds, natural_data = backtest(inputs, "natural", base_location=base)
        report = {
            "cvxportfolio_version": cvx.__version__, "pandas_version": pd.__version__,
            "n_assets": n_assets, "n_days": n_days,
            "comparison": {"split": compare(inputs, split, split_data, "split"),
                           "natural": compare(inputs, natural, natural_data, "natural")},
        }
        report["max_rel_diff"] = max(c["max_rel_diff"] for c in report["comparison"].values())
        if not args.no_timing:
            widths = sorted({n_assets if w == "all" else min(int(w), n_assets) for w in args.widths.split(",")})
            runs = []
            for width in widths:
                if width == n_assets:
                    seconds, per_period = natural_seconds, _per_period(natural)
                else:
                    result, seconds, _ = backtest(inputs, "natural", width, base_location=base)
                    per_period = _per_period(result)
                runs.append({"n_assets": width, "n_days": n_days, "seconds": seconds, "per_period": per_period})
            report["timing"] = timing(runs, args.n_assets, args.n_days)
            report["timing"]["split_config_backtest_seconds"] = round(split_seconds, 4)
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return report


if __name__ == "__main__":
    main()
