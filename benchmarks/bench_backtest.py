"""The backtest with attribution at desk scale: 3,000 assets x 2,520 days (ten years).

    python -m benchmarks.bench_backtest [--n-assets 3000 --n-days 2520] [--cvx-python PATH]

Times, on one synthetic panel of random-walk prices and dollar volumes and a random signal:
building the dollar-neutral book, the ledger (spread, square-root impact, commission, borrow,
participation cap), the factor model estimated from the panel, the attribution of the ledger's
PnL, and the whole capacity grid (9 AUM levels, each a full re-simulation plus attribution), with
peak RSS. With ``--cvx-python`` (the cvxportfolio venv that ``make bench-peers`` builds) it also
replays a book's filled trades through cvxportfolio's MarketSimulator (``benchmarks/peers/bench_backtest_vs_cvxportfolio.py``,
which states the conventions aligned): equal costs, and its time against ours on the same subsets (the first
100, 300, 1,000 and all assets over ``--cvx-days`` days), and at full size (extrapolated unless ``--cvx-days``
is the full number of days).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import polars as pl


def synthetic_prices(n_assets: int, n_days: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2015-01-01"), np.datetime64("2015-01-01") + int(n_days * 1.5))
    dates = dates[np.is_busday(dates)][:n_days]
    returns = rng.normal(0.0002, 0.018, (n_days, n_assets)) + rng.normal(0, 0.008, (n_days, 1))
    close = 50 * np.exp(np.cumsum(returns, axis=0))
    volume = rng.lognormal(13, 1, (1, n_assets)) * rng.uniform(0.7, 1.3, (n_days, n_assets))
    signal = 0.03 * np.roll(returns, -1, axis=0) / 0.018 + rng.standard_normal((n_days, n_assets))
    assets = np.array([f"A{i:04d}" for i in range(n_assets)])
    sectors = np.array([f"S{i % 11:02d}" for i in range(n_assets)])
    long = {"date": np.repeat(dates, n_assets), "asset": np.tile(assets, n_days)}
    prices = pl.DataFrame({**long, "close": close.ravel(), "volume": volume.ravel(),
                           "sector": np.tile(sectors, n_days)}).with_columns(pl.col("date").cast(pl.Date))
    signals = pl.DataFrame({**long, "signal": signal.ravel()}).with_columns(pl.col("date").cast(pl.Date))
    return prices, signals


def run(n_assets: int, n_days: int) -> dict:
    from quant_core.portfolio.attribution import attribute_pnl, specific_pnl
    from quant_core.portfolio.capacity import capacity_curve
    from quant_core.portfolio.construction import build_weights
    from quant_core.portfolio.factors import estimate_factor_model
    from quant_core.portfolio.ledger import simulate
    from quant_core.portfolio.market import market_data
    from quant_core.stages.trading import TradingSpec

    prices, signals = synthetic_prices(n_assets, n_days)
    spec = TradingSpec()
    laps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        laps[name] = round(now - clock, 3)
        clock = now

    market = market_data(prices)
    lap("market_data")
    weights = build_weights(signals, market, spec.construction(), spec.aum_usd)
    lap("construction")
    backtest = simulate(market, weights, spec.simulation())
    lap("ledger")
    model = estimate_factor_model(market)
    lap("factor_model")
    attribution = attribute_pnl(market.grid, backtest.held_usd, market.returns, model)
    lap("attribution")

    def specific(held):
        return specific_pnl(held, market.returns, model)

    curve = capacity_curve(market, weights, spec.simulation(), spec.capacity_grid_usd, specific_pnl=specific)
    lap("capacity_grid")
    totals = backtest.totals()
    return {
        "name": "backtest_with_attribution", "n_assets": n_assets, "n_days": n_days,
        "seconds": laps,
        "ledger_plus_attribution_seconds": round(laps["ledger"] + laps["factor_model"] + laps["attribution"], 3),
        "capacity_grid_seconds": laps["capacity_grid"], "capacity_grid_points": curve.height,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "totals_usd": {k: round(v, 2) for k, v in totals.items()},
        "attribution_specific_usd": round(float(attribution.daily["specific"].sum()), 2),
    }


# --- peer comparison: the same positions through cvxportfolio's MarketSimulator -----------------------------

PEER_SCRIPT = Path(__file__).parent / "peers" / "bench_backtest_vs_cvxportfolio.py"
# cvxportfolio runs on this many days (at the full width, and timed on the first PEER_WIDTHS assets)
PEER_DAYS = 250
PEER_WIDTHS = (100, 300, 1000)


def peer_panel(n_assets: int, n_days: int, seed: int = 7, every: int = 5,
               first_decision: int = 20) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Random-walk prices whose dollar volume (close x shares) is constant in time per asset, and a
    persistent random dollar-neutral book (AR(1) scores) decided every ``every`` days from
    ``first_decision`` on.

    Constant dollar volume makes the realised dollar volume of a trade day (cvxportfolio's ``V`` in
    simulation) equal to the trailing mean (ours); the first decision waits for the 20-day windows,
    and the last execution (lag 1) is at least two days before the end: cvxportfolio never
    simulates the last period."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2015-01-01"), np.datetime64("2015-01-01") + int(n_days * 1.5) + 7)
    dates = dates[np.is_busday(dates)][:n_days]
    returns = rng.normal(0.0002, 0.018, (n_days, n_assets)) + rng.normal(0, 0.008, (n_days, 1))
    close = 50 * np.exp(np.cumsum(returns, axis=0))
    dollar_volume = rng.lognormal(16.0, 1.2, (1, n_assets))
    assets = np.array([f"A{i:04d}" for i in range(n_assets)])
    long = {"date": np.repeat(dates, n_assets), "asset": np.tile(assets, n_days)}
    prices = pl.DataFrame({**long, "close": close.ravel(), "volume": (dollar_volume / close).ravel()}
                          ).with_columns(pl.col("date").cast(pl.Date))
    rows = np.arange(first_decision, n_days - 2, every)
    scores = np.empty((rows.size, n_assets))
    score = rng.standard_normal(n_assets)
    for k in range(rows.size):
        score = 0.9 * score + np.sqrt(1 - 0.9**2) * rng.standard_normal(n_assets)
        scores[k] = score
    w = scores - scores.mean(axis=1, keepdims=True)
    w /= np.abs(w).sum(axis=1, keepdims=True)
    weights = pl.DataFrame({"date": np.repeat(dates[rows], n_assets), "asset": np.tile(assets, rows.size),
                            "weight": w.ravel()}).with_columns(pl.col("date").cast(pl.Date))
    return prices, weights


def peer_spec(n_assets: int):
    """Every cost piece cvxportfolio reproduces (spread, commission per dollar and per share, square-root
    impact, borrow), partial adjustment, and a participation cap that binds on some trades."""
    from quant_core.portfolio.costs import CostModel
    from quant_core.portfolio.ledger import SimulationSpec

    return SimulationSpec(aum_usd=1e5 * n_assets, lag_days=1, adjustment_rate=0.5,
                          costs=CostModel(half_spread_bps=2.0, commission_bps=0.5, commission_per_share_usd=0.005,
                                          impact_coef=1.0, borrow_bps_per_year=30.0, max_participation=0.05))


def peer_case(n_assets: int, n_days: int):
    """``(market, weights, spec)`` of the comparison on our side."""
    from quant_core.portfolio.construction import weights_from_frame
    from quant_core.portfolio.market import market_data

    prices, weights = peer_panel(n_assets, n_days)
    market = market_data(prices)
    return market, weights_from_frame(weights, market), peer_spec(n_assets)


def write_peer_inputs(path: Path, market, backtest) -> None:
    """What the peer script needs, as plain arrays: the panel, our point-in-time sigma and adv, the
    ledger's filled trades, held positions and daily columns, and the cost parameters."""
    from quant_core.portfolio.ledger import cost_inputs

    spec = backtest.spec
    sigma, adv, _ = cost_inputs(market, spec.costs)
    daily = {c: backtest.column(c) for c in ("gross", "spread", "commission", "impact", "borrow", "net")}
    c = spec.costs
    np.savez(path, dates=market.grid.dates.astype(np.int64), assets=market.grid.assets.astype(str),
             close=market.close, dollar_volume=market.dollar_volume(), sigma=sigma, adv=adv,
             trades_usd=backtest.trades_usd, held_usd=backtest.held_usd, **daily,
             aum_usd=spec.aum_usd, half_spread_bps=c.half_spread_bps, commission_bps=c.commission_bps,
             commission_per_share_usd=c.commission_per_share_usd, impact_coef=c.impact_coef,
             borrow_bps_per_year=c.borrow_bps_per_year)


