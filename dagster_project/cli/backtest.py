"""``qf backtest``: what a signal or weight file earns after costs, and where its PnL comes from.

    qf backtest (--signal S.parquet | --weights W.parquet) --prices P.parquet --out DIR
                [--lag-days 1] [--aum-usd 1e8] [--half-spread-bps 2] [--commission-bps 0.5]
                [--impact-coef 1.0] [--borrow-bps-per-year 30] [--max-participation 0.1]
                [--neutralize dollar,beta,sector] [--factors FF.csv]

``S`` has ``date, asset, signal`` (every date it covers is a decision); ``W`` has ``date, asset,
weight`` (fractions of AUM; a date without rows is not a decision, a missing asset on a decision
date is weight 0); ``P`` has ``date, asset, close`` and optionally ``high, low, volume, sector``.
Writes ``DIR/backtest.json``, ``DIR/daily.parquet`` (one row per date, every ledger column) and
``DIR/report.html``. Exit codes: 0 done, 2 bad input (the message names the file, the column and
example rows; nothing is written).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

EXIT_OK, EXIT_BAD_INPUT = 0, 2
NEUTRAL = ("dollar", "beta", "sector")


def add_backtest_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("backtest", help="trade a signal or weight file: costs, attribution, capacity",
                                   description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--signal", help="parquet or CSV: date, asset, signal")
    source.add_argument("--weights", help="parquet or CSV: date, asset, weight (fraction of AUM)")
    parser.add_argument("--prices", required=True, help="parquet or CSV: date, asset, close [, high, low, volume, sector]")
    parser.add_argument("--out", required=True, help="directory for backtest.json, daily.parquet, report.html")
    parser.add_argument("--lag-days", type=int, default=1, help="trading days from decision close to execution close")
    parser.add_argument("--aum-usd", type=float, default=1e8, help="constant capital (USD)")
    parser.add_argument("--half-spread-bps", type=float, default=2.0)
    parser.add_argument("--spread-estimator", choices=["fixed", "corwin_schultz"], default="fixed",
                        help="fixed half spread, or Corwin-Schultz from daily high/low (fixed where missing)")
    parser.add_argument("--commission-bps", type=float, default=0.5)
    parser.add_argument("--impact-coef", type=float, default=1.0, help="square-root impact coefficient")
    parser.add_argument("--borrow-bps-per-year", type=float, default=30.0)
    parser.add_argument("--max-participation", type=float, default=0.1, help="largest trade / trailing dollar volume")
    parser.add_argument("--neutralize", default="dollar", help="comma list of dollar, beta, sector ('' = none)")
    parser.add_argument("--max-weight", type=float, default=0.05, help="largest |weight| of one name")
    parser.add_argument("--factors", default=None,
                        help="Kenneth French daily CSV(s) of factor returns, comma-separated (e.g. the three "
                             "factors and momentum); default: factors estimated from the panel")
    parser.set_defaults(func=cmd_backtest)
    return parser


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_backtest(args: argparse.Namespace) -> int:
    from quant_core.data.contracts import DataContractError
    from quant_core.data.readers import read_frame
    from quant_core.portfolio.market import market_data
    from quant_core.stages.trading import TradingSpec, backtest_book, write_trading_report
    from quant_core.validation.signal_file import read_signal_file

    wanted = {s.strip() for s in args.neutralize.split(",") if s.strip()}
    if wanted - set(NEUTRAL):
        return _error(f"--neutralize takes {', '.join(NEUTRAL)}; got {sorted(wanted - set(NEUTRAL))}")
    if args.lag_days < 0:
        return _error(f"--lag-days must be >= 0, got {args.lag_days}")
    try:
        spec = TradingSpec(aum_usd=args.aum_usd, lag_days=args.lag_days, half_spread_bps=args.half_spread_bps,
                           spread_estimator=args.spread_estimator, commission_bps=args.commission_bps,
                           impact_coef=args.impact_coef, borrow_bps_per_year=args.borrow_bps_per_year,
                           max_participation=args.max_participation, dollar_neutral="dollar" in wanted,
                           beta_neutral="beta" in wanted, sector_neutral="sector" in wanted,
                           max_weight=args.max_weight)
        spec.simulation()
        spec.construction()
    except ValueError as exc:
        return _error(str(exc))
    try:
        market = market_data(read_frame(args.prices), str(args.prices))
        if args.signal:
            book, kind = read_signal_file(args.signal), "signal"
        else:
            book, kind = read_signal_file(args.weights, "weight").rename({"signal": "weight"}), "weights"
        factor_model = _factor_model(market, args.factors)
    except DataContractError as exc:
        return _error(str(exc))
    name = Path(args.signal or args.weights).stem
    try:  # e.g. the Corwin-Schultz estimator refusing a high below its low
        result = backtest_book(market, book, spec, factor_model=factor_model, name=name, kind=kind)
    except DataContractError as exc:
        return _error(f"{args.prices}: {exc}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staged = Path(tmp) / "out"
        paths = write_trading_report([result], staged)
        os.replace(paths[f"{name}_daily"], staged / "daily.parquet")
        os.replace(paths["html"], staged / "report.html")
        summary = json.loads(paths["json"].read_text())[name]
        (staged / "backtest.json").write_text(json.dumps(summary, indent=2))
        paths["json"].unlink()
        out.mkdir(parents=True, exist_ok=True)
        for item in staged.iterdir():
            os.replace(item, out / item.name)
        shutil.rmtree(staged, ignore_errors=True)
    totals = summary["pnl_usd"]
    print(f"{name}: gross {totals['gross']:,.0f} USD -> net {totals['net']:,.0f} USD "
          f"(spread {totals['spread']:,.0f}, impact {totals['impact']:,.0f}, commission {totals['commission']:,.0f}, "
          f"borrow {totals['borrow']:,.0f}); net Sharpe {_fmt(summary['sharpe']['net'])}; "
          f"mean turnover {summary['turnover_mean']:.1%}")
    print(f"wrote {out / 'backtest.json'}, {out / 'daily.parquet'}, {out / 'report.html'}")
    return EXIT_OK


def _fmt(value) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _factor_model(market, factors_path: str | None):
    from quant_core.stages.trading import FactorSpec, research_factor_model

    return research_factor_model(market, FactorSpec(factors_path=factors_path or ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qf")
    add_backtest_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
