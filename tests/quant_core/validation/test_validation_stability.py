import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.validation import (
    ic_by_group,
    ic_by_period,
    ic_by_regime,
    ic_series,
    ic_summary,
    positive_share,
    rolling_ic,
)


def _ic_frame(values, start=dt.date(2021, 11, 29)):
    """IC frame on consecutive calendar days (crosses a year end)."""
    dates = [start + dt.timedelta(days=i) for i in range(len(values))]
    return pl.DataFrame({"date": dates, "ic": np.asarray(values, dtype=float)})


def test_rolling_ic_matches_numpy_windows():
    rng = np.random.default_rng(0)
    x = 0.02 + 0.05 * rng.standard_normal(40)
    out = rolling_ic(_ic_frame(x), window_days=10, min_periods=5)
    assert out.columns == ["date", "ic", "rolling_mean", "rolling_std", "rolling_icir",
                           "rolling_hit_rate"]
    assert out["rolling_mean"][:4].null_count() == 4
    for i in range(4, 40):
        w = x[max(0, i - 9) : i + 1]
        row = out.row(i, named=True)
        assert row["rolling_mean"] == pytest.approx(w.mean(), rel=1e-12)
        assert row["rolling_std"] == pytest.approx(w.std(ddof=1), rel=1e-10)
        assert row["rolling_icir"] == pytest.approx(w.mean() / w.std(ddof=1), rel=1e-10)
        assert row["rolling_hit_rate"] == pytest.approx(np.mean(w > 0), rel=1e-12)
    with pytest.raises(ValueError, match="1"):
        rolling_ic(_ic_frame(x), window_days=1)


def test_ic_by_period_rows_equal_summaries_of_each_slice():
    rng = np.random.default_rng(1)
    x = 0.03 + 0.05 * rng.standard_normal(100)  # 2021-11-29 .. 2022-03-08
    frame = _ic_frame(x)
    years = ic_by_period(frame, "year", horizon_days=5)
    assert years["period"].to_list() == ["2021", "2022"]
    assert years["n_dates"].to_list() == [33, 67]
    for row, part in zip(years.iter_rows(named=True), (x[:33], x[33:]), strict=True):
        ref = ic_summary(part, horizon_days=5, n_boot=0)
        assert row["mean"] == pytest.approx(ref.mean, rel=1e-12)
        assert row["t_hac"] == pytest.approx(ref.t_hac, rel=1e-12)
        assert row["p_hac"] == pytest.approx(ref.p_hac, rel=1e-12)
        assert row["hit_rate"] == pytest.approx(ref.hit_rate)
    assert years["start"][1] == dt.date(2022, 1, 1) and years["end"][0] == dt.date(2021, 12, 31)
    months = ic_by_period(frame, "month")
    assert months["period"].to_list() == ["2021-11", "2021-12", "2022-01", "2022-02", "2022-03"]
    assert months["n_dates"].to_list() == [2, 31, 31, 28, 8]
    assert ic_by_period(frame, "quarter")["period"].to_list() == ["2021-Q4", "2022-Q1"]
    with pytest.raises(ValueError, match="week"):
        ic_by_period(frame, "week")


def test_ic_by_regime_splits_dates_and_drops_unlabelled():
    x = np.r_[np.full(30, 0.05), np.full(30, -0.01)] + np.tile([0.01, -0.01], 30)
    frame = _ic_frame(x)
    labels = ["calm"] * 30 + ["stressed"] * 28 + [None, None]
    regimes = pl.DataFrame({"date": frame["date"], "regime": labels})
    out = ic_by_regime(frame, regimes, horizon_days=1)
    assert out["regime"].to_list() == ["calm", "stressed"]
    assert out["n_dates"].to_list() == [30, 28]
    assert out["share"].to_list() == pytest.approx([30 / 58, 28 / 58])
    assert out["mean"][0] == pytest.approx(0.05) and out["mean"][1] == pytest.approx(-0.01)
    ref = ic_summary(x[30:58], n_boot=0)
    assert out["t_hac"][1] == pytest.approx(ref.t_hac, rel=1e-12)
    with pytest.raises(ValueError, match="duplicated"):
        ic_by_regime(frame, pl.concat([regimes, regimes]))


def test_ic_by_group_is_the_within_sector_ic():
    rng = np.random.default_rng(2)
    n_days, n_assets = 60, 40
    sector = np.tile(["A", "B"], n_assets // 2)
    s = rng.standard_normal((n_days, n_assets))
    y = rng.standard_normal((n_days, n_assets)) + np.where(sector == "A", 0.5, 0.0) * s
    frame = pl.DataFrame(
        {
            "date": np.repeat(np.datetime64("2022-01-03") + np.arange(n_days), n_assets),
            "asset": np.tile([f"X{i}" for i in range(n_assets)], n_days),
            "sig": s.ravel(),
            "target": y.ravel(),
            "sector": np.tile(sector, n_days),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    out = ic_by_group(frame, "sig", group="sector", horizon_days=1)
    assert out["group"].to_list() == ["A", "B"]
    for row in out.iter_rows(named=True):
        ic = ic_series(frame.filter(pl.col("sector") == row["group"]), "sig")
        assert row["mean"] == pytest.approx(ic["ic"].mean(), rel=1e-12)
        assert row["n_dates"] == 60 and row["mean_assets"] == 20.0
    a, b = out.row(0, named=True), out.row(1, named=True)
    assert a["mean"] > 0.3 and a["p_hac"] < 1e-6  # the signal works only within sector A
    assert abs(b["mean"]) < 0.1 and b["p_hac"] > 0.01


def test_positive_share_by_hand():
    # Nov 29-30 (2 days), December (31), January (2): 35 days over 3 months and 2 years.
    x = np.r_[[0.2, 0.2], np.full(31, -0.01), [0.02, -0.03]]  # 2021 mean > 0, 2022 < 0
    share = positive_share(_ic_frame(x))
    assert share == {"days": pytest.approx(3 / 35), "n_days": 35,
                     "months": pytest.approx(1 / 3), "n_months": 3,
                     "years": pytest.approx(1 / 2), "n_years": 2}
