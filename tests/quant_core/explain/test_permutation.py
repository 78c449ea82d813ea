import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.explain import (
    feature_groups,
    fold_permutation_importance,
    permutation_importance,
    permute_within_dates,
)
from quant_core.validation import ic_series


def toy(n_dates=60, n_assets=25, seed=0):
    rng = np.random.default_rng(seed)
    n = n_dates * n_assets
    x1, x2, x3 = rng.standard_normal((3, n))
    dates = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(n_dates)]
    return pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(n_assets)],
            "asset": [f"A{i:02d}" for i in range(n_assets)] * n_dates,
            "x1": x1,
            "x2": x2,
            "x3": x3,
            "target": 0.3 * x1 + 0.1 * x3 + rng.standard_normal(n),
        }
    )


def test_permute_within_dates_keeps_each_dates_values_and_moves_groups_jointly():
    frame = toy()
    out = permute_within_dates(frame, ["x1", "x2"], 3)
    assert out.columns == frame.columns
    # untouched columns are identical, permuted ones changed
    for c in ("date", "asset", "x3", "target"):
        assert out[c].equals(frame[c])
    assert not out["x1"].equals(frame["x1"])
    # same multiset of values on every date
    for col in ("x1", "x2"):
        a = frame.group_by("date").agg(pl.col(col).sort()).sort("date")
        b = out.group_by("date").agg(pl.col(col).sort()).sort("date")
        assert a.equals(b)
    # (x1, x2) pairs travel together: the set of pairs per date is unchanged
    pairs = set(zip(frame["x1"], frame["x2"], frame["date"], strict=True))
    assert set(zip(out["x1"], out["x2"], out["date"], strict=True)) == pairs
    # reproducible, and a different seed gives a different shuffle
    assert permute_within_dates(frame, ["x1"], 3)["x1"].equals(out["x1"])
    assert not permute_within_dates(frame, ["x1"], 4)["x1"].equals(out["x1"])


def test_shuffle_is_within_date_even_when_rows_are_unsorted():
    frame = toy(n_dates=5, n_assets=6).sample(fraction=1.0, shuffle=True, seed=1)
    out = permute_within_dates(frame, ["x1"], 0)
    a = frame.group_by("date").agg(pl.col("x1").sort()).sort("date")
    assert a.equals(out.group_by("date").agg(pl.col("x1").sort()).sort("date"))


def test_unused_feature_has_exactly_zero_importance_and_used_one_loses_its_ic():
    frame = toy()
    res = permutation_importance(
        lambda f: f["x1"].to_numpy(), frame, ["x1", "x2"], n_repeats=4, n_boot=200
    )
    t = {r["item"]: r for r in res.table.iter_rows(named=True)}
    base = ic_series(frame, "x1")["ic"].mean()
    assert t["x1"]["baseline_rank_ic"] == pytest.approx(base, abs=1e-12)
    # x2 is not read by the model: every repeat scores exactly the baseline
    assert t["x2"]["importance"] == 0.0 and t["x2"]["importance_std"] == 0.0
    assert t["x2"]["t_ci_low"] == 0.0 == t["x2"]["t_ci_high"]
    # shuffling x1 leaves a signal with no information: the drop is ~ the whole baseline
    assert abs(t["x1"]["permuted_rank_ic"]) < 0.03
    assert t["x1"]["importance"] == pytest.approx(base - t["x1"]["permuted_rank_ic"], abs=1e-12)
    assert res.table["rank"].to_list() == [1, 2] and res.table["item"][0] == "x1"
    assert res.repeats.height == 8 and res.baseline.columns == ["date", "ic"]


