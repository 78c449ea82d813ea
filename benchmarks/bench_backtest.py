"""The backtest with attribution at desk scale: 3,000 assets x 2,520 days (ten years).

    python -m benchmarks.bench_backtest [--n-assets 3000 --n-days 2520] [--cvx-python PATH]

Times, on one synthetic panel of random-walk prices and dollar volumes and a random signal:
building the dollar-neutral book, the ledger (spread, square-root impact, commission, borrow,
participation cap), the factor model estimated from the panel, the attribution of the ledger's
PnL, and the whole capacity grid (9 AUM levels, each a full re-simulation plus attribution), with
peak RSS. With ``--cvx-python`` (the cvxportfolio venv that ``make bench-peers`` builds) it also
runs cvxportfolio's MarketSimulator on the same positions (``benchmarks/peers/bench_backtest_vs_cvxportfolio.py``)
on a subset and scales its per-period time to the full size.
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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=3000)
    parser.add_argument("--n-days", type=int, default=2520)
    parser.add_argument("--cvx-python", default=None, help="python of the cvxportfolio venv (peer comparison)")
    args = parser.parse_args(argv)
    result = run(args.n_assets, args.n_days)
    peer = Path(__file__).parent / "peers" / "bench_backtest_vs_cvxportfolio.py"
    if args.cvx_python and Path(args.cvx_python).exists() and peer.exists():
        out = subprocess.run([args.cvx_python, str(peer), "--n-assets", str(args.n_assets), "--n-days", str(args.n_days)],
                             capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
        result["cvxportfolio"] = json.loads(out.stdout[out.stdout.index("{"):])
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