def _best_seconds(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_peer(cvx_python: str, inputs: Path, n_assets: int, n_days: int, widths: str | None = "all",
             timeout: float = 1800) -> dict:
    """The peer script on ``inputs`` (``widths=None``: the cost comparison only, no timing)."""
    cmd = [str(cvx_python), str(PEER_SCRIPT), "--inputs", str(inputs), "--n-assets", str(n_assets),
           "--n-days", str(n_days), *(["--no-timing"] if widths is None else ["--widths", widths])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
                         timeout=timeout)
    return json.loads(out.stdout[out.stdout.index("{"):])


def _first_columns(market, weights, n: int):
    """The same book on its first ``n`` assets (what cvxportfolio is timed on at that width)."""
    from dataclasses import replace

    grid = replace(market.grid, assets=market.grid.assets[:n])
    sub = replace(market, grid=grid, **{k: getattr(market, k)[:, :n] for k in ("close", "returns", "high", "low",
                                                                               "volume")},
                  sector=market.sector[:n])
    return sub, replace(weights, grid=grid, weights=weights.weights[:, :n])


def cvxportfolio_comparison(cvx_python: str, n_assets: int, n_days: int, peer_days: int = PEER_DAYS,
                            widths: tuple[int, ...] = PEER_WIDTHS, repeat: int = 3) -> dict:
    """Our ledger and cvxportfolio's simulator on the same positions: equal costs (on ``n_assets x
    peer_days``), the speed ratio on the same subsets (measured: the first ``widths`` assets over
    ``peer_days`` days) and at ``n_assets x n_days`` (cvxportfolio's time extrapolated)."""
    import tempfile

    from quant_core.portfolio.ledger import simulate

    days = min(peer_days, n_days)
    market, weights, spec = peer_case(n_assets, days)
    backtest = simulate(market, weights, spec)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "peer_inputs.npz"
        write_peer_inputs(inputs, market, backtest)
        peer = run_peer(cvx_python, inputs, n_assets, n_days,
                        widths=",".join(str(w) for w in sorted({min(w, n_assets) for w in widths} | {n_assets})))
    subsets = []
    for run in peer["timing"]["runs"]:
        sub_market, sub_weights = _first_columns(market, weights, run["n_assets"])
        ours = _best_seconds(lambda m=sub_market, w=sub_weights: simulate(m, w, spec), repeat)
        subsets.append({"n_assets": run["n_assets"], "n_days": days,
                        "ours_seconds": round(ours, 5), "ours_seconds_per_day": ours / days,
                        "ours_seconds_per_asset_day": ours / (days * run["n_assets"]),
                        "cvxportfolio_seconds": run["backtest_seconds"],
                        "cvxportfolio_seconds_per_simulated_day": run["seconds_per_simulated_day"],
                        "cvxportfolio_seconds_per_asset_day": run["seconds_per_asset_day"],
                        "speedup_measured": run["backtest_seconds"] / ours})
    if days == n_days:
        ours_full = next(s["ours_seconds"] for s in subsets if s["n_assets"] == n_assets)
    else:
        full_market, full_weights, full_spec = peer_case(n_assets, n_days)
        ours_full = _best_seconds(lambda: simulate(full_market, full_weights, full_spec), max(1, repeat - 1))
    full = peer["timing"]["full_size"]
    label = "measured" if full["measured"] else "extrapolated"
    return {
        "max_rel_cost_diff": peer["max_rel_diff"],
        "costs_equal_to_1e-6": peer["max_rel_diff"] <= 1e-6,
        "costs_compared_on": {"n_assets": n_assets, "n_days": days},
        "subsets_measured": subsets,
        f"full_{label}": {
            "n_assets": n_assets, "n_days": n_days, "ours_seconds_measured": round(ours_full, 3),
            f"cvxportfolio_seconds_{label}": round(full["extrapolated_seconds"], 1),
            f"speedup_{label}": full["extrapolated_seconds"] / ours_full,
            "cvxportfolio_seconds_lower_bound": round(full["lower_bound_seconds"], 1),
            "speedup_lower_bound": full["lower_bound_seconds"] / ours_full},
        "cvxportfolio": peer,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=3000)
    parser.add_argument("--n-days", type=int, default=2520)
    parser.add_argument("--cvx-python", default=None, help="python of the cvxportfolio venv (peer comparison)")
    parser.add_argument("--cvx-days", type=int, default=PEER_DAYS,
                        help="days cvxportfolio simulates at the full width (its full-size time is extrapolated "
                             "from them; --cvx-days N_DAYS measures it: about a minute and 2 GB at 3,000 x 2,520)")
    args = parser.parse_args(argv)
    result = run(args.n_assets, args.n_days)
    if args.cvx_python and Path(args.cvx_python).exists() and PEER_SCRIPT.exists():
        result["cvxportfolio"] = cvxportfolio_comparison(args.cvx_python, args.n_assets, args.n_days, args.cvx_days)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