def test_t_interval_matches_scipy_and_bootstrap_interval_brackets_the_mean():
    frame = toy()
    res = permutation_importance(
        lambda f: (f["x1"] + f["x3"]).to_numpy(), frame, ["x1", "x3"], n_repeats=6, seed=5
    )
    for row in res.table.iter_rows(named=True):
        drops = res.repeats.filter(pl.col("item") == row["item"])["drop"].to_numpy()
        lo, hi = stats.t.interval(0.95, len(drops) - 1, loc=drops.mean(), scale=stats.sem(drops))
        assert row["t_ci_low"] == pytest.approx(lo, abs=1e-12)
        assert row["t_ci_high"] == pytest.approx(hi, abs=1e-12)
        assert row["importance"] == pytest.approx(drops.mean(), abs=1e-12)
        assert row["boot_ci_low"] < row["importance"] < row["boot_ci_high"]
        assert row["n_dates"] == 60 and row["n_repeats"] == 6
    # the 0.8 intervals are nested inside the 0.95 ones
    narrow = permutation_importance(
        lambda f: (f["x1"] + f["x3"]).to_numpy(),
        frame,
        ["x1", "x3"],
        n_repeats=6,
        seed=5,
        ci_level=0.8,
    )
    a, b = res.table.sort("item"), narrow.table.sort("item")
    assert (b["t_ci_low"] > a["t_ci_low"]).all() and (b["boot_ci_high"] < a["boot_ci_high"]).all()


def test_groups_are_permuted_jointly():
    frame = toy()
    res = permutation_importance(
        lambda f: (f["x1"] + f["x3"]).to_numpy(),
        frame,
        groups={"both": ["x1", "x3"], "none": ["x2"]},
        n_repeats=3,
        n_boot=0,
    )
    t = {r["item"]: r for r in res.table.iter_rows(named=True)}
    assert t["both"]["kind"] == "group" and t["both"]["columns"] == "x1,x3"
    assert t["none"]["importance"] == 0.0
    assert np.isnan(t["both"]["boot_ci_low"])  # n_boot=0 skips the bootstrap


def test_lightgbm_on_synthetic_market_ranks_planted_signals_above_noise(fitted):
    res = fold_permutation_importance(
        fitted.result.models, fitted.frame, fitted.splits, n_repeats=4, seed=0, n_boot=500
    )
    table = res.table
    signals, noise = set(fitted.market.signal_names), set(fitted.market.noise_names)
    assert set(table["item"].head(len(signals))) == signals
    sig = table.filter(pl.col("item").is_in(list(signals)))
    nse = table.filter(pl.col("item").is_in(list(noise)))
    # every planted signal's drop is significantly positive under both intervals ...
    assert (sig["t_ci_low"] > 0).all() and (sig["boot_ci_low"] > 0).all()
    # ... and larger than the largest noise drop by a clear margin (seed 11: 0.017 vs 0.001)
    assert sig["importance"].min() > nse["importance"].max() + 0.01
    # the noise features' date-block bootstrap intervals all contain zero
    assert (nse["boot_ci_low"] < 0).all() and (nse["boot_ci_high"] > 0).all()
    # grouped: the signal family matters, the noise family does not
    groups = feature_groups(fitted.features)
    assert set(groups) == {"signal", "noise"}
    g = fold_permutation_importance(
        fitted.result.models, fitted.frame, fitted.splits, groups=groups, n_repeats=2, n_boot=0
    ).table
    imp = dict(zip(g["item"], g["importance"], strict=True))
    assert imp["signal"] > 0.05 > abs(imp["noise"])


@pytest.mark.parametrize(
    "kwargs, err, msg",
    [
        ({"n_repeats": 1}, ValueError, "n_repeats must be >= 2"),
        ({"ci_level": 1.0}, ValueError, "ci_level must be in"),
        ({"features": []}, ValueError, "features must name"),
        ({"target": "nope"}, ValueError, r"missing columns \['nope'\]"),
    ],
)
def test_errors(kwargs, err, msg):
    args = {"features": ["x1"], **kwargs}
    with pytest.raises(err, match=msg):
        permutation_importance(lambda f: f["x1"].to_numpy(), toy(n_dates=5), **args)
    with pytest.raises(ValueError, match="predict"):
        permutation_importance(object(), toy(n_dates=5), ["x1"])
