"""Dirty real data is noticed: one-day glitches that revert and jumps the sector does not share
are warnings (never failures) naming asset, dates and size."""

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from quant_core.data.expectations import validate_panel
from quant_core.data.quality import price_anomalies
from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

SP500 = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "sp500_daily_2013_2018.parquet"


def _panel(closes: dict[str, list[float]]) -> pl.DataFrame:
    n = len(next(iter(closes.values())))
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    return pl.DataFrame({"date": [d for _ in closes for d in dates], "asset": [a for a in closes for _ in dates],
                         "close": [float(c) for cs in closes.values() for c in cs]})


def test_a_bad_print_that_reverts_is_a_glitch_and_a_split_is_a_jump():
    flat = [100.0] * 8
    panel = _panel({"A": flat, "B": [100, 100, 100, 50, 100, 100, 100, 100.0], "C": [100, 100, 100, 100, 50, 50, 50, 50.0],
                    "D": flat})
    glitches, jumps = price_anomalies(panel)
    assert glitches.select(["asset", "date", "next_date"]).rows() == [("B", dt.date(2024, 1, 4), dt.date(2024, 1, 5))]
    assert glitches["excess_log_return"][0] == pytest.approx(np.log(0.5))
    assert jumps.select(["asset", "date"]).rows() == [("C", dt.date(2024, 1, 5))]  # the revert day is not a jump


def test_a_move_the_whole_sector_makes_is_not_flagged():
    crash = [100, 100, 60, 60, 60.0]
    assert all(f.height == 0 for f in price_anomalies(_panel({"A": crash, "B": crash, "C": crash})))


def test_the_synthetic_market_is_clean():
    panel = simulate_market(SyntheticMarketConfig(n_assets=100, n_days=500, seed=7)).panel
    glitches, jumps = price_anomalies(panel)
    assert glitches.height == 0 and jumps.height == 0


@pytest.mark.realdata
def test_the_sp500_panels_known_glitch_and_spin_offs_are_warned_about():
    if not SP500.exists():
        pytest.skip(f"real data absent: {SP500} (see ../shared/data/README.md)")
    panel = pl.read_parquet(SP500)
    result = validate_panel(panel, str(SP500), use_great_expectations=False)
    assert result.passed  # warnings, not failures
    text = "\n".join(result.warnings)
    assert "LNT 2016-05-19" in text  # the one-day glitch of the data's README
    glitches, jumps = price_anomalies(panel)
    assert {"BAX", "EBAY", "NI"} <= set(jumps["asset"].to_list())  # the unadjusted spin-offs
    assert ("LNT", dt.date(2016, 5, 19)) in glitches.select(["asset", "date"]).rows()
