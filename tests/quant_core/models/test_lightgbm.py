import numpy as np
import pytest

from quant_core.models import LightGBMRegressor

FEATURES = ["f1", "f2", "f3", "f4"]


def _split(frame):
    return frame[:5000], frame[5000:6400], frame[6400:]


def test_deterministic_and_learns(frame):
    train, _, test = _split(frame)
    kw = {"num_boost_round": 60, "seed": 3, "num_threads": 2}
    p1 = LightGBMRegressor(FEATURES, **kw).fit(train).predict(test)
    p2 = LightGBMRegressor(FEATURES, **kw).fit(train).predict(test)
    assert p1.dtype == np.float64 and p1.shape == (test.height,)
    np.testing.assert_array_equal(p1, p2)
    assert np.corrcoef(p1, test["target"])[0, 1] > 0.2


def test_seed_changes_bagging(frame):
    train, _, test = _split(frame)
    p1 = LightGBMRegressor(FEATURES, num_boost_round=20, seed=1).fit(train).predict(test)
    p2 = LightGBMRegressor(FEATURES, num_boost_round=20, seed=2).fit(train).predict(test)
    assert not np.array_equal(p1, p2)


def test_params_forced_deterministic():
    m = LightGBMRegressor(FEATURES, params={"seed": 99, "num_threads": 8, "num_leaves": 7}, seed=4)
    p = m._resolved_params()
    assert p["deterministic"] is True and p["force_col_wise"] is True
    assert p["seed"] == 4 and p["num_threads"] == 2 and p["num_leaves"] == 7


def test_early_stopping_uses_valid(frame_factory):
    noisy = frame_factory(n_dates=100, n_assets=40, seed=5, noise=1.0)
    train, valid, test = noisy[:2400], noisy[2400:3200], noisy[3200:]
    m = LightGBMRegressor(
        FEATURES,
        params={"learning_rate": 0.3, "min_data_in_leaf": 5, "num_leaves": 63},
        num_boost_round=300,
        early_stopping_rounds=10,
    ).fit(train, valid)
    curve = np.asarray(m.evals_result_["valid"]["l2"])
    assert m.best_iteration_ < 300
    assert m.best_iteration_ == int(np.argmin(curve)) + 1
    assert len(curve) == m.best_iteration_ + 10  # stopped 10 rounds after the optimum
    np.testing.assert_array_equal(
        m.predict(test),
        m.booster_.predict(
            test.select(FEATURES).to_numpy().astype(np.float32), num_iteration=m.best_iteration_
        ),
    )
    # without valid: no early stopping, all rounds kept
    m2 = LightGBMRegressor(FEATURES, num_boost_round=25).fit(train)
    assert m2.best_iteration_ == 25 and "valid" not in m2.evals_result_
    assert set(m2.feature_importance_) == set(FEATURES)


def test_errors(frame):
    with pytest.raises(ValueError, match="num_boost_round must be >= 1, got 0"):
        LightGBMRegressor(FEATURES, num_boost_round=0).fit(frame)
    with pytest.raises(ValueError, match="missing columns"):
        LightGBMRegressor(["nope"]).fit(frame)
    with pytest.raises(RuntimeError, match="not fitted"):
        LightGBMRegressor(FEATURES).predict(frame)
