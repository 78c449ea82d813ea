"""``qf backtest`` as a user calls it: a signal or weight file and prices in, the ledger out."""

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dagster_project.cli import main
from dagster_project.cli.backtest import EXIT_BAD_INPUT
from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("backtest_files")
    panel = simulate_market(SyntheticMarketConfig(n_assets=60, n_days=400, seed=3)).panel
    panel.select(["date", "asset", "close", "high", "low", "volume", "sector"]).write_parquet(root / "prices.parquet")
    signal = panel.select(["date", "asset", (pl.col("sig_fast") + pl.col("sig_slow")).alias("signal")]).drop_nulls()
    signal.write_parquet(root / "signal.parquet")
    noise = panel.select(["date", "asset", pl.col("noise_1").alias("signal")]).drop_nulls()
    noise.write_parquet(root / "noise.parquet")
    return root


def _run(files, out, *extra):
    return main(["backtest", "--prices", str(files / "prices.parquet"), "--out", str(out), *extra])


def test_a_planted_signal_earns_gross_and_the_files_say_what_costs_take(files, tmp_path):
    out = tmp_path / "bt"
    assert _run(files, out, "--signal", str(files / "signal.parquet"), "--aum-usd", "1e7") == 0
    result = json.loads((out / "backtest.json").read_text())
    pnl = result["pnl_usd"]
    assert set(pnl) == {"gross", "spread", "impact", "commission", "borrow", "net"}
    assert pnl["gross"] > 0 and result["sharpe"]["gross"] > 2
    assert pnl["net"] == pytest.approx(pnl["gross"] - pnl["spread"] - pnl["impact"] - pnl["commission"] - pnl["borrow"])
    assert {"gross", "net"} <= set(result["attribution"])
    gross = result["attribution"]["gross"]
    assert gross["total"] == pytest.approx(gross["market"] + gross["sector"] + gross["style"] + gross["specific"])
    assert gross["specific"] > 0.5 * gross["total"]  # a stock-specific signal earns mostly alpha
    assert [row["aum_usd"] for row in result["capacity"]] == sorted(row["aum_usd"] for row in result["capacity"])
    assert result["breakeven_half_spread_bps"] > 2.0  # it pays at the default 2 bps half spread
    daily = pl.read_parquet(out / "daily.parquet")
    assert {"date", "gross", "spread", "impact", "commission", "borrow", "net", "turnover", "unfilled_usd"} <= set(daily.columns)
    assert daily["net"].sum() == pytest.approx(pnl["net"])
    html = (out / "report.html").read_text()
    assert "<img" in html and "Implementation shortfall" in html


def test_a_noise_signal_loses_money_after_costs(files, tmp_path):
    out = tmp_path / "noise"
    assert _run(files, out, "--signal", str(files / "noise.parquet"), "--aum-usd", "1e7") == 0
    pnl = json.loads((out / "backtest.json").read_text())["pnl_usd"]
    costs = pnl["spread"] + pnl["impact"] + pnl["commission"] + pnl["borrow"]
    assert pnl["net"] < 0 and costs > abs(pnl["gross"])


def test_own_weights_and_a_beta_and_sector_neutral_book(files, tmp_path):
    prices = pl.read_parquet(files / "prices.parquet")
    dates = prices["date"].unique().sort()
    first = prices.filter(pl.col("date") == dates[300]).head(10)
    weights = first.select(["date", "asset"]).with_columns(pl.Series("weight", [0.1] * 5 + [-0.1] * 5))
    weights.write_csv(tmp_path / "w.csv")
    out = tmp_path / "w"
    assert _run(files, out, "--weights", str(tmp_path / "w.csv"), "--aum-usd", "1e6") == 0
    daily = pl.read_parquet(out / "daily.parquet")
    assert daily["traded_usd"][301] == pytest.approx(1e6)  # one decision, executed the next close
    assert (daily["traded_usd"].to_numpy() > 0).sum() == 1
    out2 = tmp_path / "neutral"
    assert _run(files, out2, "--signal", str(files / "signal.parquet"), "--neutralize", "dollar,beta,sector") == 0


