import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.data.contracts import DataContractError
from quant_core.targets import forward_returns
from quant_core.validation import ic_series, ic_summary
from quant_core.validation.signal_file import (
    align_signal,
    forward_returns_from_returns,
    prices_from_returns,
    read_returns_file,
    read_signal_file,
    validate_signal_file,
    write_validation_outputs,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Signal (CSV, with sector), prices (parquet) and the same market as returns (CSV)."""
    rng = np.random.default_rng(0)
    n_days, n_assets = 60, 20
    dates = np.busday_offset("2023-01-02", np.arange(n_days), roll="forward")
    s = rng.standard_normal((n_days, n_assets))
    r = 0.01 * rng.standard_normal((n_days, n_assets))
    r[2:] += 0.004 * s[:-2]  # signal at t predicts the return of day t + 2 (the 1-day label)
    close = 50 * np.cumprod(1 + r, axis=0)
    keys = {
        "date": np.repeat(dates, n_assets),
        "asset": np.tile([f"S{i:02d}" for i in range(n_assets)], n_days),
    }
    d = tmp_path_factory.mktemp("signal_files")
    signal = pl.DataFrame({**keys, "signal": s.ravel(),
                           "sector": np.tile(["X", "Y"], n_days * n_assets // 2)})
    signal = signal.with_columns(pl.col("date").cast(pl.Date))
    prices = pl.DataFrame({**keys, "close": close.ravel()}).with_columns(pl.col("date").cast(pl.Date))
    returns = prices.sort("asset", "date").with_columns(
        (pl.col("close") / pl.col("close").shift(1).over("asset") - 1).alias("return")
    ).select("date", "asset", "return").sort("date", "asset")
    signal.write_csv(d / "signal.csv")
    prices.write_parquet(d / "prices.parquet")
    returns.write_csv(d / "returns.csv")
    return d, signal, prices, returns


def test_forward_returns_from_returns_equal_those_from_prices(files):
    _, _, prices, returns = files
    for h, lag in ((1, 1), (5, 1), (3, 0)):
        ref = forward_returns(prices, horizon_days=h, lag_days=lag).select("date", "asset", "target")
        ours = forward_returns_from_returns(returns, h, lag)
        # The first date has no return, so windows starting there drop out of `ours` only.
        joined = ref.join(ours, on=["date", "asset"], how="inner", suffix="_r")
        assert joined.height == ours.height >= ref.height - 20
        np.testing.assert_allclose(joined["target_r"], joined["target"], rtol=1e-10)


def test_a_missing_daily_return_voids_every_window_that_spans_it():
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(6)]
    returns = pl.DataFrame({"date": dates, "asset": ["a"] * 6,
                            "return": [0.0, 0.1, 0.2, None, 0.1, -0.5]})
    out = forward_returns_from_returns(returns, horizon_days=2, lag_days=0)
    # windows (p, p+2]: p=0 -> days 1,2: 1.1*1.2-1; p=1 spans the gap; p=2 too; p=3 -> 4,5
    assert out["date"].to_list() == [dates[0], dates[3]]
    assert out["target"].to_list() == pytest.approx([1.1 * 1.2 - 1, 1.1 * 0.5 - 1])
    px = prices_from_returns(returns)
    assert px["close"].is_null().to_list() == [False, False, False, True, False, False]
    assert px["close"][2] / px["close"][1] - 1 == pytest.approx(0.2)


def test_prices_or_returns_give_the_same_report(files):
    d, signal, prices, _ = files
    by_prices, ic_p = validate_signal_file(d / "signal.csv", d / "prices.parquet", 1, n_boot=50)
    by_returns, ic_r = validate_signal_file(d / "signal.csv", d / "returns.csv", 1, n_boot=50)
    assert by_prices["inputs"]["returns_kind"] == "prices"
    assert by_returns["inputs"]["returns_kind"] == "returns"
    assert by_prices["rank_ic"] == by_returns["rank_ic"]
    assert by_prices["half_life"] == pytest.approx(by_returns["half_life"])
    frame = signal.join(forward_returns(prices, 1).select("date", "asset", "target"),
                        on=["date", "asset"])
    ref = ic_summary(ic_series(frame, "signal"), horizon_days=1, n_boot=50)
    assert by_prices["rank_ic"]["mean"] == pytest.approx(ref.mean, rel=1e-12)
    assert by_prices["significant"] and by_prices["name"] == "signal"
    assert [r["group"] for r in by_prices["stability"]["by_sector"]] == ["X", "Y"]
    assert ic_p.equals(ic_r)


def test_write_outputs_atomically(files, tmp_path):
    d, *_ = files
    report, ic = validate_signal_file(d / "signal.csv", d / "prices.parquet", 5, n_boot=20)
    paths = write_validation_outputs(report, ic, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]
    assert "Validation report: signal" in paths["html"].read_text()
    assert '"horizon_days": 5' in paths["json"].read_text()


def _write(tmp_path, frame, name):
    path = tmp_path / name
    (frame.write_csv if name.endswith(".csv") else frame.write_parquet)(path)
    return path


def test_bad_inputs_name_file_column_and_rows(files, tmp_path):
    _, signal, prices, _ = files
    cases = [
        (signal.drop("signal"), "s.csv", "signal", "required columns"),
        (signal.with_columns(pl.lit("x").alias("signal")), "s.parquet", "signal", "numeric"),
        (pl.concat([signal, signal.head(2)]), "s.parquet", "date, asset", "unique"),
        (signal.with_columns(pl.lit("not a date").alias("date")), "s.csv", "date", "date"),
        (signal.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(float("inf"))
                             .otherwise(pl.col("signal")).alias("signal")), "s.parquet", "signal",
         "finite"),
    ]
    for frame, name, column, expectation in cases:
        path = _write(tmp_path, frame, name)
        with pytest.raises(DataContractError) as info:
            read_signal_file(path)
        assert info.value.source == str(path) and info.value.column == column
        assert expectation in info.value.expectation
    bad_price = prices.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(-1.0)
                                    .otherwise(pl.col("close")).alias("close"))
    with pytest.raises(DataContractError, match="> 0") as info:
        read_returns_file(_write(tmp_path, bad_price, "p.parquet"))
    assert "S03" in info.value.examples  # the offending row is shown
    with pytest.raises(DataContractError, match="'close' \\(prices\\) or 'return'"):
        read_returns_file(_write(tmp_path, prices.rename({"close": "px"}), "p2.parquet"))
    with pytest.raises(DataContractError, match="exists"):
        read_signal_file(tmp_path / "nope.csv")
    with pytest.raises(DataContractError, match=".parquet or .csv"):
        read_signal_file(_write(tmp_path, signal, "s.csv").rename(tmp_path / "s.txt"))


def test_no_overlap_between_the_files_is_a_contract_error(files):
    _, signal, prices, _ = files
    other = signal.with_columns(pl.col("asset") + "_other")
    with pytest.raises(DataContractError, match="match between the two files"):
        align_signal(other, prices, "prices", source="sig.csv")
