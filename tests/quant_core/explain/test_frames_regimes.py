import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.explain import fold_shap, mean_abs_shap_by_fold, shap_by_regime, shap_to_frame


def test_fold_shap_explains_each_fold_model_on_its_own_test_rows(fitted):
    sf = fold_shap(
        fitted.result.models, fitted.frame, fitted.splits, fitted.features, max_rows_per_fold=500
    )
    assert sf.columns[:6] == ["date", "asset", "fold", "target", "base_value", "prediction"]
    assert sf.columns[6:] == fitted.features
    assert sf.group_by("fold").len().sort("fold")["len"].to_list() == [500, 500]
    for fold, (model, (_, test)) in enumerate(
        zip(fitted.result.models, fitted.splits, strict=True)
    ):
        part = sf.filter(pl.col("fold") == fold)
        test_rows = fitted.frame[test].select("date", "asset")
        assert part.select("date", "asset").join(test_rows, on=["date", "asset"]).height == 500
        rows = part.select("date", "asset").join(fitted.frame, on=["date", "asset"], how="left")
        # exact TreeSHAP: base + attributions = the fold model's own prediction
        np.testing.assert_allclose(part["prediction"], model.predict(rows), atol=1e-9)
    by_fold = mean_abs_shap_by_fold(sf, fitted.features)
    first = sf.filter(pl.col("fold") == 0)
    manual = {f: float(first[f].abs().mean()) for f in fitted.features}
    got = by_fold.filter(pl.col("fold") == 0)
    assert dict(zip(got["feature"], got["mean_abs_shap"], strict=True)) == pytest.approx(manual)
    assert got["rank"].to_list() == list(range(1, 9))
    # same seed, same sample
    again = fold_shap(
        fitted.result.models, fitted.frame, fitted.splits, fitted.features, max_rows_per_fold=500
    )
    assert again.equals(sf)


def test_shap_to_frame_checks_shapes():
    rows = pl.DataFrame({"date": [dt.date(2022, 1, 3)] * 2, "asset": ["A", "B"]})
    out = shap_to_frame(np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 0.5]]), rows, ["x", "y"])
    assert out["prediction"].to_list() == [3.5, -0.5]
    with pytest.raises(ValueError, match="shape"):
        shap_to_frame(np.zeros((2, 2)), rows, ["x", "y"])
    with pytest.raises(ValueError, match="clash"):
        shap_to_frame(np.zeros((2, 2)), rows, ["prediction"])


def test_shap_by_regime_exact():
    d = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(3)]
    sf = pl.DataFrame(
        {
            "date": [d[0], d[0], d[1], d[1], d[2], d[2]],
            "x": [1.0, -3.0, 2.0, 2.0, 5.0, 5.0],
            "y": [0.0, 1.0, -1.0, 1.0, 0.0, 0.0],
        }
    )
    regimes = pl.DataFrame({"date": d, "regime": ["calm", "stressed", None]})
    t = shap_by_regime(sf, regimes, ["x", "y"])
    assert t.columns == [
        "regime",
        "feature",
        "mean_abs_shap",
        "mean_shap",
        "share",
        "rank",
        "n_rows",
        "contribution_rank_ic",
    ]
    rows = {(r["regime"], r["feature"]): r for r in t.iter_rows(named=True)}
    assert set(rows) == {("calm", "x"), ("calm", "y"), ("stressed", "x"), ("stressed", "y")}
    assert rows[("calm", "x")]["mean_abs_shap"] == 2.0 and rows[("calm", "x")]["mean_shap"] == -1.0
    assert rows[("calm", "x")]["share"] == pytest.approx(2.0 / 2.5)
    assert rows[("stressed", "y")]["mean_abs_shap"] == 1.0
    assert rows[("stressed", "x")]["rank"] == 1 and rows[("calm", "y")]["n_rows"] == 2
    assert t["contribution_rank_ic"].null_count() == 4  # no target column


def test_shap_by_regime_on_synthetic_market_shows_where_each_signal_pays(fitted):
    sf = fold_shap(
        fitted.result.models, fitted.frame, fitted.splits, fitted.features, max_rows_per_fold=None
    )
    t = shap_by_regime(sf, fitted.market.regimes, fitted.features)
    ic = {(r["regime"], r["feature"]): r["contribution_rank_ic"] for r in t.iter_rows(named=True)}
    # the regime of a row's own date (the label's return day is two dates later; regimes persist)
    assert ic[("stressed", "sig_stress")] > ic[("calm", "sig_stress")] + 0.04
    assert ic[("calm", "sig_calm")] > ic[("stressed", "sig_calm")] + 0.02
    n = dict(zip(t["regime"], t["n_rows"], strict=False))
    assert n["calm"] + n["stressed"] == sf.height