def test_bad_input_exits_2_naming_the_file_and_column_and_writes_nothing(files, tmp_path, capsys):
    bad = pl.read_parquet(files / "signal.parquet").with_columns(pl.lit("x").alias("signal"))
    bad.write_parquet(tmp_path / "bad.parquet")
    out = tmp_path / "nothing"
    assert _run(files, out, "--signal", str(tmp_path / "bad.parquet")) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "bad.parquet" in err and "signal" in err
    assert not out.exists()
    assert _run(files, out, "--signal", str(files / "signal.parquet"), "--neutralize", "gamma") == EXIT_BAD_INPUT
    assert _run(files, out, "--signal", str(files / "signal.parquet"), "--max-participation", "0") == EXIT_BAD_INPUT
    assert not out.exists()


@pytest.mark.realdata
def test_the_real_sp500_panel_with_fama_french_factors(tmp_path):
    panel_path = SHARED / "sp500_daily_2013_2018.parquet"
    factors = SHARED / "fama_french" / "F-F_Research_Data_Factors_daily.CSV"
    momentum = SHARED / "fama_french" / "F-F_Momentum_Factor_daily.CSV"
    if not panel_path.exists() or not factors.exists() or not momentum.exists():
        pytest.skip(f"real data absent: {SHARED} (see ../shared/data/README.md)")
    panel = pl.read_parquet(panel_path)
    closes = panel.select(["date", "asset", "close", "high", "low", "volume", "sector"])
    closes.write_parquet(tmp_path / "prices.parquet")
    # a 20-day reversal signal, known at each close
    signal = panel.sort(["asset", "date"]).with_columns(
        (-(pl.col("close") / pl.col("close").shift(20).over("asset") - 1)).alias("signal")
    ).select(["date", "asset", "signal"]).drop_nulls()
    signal.write_parquet(tmp_path / "reversal.parquet")
    out = tmp_path / "real"
    code = main(["backtest", "--signal", str(tmp_path / "reversal.parquet"), "--prices", str(tmp_path / "prices.parquet"),
                 "--out", str(out), "--neutralize", "dollar,beta", "--factors", f"{factors},{momentum}"])
    assert code == 0
    result = json.loads((out / "backtest.json").read_text())
    gross = result["attribution"]["gross"]
    daily = pl.read_parquet(out / "daily.parquet")
    # the beta-neutral book's market PnL is small next to what the book turns over day to day
    assert abs(gross["market"]) < 0.25 * float(np.abs(daily["gross"].to_numpy()).sum())
    assert gross["total"] == pytest.approx(gross["market"] + gross["style"] + gross["specific"] + gross.get("sector", 0.0))
    assert {"Mkt-RF", "SMB", "HML", "Mom"} <= set(gross)  # both files' factors, joined on their dates
    legs = result["attribution"]
    assert legs["long"]["market"] > 10 * abs(gross["market"])  # each leg carries the market; they cancel
    assert legs["long"]["total"] + legs["short"]["total"] == pytest.approx(gross["total"])


def test_the_corwin_schultz_spread_runs_and_a_high_below_its_low_is_refused(files, tmp_path, capsys):
    out = tmp_path / "cs"
    assert _run(files, out, "--signal", str(files / "signal.parquet"), "--spread-estimator", "corwin_schultz") == 0
    assert json.loads((out / "backtest.json").read_text())["pnl_usd"]["spread"] > 0
    prices = pl.read_parquet(files / "prices.parquet")
    bad = prices.with_columns(pl.when(pl.int_range(pl.len()) == 100).then(pl.col("low") * 0.5).otherwise(pl.col("high"))
                              .alias("high"))
    bad.write_parquet(tmp_path / "bad_prices.parquet")
    code = main(["backtest", "--prices", str(tmp_path / "bad_prices.parquet"), "--out", str(tmp_path / "no"),
                 "--signal", str(files / "signal.parquet"), "--spread-estimator", "corwin_schultz"])
    assert code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "bad_prices.parquet" in err and "high, low" in err
    assert not (tmp_path / "no").exists()
