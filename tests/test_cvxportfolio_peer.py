"""Our trade costs against cvxportfolio 1.5.1's cost objects, which run in a venv of their own.

``benchmarks/peers/cvx_cost_check.py`` evaluates cvxportfolio (its optimization term and its
simulator cost) on cases stated in our parameter names and prints JSON; here the same cases go
through ``quant_core.portfolio.costs.trade_costs`` and must agree to 1e-9 relative. The mapping
of parameters (``a = half spread + commission`` as fractions, ``b = impact_coef``, ``sigma`` a
daily std, ``V`` a dollar volume, exponent 3/2) is explained in the script's docstring.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from quant_core.portfolio.costs import CostModel, trade_costs
from quant_core.portfolio.market import trailing_mean, trailing_std

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".bench_cvx_venv" / "bin" / "python"
SCRIPT = ROOT / "benchmarks" / "peers" / "cvx_cost_check.py"
REL = 1e-9

TRADE_CASES = [
    "issue: $1M at 2% of volume, sigma 2%",
    "sizes 0.1% to 10% of volume, buys and sells",
    "linear: half spread 5 bps, commission 1 bp",
    "per share: $0.005 a share",
    "everything, impact_coef 0.7, three assets",
]

# The issue's case, by hand: impact = impact_coef * sigma_daily * |trade| * sqrt(|trade| / adv)
# = 1.0 * 0.02 * 1e6 * sqrt(1e6 / 5e7) = 20,000 * sqrt(0.02) = 20,000 * 0.1414213562373095
ISSUE_IMPACT_USD = 2828.427124746190


@pytest.fixture(scope="module")
def peer() -> dict:
    if not PEER_PYTHON.exists():
        pytest.skip(f"{PEER_PYTHON.relative_to(ROOT)} is absent: run `make bench-peers` to build "
                    "the cvxportfolio venv")
    done = subprocess.run([str(PEER_PYTHON), str(SCRIPT)], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert report["cvxportfolio_version"] == "1.5.1"
    return report


def _ours(case: dict):
    model = CostModel(half_spread_bps=case["half_spread_bps"], commission_bps=case["commission_bps"],
                      commission_per_share_usd=case["commission_per_share_usd"],
                      impact_coef=case["impact_coef"])
    return trade_costs(np.asarray(case["trade_usd"]), np.asarray(case["close"]),
                       np.asarray(case["sigma_daily"]), np.asarray(case["adv_usd"]),
                       case["half_spread_bps"], model)


def test_issue_case_by_hand_ours():
    """$1M trade at 2% of the daily dollar volume with sigma_daily 2%: 2,828.43 USD of impact."""
    costs = trade_costs(np.array([1e6]), np.array([50.0]), np.array([0.02]), np.array([5e7]), 0.0,
                        CostModel(half_spread_bps=0.0, commission_bps=0.0, impact_coef=1.0))
    assert costs.impact[0] == pytest.approx(ISSUE_IMPACT_USD, rel=1e-12)
    assert ISSUE_IMPACT_USD == pytest.approx(20_000 * math.sqrt(0.02), rel=1e-15)


@pytest.mark.slow
def test_issue_case_by_hand_cvxportfolio(peer):
    (case,) = [c for c in peer["trade_cases"] if c["name"] == TRADE_CASES[0]]
    assert (case["trade_usd"], case["sigma_daily"], case["adv_usd"]) == ([1e6], [0.02], [5e7])
    for mode in ("optimization", "simulation"):
        assert case["cvxportfolio"][mode]["impact"] == pytest.approx(ISSUE_IMPACT_USD, rel=REL)
        assert case["cvxportfolio"][mode]["total"] == pytest.approx(ISSUE_IMPACT_USD, rel=REL)


@pytest.mark.slow
def test_the_peer_reports_every_case(peer):
    assert [c["name"] for c in peer["trade_cases"]] == TRADE_CASES


@pytest.mark.slow
@pytest.mark.parametrize("name", TRADE_CASES)
def test_trade_costs_match_cvxportfolio(peer, name):
    (case,) = [c for c in peer["trade_cases"] if c["name"] == name]
    ours = _ours(case)
    columns = {"spread": ours.spread.sum(), "commission": ours.commission.sum(),
               "impact": ours.impact.sum()}
    columns["total"] = sum(columns.values())
    assert columns["total"] > 0
    for mode in ("optimization", "simulation"):
        theirs = case["cvxportfolio"][mode]
        for column, value in columns.items():
            assert theirs[column] == pytest.approx(value, rel=REL, abs=1e-9), (mode, column)


@pytest.mark.slow
def test_borrow_matches_cvxportfolio_once_its_annual_percent_is_compounded(peer):
    """Ours charges ``borrow_bps_per_year * 1e-4 / 252`` of the short dollars each trading day:
    30 bps on a $1M short is 1e6 * 0.003 / 252 = 11.9047619 USD a day; 500 bps on $1.25M of
    shorts (the long pays nothing) is 62,500 / 252 = 248.015873 USD a day. cvxportfolio
    compounds an annual percent, ``(1 + fees / 100) ** (1 / 252) - 1`` a period, so the same
    number read as its ``short_fees`` charges less; the equivalent ``short_fees`` agrees."""
    by_hand = {"$1M short, 30 bps a year (CostModel default)": 1e6 * 0.003 / 252,
               "two shorts and a long, 500 bps a year": 62_500 / 252}
    assert CostModel().borrow_bps_per_year == 30.0
    assert {c["name"] for c in peer["holding_cases"]} == set(by_hand)
    for case in peer["holding_cases"]:
        theirs = case["cvxportfolio"]
        expected = by_hand[case["name"]]
        assert theirs["optimization_ppy252_equivalent"] == pytest.approx(expected, rel=REL)
        # the conventions differ: compounding charges 0.15% (30 bps) to 2.4% (500 bps) less
        assert theirs["optimization_ppy252_native"] < expected * (1 - 1e-3)
        # the simulator charges calendar time (365.24 days a year): a weekend costs three days
        assert theirs["simulation_weekend_native"] == pytest.approx(
            3 * theirs["simulation_one_day_native"], rel=1e-3)


@pytest.mark.slow
def test_sigma_and_volume_estimators_match_cvxportfolio(peer):
    """Over the same 20 rows before ``t``, our ``trailing_std`` (demeaned, ddof=1) is
    cvxportfolio's ``HistoricalStandardDeviation(kelly=False)`` (ddof=0) times sqrt(20 / 19), and
    our ``trailing_mean`` of dollar volume is its ``HistoricalMeanVolume``. Its default
    ``kelly=True`` is sqrt(mean(r^2)), not demeaned: a different number."""
    est = peer["estimators"]
    window, row = est["window_days"], est["row_estimated"]
    returns, volume = np.asarray(est["returns"]), np.asarray(est["dollar_volume"])
    sigma = trailing_std(returns, window)[row]
    np.testing.assert_allclose(sigma, np.asarray(est["sigma_kelly_false"]) * math.sqrt(window / (window - 1)),
                               rtol=REL)
    np.testing.assert_allclose(trailing_mean(volume, window)[row], est["mean_volume"], rtol=REL)
    assert not np.allclose(sigma, est["sigma_kelly_true"], rtol=1e-3)
