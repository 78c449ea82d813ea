"""Registering your own feature as one polars expression, and building features lazily."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.features import (
    DEFAULT_REGISTRY,
    FeatureRegistry,
    build_features,
    default_feature_set,
    register_feature,
)


def _panel(n_dates=12, assets=("B", "A", "C"), seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"date": dt.date(2024, 1, 1) + dt.timedelta(days=d), "asset": a,
             "close": float(10 + i + rng.normal()), "volume": int(rng.integers(1, 9) * 100),
             "sector": "s1"}
            for d in range(n_dates) for i, a in enumerate(assets)]
    return pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=seed)


def test_a_user_feature_is_computed_per_asset_in_date_order():
    registry = FeatureRegistry()
    registry.register("mom3", pl.col("close") / pl.col("close").shift(3) - 1)
    registry.register("vol_share", pl.col("volume") / pl.col("volume").rolling_sum(4))
    panel = _panel()
    out = build_features(panel, registry=registry, dtype=pl.Float64)
    reference = panel.to_pandas().sort_values(["asset", "date"])
    by_asset = reference.groupby("asset")
    reference["mom3"] = by_asset["close"].pct_change(3)
    reference["vol_share"] = reference["volume"] / by_asset["volume"].transform(
        lambda s: s.rolling(4).sum())
    reference = reference.sort_values(["date", "asset"])
    assert out.select("date", "asset").to_pandas().equals(
        reference[["date", "asset"]].reset_index(drop=True))
    for name in ("mom3", "vol_share"):
        np.testing.assert_allclose(out[name].to_numpy(), reference[name].to_numpy(),
                                   rtol=1e-12, equal_nan=True)
    assert out.columns[:5] == panel.columns and out.schema["volume"] == pl.Int64  # inputs kept


def test_declaring_a_warm_up_gives_the_same_bits_as_per_asset_evaluation():
    registry = FeatureRegistry()
    expr = pl.col("close").rolling_max(3) / pl.col("close").shift(2)
    registry.register("slow", expr)
    registry.register("fast", expr, warmup_rows=2)
    out = build_features(_panel(), registry=registry)
    assert out["slow"].equals(out["fast"].alias("slow"))
    assert out.filter(pl.col("date") <= dt.date(2024, 1, 2))["fast"].null_count() == 6


def test_the_default_registry_takes_user_features_next_to_alpha158():
    spec = register_feature("test_gap_up", pl.col("close") / pl.col("close").shift(1) - 1,
                            description="one-day return")
    try:
        assert spec.inputs == ("close",) and spec.group == "custom"
        panel = _panel()
        assert "test_gap_up" not in default_feature_set(panel)  # the Alpha158 set only
        built = build_features(panel, ["MA5", "test_gap_up"])
        assert built.columns[-2:] == ["MA5", "test_gap_up"]
        assert built["test_gap_up"].null_count() == 3
    finally:
        DEFAULT_REGISTRY.unregister("test_gap_up")
    assert "test_gap_up" not in DEFAULT_REGISTRY


def test_a_lazy_panel_gives_a_lazy_result_that_equals_the_eager_one():
    panel = _panel()
    names = default_feature_set(panel)
    lazy = build_features(panel.lazy(), names)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect_schema()["ROC5"] == pl.Float32
    assert lazy.collect().equals(build_features(panel, names))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda r: r.register("close", pl.col("open")), ValueError, "reserved panel column"),
    (lambda r: r.register("x", "close"), TypeError, "must be a polars expression"),
    (lambda r: r.register("x", pl.lit(1.0)), ValueError, "reads no column"),
    (lambda r: r.register("x", pl.col("close"), warmup_rows=-1), ValueError,
     "warmup_rows must be >= 0 or None, got -1"),
    (lambda r: r.register("x", pl.col("__nope")), ValueError, "unknown helper column"),
    (lambda r: (r.register("x", pl.col("close")), r.register("x", pl.col("close"))),
     ValueError, "already registered"),
    (lambda r: r.get("missing"), KeyError, "unknown feature 'missing'"),
])
def test_registration_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call(FeatureRegistry())


def test_build_errors_name_the_feature_and_the_columns():
    panel = _panel().drop("volume")
    with pytest.raises(ValueError, match=r"feature 'VMA5' needs columns \['volume'\]"):
        build_features(panel, ["VMA5"])
    with pytest.raises(ValueError, match="already has columns named like features"):
        build_features(panel.with_columns(MA5=pl.lit(1.0)), ["MA5"])
    with pytest.raises(ValueError, match=r"missing key columns \['asset'\]"):
        build_features(panel.drop("asset"), ["MA5"])
