"""Our ledger's trades replayed through cvxportfolio 1.5.1's MarketSimulator: the same costs.

``benchmarks/bench_backtest.py`` builds the peer case on our side (prices whose dollar volume is
constant in time, a persistent dollar-neutral book, every cost piece on: spread, commission per
dollar and per share, square-root impact, borrow, partial adjustment, participation cap), runs
``simulate`` and writes the panel and the ledger to an ``.npz``;
``benchmarks/peers/bench_backtest_vs_cvxportfolio.py`` (in the cvxportfolio venv, importing nothing
of ours) replays the filled trades with ``FixedTrades`` and cost objects set to our parameters. Its
docstring states what is aligned (period timing, trades as weights of its portfolio value,
realised volume = our trailing mean by construction, our sigma passed as data, per-period
compounded calendar-time borrow turned into our simple per-trading-day rate). Here the costs it
charged must equal our ledger's to 1e-6 relative, column by column and in total.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".bench_cvx_venv" / "bin" / "python"
REL = 1e-6
N_ASSETS, N_DAYS = 20, 40


def _bench():
    """``benchmarks/bench_backtest.py`` by path (``benchmarks`` is not an installed package)."""
    spec = importlib.util.spec_from_file_location("_bench_backtest", ROOT / "benchmarks" / "bench_backtest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    if not PEER_PYTHON.exists():
        pytest.skip("run `make bench-peers` to build the cvxportfolio venv")
    from quant_core.portfolio.ledger import simulate

    bench = _bench()
    market, weights, spec = bench.peer_case(N_ASSETS, N_DAYS)
    backtest = simulate(market, weights, spec)
    inputs = tmp_path_factory.mktemp("cvx_simulator") / "inputs.npz"
    bench.write_peer_inputs(inputs, market, backtest)
    report = bench.run_peer(PEER_PYTHON, inputs, N_ASSETS, N_DAYS, widths=None, timeout=120)
    assert report["cvxportfolio_version"] == "1.5.1"
    return backtest, report


@pytest.mark.slow
def test_each_cost_column_equals_cvxportfolio_simulator(replay):
    backtest, report = replay
    ours = backtest.totals()
    split = report["comparison"]["split"]
    assert split["cost_objects"] == ["TransactionCost", "StocksTransactionCost", "Impact", "HoldingCost"]
    for column in ("spread", "commission", "impact", "borrow"):
        theirs = split["totals"][column]["cvxportfolio_usd"]
        assert ours[column] > 0, column
        assert theirs == pytest.approx(ours[column], rel=REL), column
        assert split["max_per_day_rel_diff"][column] < REL, column
        assert split["totals"][column]["cvxportfolio_max_usd_on_days_ours_is_zero"] == 0.0, column
    assert split["totals"]["spread_plus_commission"]["cvxportfolio_usd"] == pytest.approx(
        ours["spread"] + ours["commission"], rel=REL)


@pytest.mark.slow
def test_cvxportfolio_default_style_cost_objects_charge_the_same_total(replay):
    """One ``StocksTransactionCost`` (a, per-share, impact) and one ``HoldingCost``, as a user writes it."""
    backtest, report = replay
    ours = backtest.totals()
    natural = report["comparison"]["natural"]["totals"]
    assert natural["trade_costs"]["cvxportfolio_usd"] == pytest.approx(
        ours["spread"] + ours["commission"] + ours["impact"], rel=REL)
    assert natural["borrow"]["cvxportfolio_usd"] == pytest.approx(ours["borrow"], rel=REL)
    assert report["max_rel_diff"] < REL


@pytest.mark.slow
def test_cvxportfolio_replayed_our_trades_and_positions(replay):
    backtest, report = replay
    for config in ("split", "natural"):
        checks = report["comparison"][config]["replay"]
        assert checks["traded_cells"] == int((backtest.trades_usd != 0).sum()) > 0
        assert checks["trades_max_abs_diff_over_max_trade"] < 1e-10
        assert checks["holdings_max_abs_diff_over_max_position"] < 1e-10
        assert checks["portfolio_value_max_rel_diff"] < 1e-10
        # its V (the period's realised dollar volume) is our trailing adv on every traded cell
        assert checks["realised_volume_vs_our_adv_max_rel_diff_on_traded_cells"] < 1e-10
    assert np.all(backtest.trades_usd[-1] == 0)  # cvxportfolio never simulates the last period
