from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_core.targets.forward_returns import forward_returns, trading_calendar

# Tue 2 Jan .. Tue 9 Jan 2024: the weekend gap is not a trading date (calendar = panel's dates).
DATES = [
    date(2024, 1, 2),
    date(2024, 1, 3),
    date(2024, 1, 4),
    date(2024, 1, 5),
    date(2024, 1, 8),
    date(2024, 1, 9),
]
CLOSE_A = [100.0, 102.0, 101.0, 105.0, 110.0, 99.0]
CLOSE_B = [50.0, 50.0, 55.0, 44.0, 44.0, 66.0]


def _panel() -> pl.DataFrame:
    return pl.DataFrame(
        {"date": DATES * 2, "asset": ["A"] * 6 + ["B"] * 6, "close": CLOSE_A + CLOSE_B}
    ).sort("date", "asset")


def _expected(rows) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "date": pl.Date,
            "asset": pl.String,
            "target": pl.Float64,
            "label_start": pl.Date,
            "label_end": pl.Date,
        },
        orient="row",
    )


def test_default_lag1_h1_exact_values_and_dropped_tail():
    d = DATES
    expected = _expected(
        [
            (d[0], "A", 101 / 102 - 1, d[1], d[2]),
            (d[0], "B", 55 / 50 - 1, d[1], d[2]),
            (d[1], "A", 105 / 101 - 1, d[2], d[3]),
            (d[1], "B", 44 / 55 - 1, d[2], d[3]),
            (d[2], "A", 110 / 105 - 1, d[3], d[4]),
            (d[2], "B", 44 / 44 - 1, d[3], d[4]),
            (d[3], "A", 99 / 110 - 1, d[4], d[5]),
            (d[3], "B", 66 / 44 - 1, d[4], d[5]),
        ]
    )
    out = forward_returns(_panel())
    assert out.columns == ["date", "asset", "target", "label_start", "label_end"]
    assert out.equals(expected)


def test_horizon2_spans_the_weekend_in_trading_dates():
    d = DATES
    expected = _expected(
        [
            (d[0], "A", 105 / 102 - 1, d[1], d[3]),
            (d[0], "B", 44 / 50 - 1, d[1], d[3]),
            (d[1], "A", 110 / 101 - 1, d[2], d[4]),
            (d[1], "B", 44 / 55 - 1, d[2], d[4]),
            (d[2], "A", 99 / 105 - 1, d[3], d[5]),
            (d[2], "B", 66 / 44 - 1, d[3], d[5]),
        ]
    )
    assert forward_returns(_panel(), horizon_days=2).equals(expected)


def test_lag0_enters_at_the_feature_close():
    out = forward_returns(_panel(), horizon_days=1, lag_days=0).filter(pl.col("asset") == "A")
    assert out["label_start"].to_list() == DATES[:5]
    assert out["label_end"].to_list() == DATES[1:6]
    np.testing.assert_allclose(out["target"].to_numpy(), np.array(CLOSE_A[1:]) / CLOSE_A[:-1] - 1)


def test_multi_horizon_columns_and_rows():
    d = DATES
    out = forward_returns(_panel(), horizon_days=[1, 2])
    assert out.columns == [
        "date",
        "asset",
        "label_start",
        "label_end",
        "target_1d",
        "label_end_1d",
        "target_2d",
        "label_end_2d",
    ]
    # Rows kept only where both horizons exist: dates d0..d2 (the 2d window ends at d5).
    assert out["date"].to_list() == [d[0], d[0], d[1], d[1], d[2], d[2]]
    assert out["label_end"].to_list() == out["label_end_2d"].to_list()
    single1 = forward_returns(_panel(), 1).head(6)
    single2 = forward_returns(_panel(), 2)
    assert out["target_1d"].to_list() == single1["target"].to_list()
    assert out["target_2d"].to_list() == single2["target"].to_list()
    assert out["label_end_1d"].to_list() == single1["label_end"].to_list()


def test_missing_prices_drop_rows_never_fill():
    d = DATES
    # B has no row on d2 and a null close on d4.
    panel = _panel().filter(~((pl.col("asset") == "B") & (pl.col("date") == d[2])))
    panel = panel.with_columns(
        pl.when((pl.col("asset") == "B") & (pl.col("date") == d[4]))
        .then(None)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    out = forward_returns(panel).filter(pl.col("asset") == "B")
    # d0: end d2 missing; d1: start d2 missing; d3: start d4 null -> every B row is dropped
    assert out.height == 0
    out2 = forward_returns(panel, horizon_days=1, lag_days=0).filter(pl.col("asset") == "B")
    # d0->d1 ok; d1->d2 missing; d3->d4 null; d4 start null -> only d0 remains
    assert out2.select("date", "target").rows() == [(d[0], 0.0)]
    # Calendar still counts A's dates: trading_calendar is the panel's unique dates.
    assert trading_calendar(panel).to_list() == DATES


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"horizon_days": 0}, "got 0"),
        ({"lag_days": -1}, "got -1"),
        ({"horizon_days": [1, 1]}, "[1, 1]"),
        ({"horizon_days": []}, "[]"),
        ({"horizon_days": 1.5}, "1.5"),
        ({"price_col": "px"}, "'px'"),
    ],
)
def test_validation_names_the_bad_value(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        forward_returns(_panel(), **kwargs)


@st.composite
def _panels(draw):
    n_dates = draw(st.integers(1, 10))
    n_assets = draw(st.integers(1, 3))
    keep = draw(st.lists(st.booleans(), min_size=n_dates * n_assets, max_size=n_dates * n_assets))
    prices = draw(
        st.lists(st.floats(1.0, 100.0), min_size=n_dates * n_assets, max_size=n_dates * n_assets)
    )
    rows = [
        (date(2021, 1, 1 + i), f"S{j}", prices[i * n_assets + j])
        for i in range(n_dates)
        for j in range(n_assets)
        if keep[i * n_assets + j] or j == 0
    ]
    return pl.DataFrame(
        rows, schema={"date": pl.Date, "asset": pl.String, "close": pl.Float64}, orient="row"
    ).sort("date", "asset")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panel=_panels(), horizon=st.integers(1, 4), lag=st.integers(0, 3))
def test_property_windows_and_counts_match_brute_force(panel, horizon, lag):
    out = forward_returns(panel, horizon_days=horizon, lag_days=lag)
    cal = sorted(set(panel["date"].to_list()))
    px = {(r["date"], r["asset"]): r["close"] for r in panel.iter_rows(named=True)}
    expected = {}
    for d, a in px:
        i = cal.index(d)
        if i + lag + horizon < len(cal):
            s, e = cal[i + lag], cal[i + lag + horizon]
            if (s, a) in px and (e, a) in px:
                expected[(d, a)] = (px[(e, a)] / px[(s, a)] - 1, s, e)
    assert out.height == len(expected)
    assert (out["label_end"] > out["label_start"]).all()
    assert (out["label_start"] >= out["date"]).all()
    if lag > 0:
        assert (out["label_start"] > out["date"]).all()
    for r in out.iter_rows(named=True):
        t, s, e = expected[(r["date"], r["asset"])]
        assert (r["label_start"], r["label_end"]) == (s, e)
        assert r["target"] == pytest.approx(t, rel=1e-12)
    assert out.select(pl.struct("date", "asset").is_unique().all()).item() if out.height else True
    assert out.equals(out.sort("date", "asset"))
