"""Gradient SHAP of the torch panel families: sums to the score, ranks the planted signals first."""

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.explain import mean_abs_shap, panel_gradient_shap
from quant_core.models import build_model
from quant_core.targets import forward_returns

PLANTED = {"sig_fast", "sig_slow", "sig_calm", "sig_stress"}


@pytest.fixture(scope="module")
def split():
    market = simulate_market(SyntheticMarketConfig(n_assets=60, n_days=300, seed=3))
    frame = market.panel.join(forward_returns(market.panel), on=["date", "asset"]).sort(["date", "asset"])
    cut = frame["date"].unique().sort()[220]
    return frame.filter(pl.col("date") < cut), frame.filter(pl.col("date") >= cut), list(market.feature_names)


@pytest.mark.parametrize("family", ["mlp", "lstm"])
def test_attributions_sum_to_the_score_and_rank_the_planted_signals_first(split, family):
    train, test, features = split
    model = build_model(family, features, {"max_epochs": 4, "num_threads": 1, "progress": "off"}).fit(train)
    values, rows = panel_gradient_shap(model, test, max_rows=200, n_samples=200)
    assert values.shape == (rows.height, len(features) + 1)
    scores = test.with_columns(pl.Series("score", model.predict(test))).join(rows, on=["date", "asset"], how="semi")
    scores = rows.join(scores, on=["date", "asset"], how="left")["score"].to_numpy()
    # expected gradients: each row's attributions plus the baseline equal its score, up to Monte Carlo error
    error = np.abs(values.sum(axis=1) - scores)
    assert np.median(error) < 0.25 * np.std(scores), (np.median(error), np.std(scores))
    assert set(mean_abs_shap(values, features)["feature"].head(4)) == PLANTED


def test_graph_networks_are_refused(split):
    class Fake:
        family = "gnn"

    with pytest.raises(ValueError, match="gnn"):
        panel_gradient_shap(Fake(), split[1])
