import numpy as np
import polars as pl
import pytest

from quant_core.ensemble import fit_stacking, stacking_design, zscore_by_date
from quant_core.validation import ic_series

MEMBERS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def data(regime_oof_factory):
    frame, regimes = regime_oof_factory(n_dates=160, n_assets=40, seed=2)
    # a numeric point-in-time regime feature: 1 on "up" dates (where member a works)
    feats = regimes.select("date", (pl.col("regime") == "up").cast(pl.Float64).alias("is_up"))
    return frame, feats


def test_design_columns_exact(data):
    frame, feats = data
    design, cols = stacking_design(frame, ["a", "b"], feats)
    assert cols == ["a", "b", "is_up", "a__x__is_up", "b__x__is_up"]
    z = zscore_by_date(frame, ["a", "b"])
    np.testing.assert_allclose(design["a"], z["a"], atol=1e-12)
    expected = z.join(feats, on="date")["is_up"] * z["a"]
    np.testing.assert_allclose(design["a__x__is_up"], expected, atol=1e-12)
    plain, cols2 = stacking_design(frame, ["a", "b"], feats, interactions=False)
    assert cols2 == ["a", "b", "is_up"] and plain.height == frame.height
    with pytest.raises(ValueError, match="numeric columns"):
        stacking_design(frame, ["a"], feats.with_columns(pl.col("is_up").cast(pl.String)))


@pytest.mark.parametrize("meta", ["ridge", "lightgbm"])
def test_stack_never_reads_eval_dates(data, meta):
    frame, feats = data
    res = fit_stacking(frame, MEMBERS, meta=meta, regime_features=feats)
    cut = res.fit_dates[1]
    rng = np.random.default_rng(0)
    corrupt = frame.with_columns(
        [
            pl.when(pl.col("date") > cut)
            .then(pl.Series(rng.standard_normal(frame.height) * 1e3))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ["target", *MEMBERS]
        ]
    )
    bad_feats = feats.with_columns(
        pl.when(pl.col("date") > cut).then(-99.0).otherwise(pl.col("is_up")).alias("is_up")
    )
    res2 = fit_stacking(corrupt, MEMBERS, meta=meta, regime_features=bad_feats)
    assert res2.coefficients == res.coefficients
    assert res.eval_frame["date"].min() > cut and res.eval_dates[0] > cut
    # apply() reproduces the held-out scores
    evl = frame.filter(pl.col("date") > cut).sort(["date", "asset"])
    np.testing.assert_allclose(
        res.apply(evl, feats)["ensemble"], res.eval_frame["ensemble"], atol=1e-12
    )


def test_regime_interactions_let_the_stack_switch_members(data):
    frame, feats = data
    plain = fit_stacking(frame, MEMBERS)
    switching = fit_stacking(frame, MEMBERS, regime_features=feats)
    co = switching.coefficients
    # a pays on "up" dates only, b on the others: a's weight rises with is_up, b's falls
    assert co["a__x__is_up"] > 0 > co["b__x__is_up"]
    ic_plain = ic_series(plain.eval_frame, "ensemble")["ic"].mean()
    ic_switch = ic_series(switching.eval_frame, "ensemble")["ic"].mean()
    assert ic_switch > ic_plain + 0.03
    tree = fit_stacking(frame, MEMBERS, meta="lightgbm", regime_features=feats)
    assert ic_series(tree.eval_frame, "ensemble")["ic"].mean() > ic_plain
    with pytest.raises(ValueError, match="pass them"):
        switching.apply(frame)
    with pytest.raises(ValueError, match="meta must be one of"):
        fit_stacking(frame, MEMBERS, meta="svm")
