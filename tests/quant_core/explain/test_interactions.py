import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.explain import top_interactions, tree_interactions, tree_shap
from quant_core.models import LightGBMRegressor

FEATURES = ["x1", "x2", "x3", "x4"]


@pytest.fixture(scope="module")
def model_and_rows():
    """y = x1 * x2 + 0.5 x3 + noise: one planted pair, one main effect, one dud."""
    rng = np.random.default_rng(0)
    n = 4000
    X = rng.standard_normal((n, 4))
    y = X[:, 0] * X[:, 1] + 0.5 * X[:, 2] + 0.2 * rng.standard_normal(n)
    frame = pl.DataFrame(
        {
            "date": [dt.date(2022, 1, 3)] * n,
            "asset": [f"A{i}" for i in range(n)],
            **{f: X[:, j] for j, f in enumerate(FEATURES)},
            "target": y,
        }
    )
    model = LightGBMRegressor(
        FEATURES, num_boost_round=150, num_threads=1, params={"learning_rate": 0.2}
    )
    model.fit(frame[:3000])
    # predict() uses the first best_iteration_ trees; the booster holds more, which the
    # explainer must ignore (as after early stopping with a kept training booster)
    model.best_iteration_ = 100
    assert model.booster_.current_iteration() == 150
    return model, frame[3500:]


def test_interactions_sum_to_tree_shap_and_to_the_prediction(model_and_rows):
    model, rows = model_and_rows
    iv, expected = tree_interactions(model, rows, FEATURES, max_rows=None)
    assert iv.shape == (rows.height, 4, 4)
    np.testing.assert_allclose(iv, iv.transpose(0, 2, 1), atol=1e-10)
    sv = tree_shap(model, rows)
    np.testing.assert_allclose(iv.sum(axis=2), sv[:, :4], atol=1e-8)
    np.testing.assert_allclose(iv.sum(axis=(1, 2)) + expected, model.predict(rows), atol=1e-8)
    np.testing.assert_allclose(expected, sv[0, -1], atol=1e-8)


def test_planted_pair_ranks_first(model_and_rows):
    model, rows = model_and_rows
    iv, _ = tree_interactions(model, rows, max_rows=300, seed=1)
    assert iv.shape[0] == 300
    top = top_interactions(iv, FEATURES, top_k=3)
    assert top.columns == ["feature_a", "feature_b", "mean_abs_interaction", "share", "rank"]
    assert (top["feature_a"][0], top["feature_b"][0]) == ("x1", "x2")
    assert top["rank"].to_list() == [1, 2, 3]
    # the planted pair dwarfs every other pair
    assert top["mean_abs_interaction"][0] > 5 * top["mean_abs_interaction"][1]


def test_top_interactions_exact_values():
    iv = np.zeros((2, 3, 3))
    iv[0] = [[1.0, 0.5, 0.0], [0.5, -2.0, -0.1], [0.0, -0.1, 0.0]]
    iv[1] = [[-1.0, -0.5, 0.2], [-0.5, 0.0, 0.0], [0.2, 0.0, 1.0]]
    t = top_interactions(iv, ["a", "b", "c"], top_k=None)
    # pair values: |phi_ij + phi_ji| averaged over rows
    expected = {("a", "b"): 1.0, ("a", "c"): 0.2, ("b", "c"): 0.1}
    got = {
        (r["feature_a"], r["feature_b"]): r["mean_abs_interaction"] for r in t.iter_rows(named=True)
    }
    assert got == pytest.approx(expected)
    # total mass = main effects (1 + 1, 2 + 0, 0 + 1) / 2 = 2.5 plus pairs 1.3
    assert t["share"][0] == pytest.approx(1.0 / 3.8)
    assert t["feature_a"].to_list() == ["a", "a", "b"]
    with pytest.raises(ValueError, match="shape"):
        top_interactions(iv, ["a", "b"])
    with pytest.raises(ValueError, match="top_k"):
        top_interactions(iv, ["a", "b", "c"], top_k=0)


def test_errors(model_and_rows):
    model, rows = model_and_rows
    with pytest.raises(ValueError, match="do not match"):
        tree_interactions(model, rows, ["x2", "x1", "x3", "x4"])
    with pytest.raises(ValueError, match="missing feature columns"):
        tree_interactions(model, rows.drop("x3"))
    with pytest.raises(ValueError, match="max_rows"):
        tree_interactions(model, rows, max_rows=0)
