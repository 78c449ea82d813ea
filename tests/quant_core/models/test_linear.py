import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import Ridge

from quant_core.models import RidgeRegressor

FEATURES = ["f1", "f2", "f3", "f4"]


@pytest.fixture(scope="module")
def split(frame):
    # inject some nulls so the NaN -> 0 rule is exercised
    rng = np.random.default_rng(1)
    mask = rng.random(frame.height) < 0.05
    f = frame.with_columns(pl.when(pl.Series(mask)).then(None).otherwise(pl.col("f2")).alias("f2"))
    return f[:6000], f[6000:]


@pytest.mark.parametrize("alpha", [0.0, 1.0, 250.0])
def test_ridge_matches_sklearn_on_standardised_data(split, alpha):
    train, test = split
    model = RidgeRegressor(FEATURES, alpha=alpha).fit(train)
    X = train.select(FEATURES).to_numpy().astype(np.float64)
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    np.testing.assert_allclose(model.mean_, mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.scale_, std, rtol=0, atol=1e-12)
    Z = np.nan_to_num((X - mean) / std, nan=0.0)
    ref = Ridge(alpha=alpha, fit_intercept=True, solver="cholesky").fit(Z, train["target"])
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=0, atol=1e-8)
    assert abs(model.intercept_ - ref.intercept_) < 1e-8
    Xt = test.select(FEATURES).to_numpy().astype(np.float64)
    Zt = np.nan_to_num((Xt - mean) / std, nan=0.0)
    pred = model.predict(test)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred, ref.predict(Zt), rtol=0, atol=1e-8)


def test_ridge_standardises_with_train_only(split):
    train, test = split
    m = RidgeRegressor(FEATURES).fit(train)
    shifted = test.with_columns((pl.col("f1") + 100.0).alias("f1"))
    m2 = RidgeRegressor(FEATURES).fit(train)
    m2.predict(shifted)
    np.testing.assert_array_equal(m.mean_, m2.mean_)
    # a constant feature gets scale 1 and coefficient 0
    const = train.with_columns(pl.lit(5.0).alias("c"))
    mc = RidgeRegressor([*FEATURES, "c"]).fit(const)
    assert mc.scale_[-1] == 1.0 and abs(mc.coef_[-1]) < 1e-12


def test_ridge_learns_and_validates(split):
    train, test = split
    pred = RidgeRegressor(FEATURES).fit(train).predict(test)
    assert np.corrcoef(pred, test["target"])[0, 1] > 0.3
    with pytest.raises(ValueError, match="alpha must be >= 0, got -1"):
        RidgeRegressor(FEATURES, alpha=-1).fit(train)
    with pytest.raises(RuntimeError, match="not fitted"):
        RidgeRegressor(FEATURES).predict(test)
