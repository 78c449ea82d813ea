import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.explain import mean_abs_shap, shap_summary_plot, tree_shap
from quant_core.models import LightGBMRegressor

FEATURES = ["f1", "f2", "f3"]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n = 3000
    X = rng.standard_normal((n, 3))
    X[rng.random(n) < 0.05, 2] = np.nan
    y = 0.5 * X[:, 0] + 0.1 * np.tanh(X[:, 1]) + 0.2 * rng.standard_normal(n)
    frame = pl.DataFrame(
        {
            "date": [dt.date(2021, 1, 1)] * n,
            "asset": [f"A{i}" for i in range(n)],
            **{f: X[:, j] for j, f in enumerate(FEATURES)},
            "target": y,
        }
    )
    m = LightGBMRegressor(FEATURES, num_boost_round=40, early_stopping_rounds=5)
    m.fit(frame[:2000], frame[2000:2500])
    return m, frame[2500:]


def test_rows_sum_to_prediction(fitted):
    model, test = fitted
    sv = tree_shap(model, test)
    assert sv.shape == (test.height, len(FEATURES) + 1)
    np.testing.assert_allclose(sv.sum(axis=1), model.predict(test), rtol=0, atol=1e-6)
    # raw booster and numpy input give the same values (booster uses its best iteration)
    X = test.select(FEATURES).to_numpy()
    sv_raw = tree_shap(model.booster_, X, num_iteration=model.best_iteration_)
    np.testing.assert_allclose(sv_raw, sv, atol=1e-12)
    # the last column is the expected value: constant across rows
    assert np.ptp(sv[:, -1]) < 1e-12


def test_mean_abs_shap_ranks_planted_feature_first(fitted):
    model, test = fitted
    sv = tree_shap(model, test)
    table = mean_abs_shap(sv, FEATURES)
    assert table.columns == ["feature", "mean_abs_shap"]
    assert table["feature"][0] == "f1"
    vals = table["mean_abs_shap"].to_numpy()
    assert np.all(np.diff(vals) <= 0)
    np.testing.assert_allclose(vals[0], np.abs(sv[:, 0]).mean(), rtol=1e-12)
    with pytest.raises(ValueError, match="columns"):
        mean_abs_shap(sv, ["a"])


def test_summary_plot_writes_png(fitted, tmp_path):
    model, test = fitted
    sv = tree_shap(model, test)
    out = shap_summary_plot(sv, test, FEATURES, tmp_path / "sub" / "shap.png", max_points=200)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_shape_errors(fitted):
    model, test = fitted
    with pytest.raises(ValueError, match="shape"):
        tree_shap(model, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="missing feature columns"):
        tree_shap(model, test.drop("f2"))
