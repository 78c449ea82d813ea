import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.ensemble import (
    DEFAULT_REGIME,
    ROUTING_SCHEMA,
    apply_routing,
    fit_blend,
    fit_regime_blend,
    ic_by_regime,
    routing_table,
)
from quant_core.validation import ic_series

MEMBERS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def oof(regime_oof_factory):
    return regime_oof_factory()


def test_routing_table_schema_and_validation():
    t = routing_table({DEFAULT_REGIME: {"a": 0.5, "b": 0.5}, "x": {"a": 1.0, "b": 0.0}})
    assert dict(t.schema) == ROUTING_SCHEMA
    assert t.filter(pl.col("regime") == "x")["used"].to_list() == [True, False]
    with pytest.raises(ValueError, match="fallback"):
        routing_table({"x": {"a": 1.0}})
    with pytest.raises(ValueError, match="sum to 1"):
        routing_table({DEFAULT_REGIME: {"a": 0.7, "b": 0.7}})
    with pytest.raises(ValueError, match="names members"):
        routing_table({DEFAULT_REGIME: {"a": 1.0}, "x": {"b": 1.0}})


def test_apply_routing_exact_with_fallback_rows():
    d = [dt.date(2022, 1, 3), dt.date(2022, 1, 4), dt.date(2022, 1, 5)]
    frame = pl.DataFrame(
        {
            "date": [d[0]] * 3 + [d[1]] * 3 + [d[2]] * 3,
            "asset": ["X", "Y", "Z"] * 3,
            "a": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 0.0, 1.0, 5.0],
            "b": [3.0, 1.0, 2.0, 1.0, 1.0, 4.0, 2.0, 2.0, 8.0],
        }
    )
    routing = routing_table({DEFAULT_REGIME: {"a": 0.5, "b": 0.5}, "calm": {"a": 1.0, "b": 0.0}})
    # d0 calm (own row), d1 "stressed" (no row -> fallback), d2 not in the regime frame
    regimes = pl.DataFrame({"date": d[:2], "regime": ["calm", "stressed"]})
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    out = apply_routing(shuffled, routing, regimes)
    assert out.drop("ensemble").equals(shuffled)  # row order kept

    def z(x):
        x = np.asarray(x)
        return (x - x.mean()) / x.std()

    got = out.sort(["date", "asset"])["ensemble"].to_numpy()
    expected = np.concatenate(
        [
            z([1, 2, 3]),
            0.5 * z([3, 2, 1]) + 0.5 * z([1, 1, 4]),
            0.5 * z([0, 1, 5]) + 0.5 * z([2, 2, 8]),
        ]
    )
    np.testing.assert_allclose(got, expected, atol=1e-12)
    with pytest.raises(ValueError, match="one row per date"):
        apply_routing(frame, routing, pl.concat([regimes, regimes]))
    with pytest.raises(ValueError, match="missing columns"):
        apply_routing(frame, routing.drop("transform"), regimes)


def test_per_regime_weights_pick_the_member_that_works(oof):
    frame, regimes = oof
    res = fit_regime_blend(frame, MEMBERS, regimes, method="ic_weighted")
    w = {(r["regime"], r["member"]): r["weight"] for r in res.routing.iter_rows(named=True)}
    assert w[("up", "a")] > 0.8 and w[("down", "b")] > 0.8
    assert set(res.routing["regime"]) == {DEFAULT_REGIME, "up", "down"}
    assert res.routing.filter(pl.col("regime") == "up")["n_fit_dates"][0] == 42
    ev = res.eval_frame
    assert ev.columns == ["date", "asset", "target", "regime", "ensemble", "static", *MEMBERS]
    assert ev["date"].min() > res.fit_dates[1]
    ic = {c: ic_series(ev, c)["ic"].mean() for c in ["ensemble", "static", *MEMBERS]}
    assert ic["ensemble"] > ic["static"] + 0.05 and ic["ensemble"] > max(ic[m] for m in MEMBERS)
    # the static column is exactly fit_blend's held-out ensemble (same cut, same weights)
    blend = fit_blend(frame, MEMBERS, method="ic_weighted")
    assert res.static_weights == blend.weights and res.fit_dates == blend.fit_dates
    np.testing.assert_allclose(ev["static"], blend.eval_frame["ensemble"], atol=1e-12)
    # apply() on the eval rows reproduces the eval ensemble
    again = res.apply(frame.filter(pl.col("date") > res.fit_dates[1]), regimes)
    np.testing.assert_allclose(again.sort(["date", "asset"])["ensemble"], ev["ensemble"])


@pytest.mark.parametrize("method", ["ic_weighted", "nnls", "rank_average", "equal"])
def test_routing_never_reads_eval_date_predictions_targets_or_regimes(oof, method):
    frame, regimes = oof
    res = fit_regime_blend(frame, MEMBERS, regimes, method=method)
    cut = res.fit_dates[1]
    rng = np.random.default_rng(1)
    corrupt = frame.with_columns(
        [
            pl.when(pl.col("date") > cut)
            .then(pl.Series(rng.standard_normal(frame.height) * 1e3))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ["target", *MEMBERS]
        ]
    )
    flipped = regimes.with_columns(
        pl.when(pl.col("date") > cut).then(pl.lit("up")).otherwise(pl.col("regime")).alias("regime")
    )
    res2 = fit_regime_blend(corrupt, MEMBERS, flipped, method=method)
    assert res2.routing.equals(res.routing)
    assert res2.fit_dates == res.fit_dates and res2.eval_dates == res.eval_dates
    if method == "rank_average":
        assert res.routing["transform"].unique().to_list() == ["rank"]


def test_rare_regime_falls_back_to_static_weights(oof):
    frame, regimes = oof
    rare = regimes.with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(pl.lit("crash"))
        .otherwise(pl.col("regime"))
        .alias("regime")
    )
    res = fit_regime_blend(frame, MEMBERS, rare, min_regime_dates=6)
    assert "crash" not in set(res.routing["regime"])
    with pytest.raises(ValueError, match="min_regime_dates"):
        fit_regime_blend(frame, MEMBERS, rare, min_regime_dates=0)


def test_ic_by_regime_matches_ic_series(oof):
    frame, regimes = oof
    t = ic_by_regime(frame, ["a", "b"], regimes)
    up_dates = regimes.filter(pl.col("regime") == "up")["date"]
    ref = ic_series(frame.filter(pl.col("date").is_in(up_dates.implode())), "a")["ic"].mean()
    row = t.filter((pl.col("regime") == "up") & (pl.col("signal") == "a")).row(0, named=True)
    assert row["rank_ic_mean"] == pytest.approx(ref, rel=1e-10) and row["n_dates"] == 60
    overall = t.filter(pl.col("regime") == DEFAULT_REGIME)
    assert overall["n_dates"].to_list() == [120, 120]
