"""The graph attention family: learns, reproduces, stays point-in-time, uses exactly its graph."""

import pickle

import numpy as np
import polars as pl
import pytest
import torch

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.features.asset_graph import asset_graph
from quant_core.models import (
    GraphAttentionRegressor,
    SignalModel,
    build_model,
    config_fields,
    train_foldwise,
)
from quant_core.models.torch.gat import GATNet, GraphAttention
from quant_core.validation import fold_ic_table


@pytest.fixture(scope="module")
def prices() -> pl.DataFrame:
    """The panel behind the conftest's ``market_frame`` (same config): close and sector."""
    panel = simulate_market(SyntheticMarketConfig(n_assets=40, n_days=240, seed=3)).panel
    return panel.select("date", "asset", "close", "sector")


def gnn(features, fast, prices, **overrides):
    graph = {"corr_window_days": 20, "corr_min_days": 10, "top_k": 3}
    knobs = {**graph, **overrides}
    trainer = {
        k: knobs.pop(k) for k in list(knobs) if k in fast or k in ("seed", "dates_per_batch")
    }
    return GraphAttentionRegressor(features, prices=prices, trainer={**fast, **trainer}, **knobs)


def test_gnn_learns_out_of_sample(market_frame, splits, features, fast, prices):
    res = train_foldwise(
        market_frame, splits, lambda: gnn(features, fast, prices), inner_valid_days=20, purge_days=2
    )
    overall = fold_ic_table(res.oof).filter(pl.col("fold") == "overall").row(0, named=True)
    assert overall["n_dates"] == 106
    assert overall["rank_ic_mean"] > 0.03 and overall["p_hac"] < 0.05, overall
    for model in res.models:
        assert isinstance(model, SignalModel) and model.n_valid_rows_ == 20 * 40
        assert {"train_loss", "valid_loss", "valid_rank_ic"} <= set(model.history_[0])
        # 10 sectors of 4 assets: 3 sector peers plus up to 3 correlates per row
        assert 3 < model.mean_degree_ <= 6


def test_same_seed_same_predictions(market_frame, features, fast, by_dates, prices):
    train, valid, test = (by_dates(market_frame, *r) for r in ((0, 69), (72, 81), (82, 101)))
    fast = {**fast, "max_epochs": 2}
    preds = [gnn(features, fast, prices).fit(train, valid).predict(test) for _ in range(2)]
    np.testing.assert_array_equal(preds[0], preds[1])
    other = gnn(features, fast, prices, seed=1).fit(train, valid).predict(test)
    assert not np.array_equal(preds[0], other)


def test_predictions_at_t_ignore_prices_and_rows_after_t(
    market_frame, features, fast, by_dates, prices
):
    train, test = by_dates(market_frame, 0, 59), by_dates(market_frame, 60, 89)
    model = gnn(features, {**fast, "max_epochs": 1}, prices, dates_per_batch=1).fit(train)
    t = test["date"].unique().sort()[12]
    base = model.predict(test)
    keep = (test["date"] <= t).to_numpy()
    rng = np.random.default_rng(0)
    later = pl.col("date") > t
    model.prices = prices.with_columns(
        pl.when(later)
        .then(pl.col("close") * np.exp(rng.standard_normal(prices.height) * 0.3))
        .otherwise(pl.col("close")),
        pl.when(later).then(pl.lit("other")).otherwise(pl.col("sector")).alias("sector"),
    )
    changed = test.with_columns(
        pl.when(later).then(pl.col(f) * 3).otherwise(pl.col(f)) for f in features
    )
    pred = model.predict(changed)
    np.testing.assert_array_equal(pred[keep], base[keep])
    assert not np.allclose(pred[~keep], base[~keep])
    # prices up to t do matter: scrambling an asset's closes before t moves predictions at t
    model.prices = prices.with_columns(
        pl.when((pl.col("date") <= t) & pl.col("asset").is_in(["A0001", "A0002", "A0003"]))
        .then(pl.col("close") * np.exp(rng.standard_normal(prices.height) * 0.05))
        .otherwise(pl.col("close"))
    )
    at_t = (test["date"] == t).to_numpy()
    assert not np.allclose(model.predict(test)[at_t], base[at_t])


def test_a_score_listens_to_its_neighbours_only(market_frame, features, fast, by_dates, prices):
    train, test = by_dates(market_frame, 0, 59), by_dates(market_frame, 60, 60)
    model = gnn(features, {**fast, "max_epochs": 1}, prices, top_k=0).fit(train)  # sector graph
    sectors = dict(
        prices.filter(pl.col("date") == test["date"][0]).select("asset", "sector").iter_rows()
    )
    target = "A0001"
    peer = next(a for a in sorted(sectors) if a != target and sectors[a] == sectors[target])
    stranger = next(a for a in sorted(sectors) if sectors[a] != sectors[target])
    base = model.predict(test)
    row = test["asset"].to_list().index(target)

    def bump(asset):
        edited = test.with_columns(
            pl.when(pl.col("asset") == asset).then(pl.col(f) + 2.0).otherwise(pl.col(f))
            for f in features
        )
        return model.predict(edited)

    assert bump(stranger)[row] == base[row]  # not a neighbour: exactly no influence
    assert bump(peer)[row] != base[row]
    plain = gnn(features, {**fast, "max_epochs": 1}, prices, top_k=0, n_layers=0).fit(train)
    assert plain.predict(test)[row] == pytest.approx(
        plain.predict(test.filter(pl.col("asset") == target))[0], abs=1e-6
    )


def test_returns_feature_mode_matches_prices_and_keeps_its_past(
    market_frame, features, fast, by_dates, prices
):
    ret = prices.with_columns(
        (pl.col("close") / pl.col("close").shift(1) - 1)
        .over("asset", order_by="date")
        .alias("ret_1d")
    ).select("date", "asset", "ret_1d", "sector")
    frame = market_frame.join(ret, on=["date", "asset"], how="left")
    train, test = by_dates(frame, 0, 79), by_dates(frame, 80, 99)
    knobs = {**fast, "max_epochs": 2}
    with_prices = gnn(features, knobs, prices).fit(train)
    with_returns = gnn(features, knobs, None, returns_feature="ret_1d").fit(train)
    assert with_returns.graph_context_["date"].n_unique() == 19  # corr_window_days - 1
    alone = with_returns.predict(test)
    np.testing.assert_array_equal(alone, with_prices.predict(test))
    np.testing.assert_array_equal(
        alone, with_returns.predict(pl.concat([train, test]))[train.height :]
    )
    with_returns.graph_context_ = with_returns.graph_context_.clear()
    first = (test["date"] == test["date"].min()).to_numpy()
    assert not np.allclose(with_returns.predict(test)[first], alone[first])
    np.testing.assert_array_equal(with_returns.predict(test, history=train)[first], alone[first])


def test_registry_pickle_and_errors(market_frame, features, fast, by_dates, prices):
    fields = {f["name"]: f for f in config_fields("gnn")}
    assert all(f["description"] for f in fields.values())
    assert {"top_k", "corr_window_days", "sector_edges", "returns_feature", "n_heads"} <= set(
        fields
    )
    model = build_model("gnn", features, {"top_k": 7, "n_heads": 4, "max_epochs": 2})
    assert isinstance(model, GraphAttentionRegressor) and model.top_k == 7 and model.n_heads == 4
    with pytest.raises(ValueError, match="pass prices=.* or returns_feature="):
        model.fit(market_frame)
    with pytest.raises(
        ValueError, match=r"corr_min_days must be in \[2, corr_window_days=60\], got 61"
    ):
        build_model("gnn", features, {"corr_min_days": 61})
    train, test = by_dates(market_frame, 0, 39), by_dates(market_frame, 40, 44)
    fitted = gnn(features, {**fast, "max_epochs": 1}, prices).fit(train)
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict(test), fitted.predict(test))


def test_dense_attention_matches_an_edge_loop():
    torch.manual_seed(0)
    layer = GraphAttention(3, 4, n_heads=2)
    h = torch.randn(2, 5, 3)
    adj = torch.rand(2, 5, 5) < 0.4
    adj |= torch.eye(5, dtype=torch.bool)
    out, alpha = layer(h, adj, return_attention=True)
    z = layer.lin(h).view(2, 5, 2, 4)
    for d in range(2):
        for i in range(5):
            nbrs = torch.nonzero(adj[d, i]).ravel()
            e = torch.nn.functional.leaky_relu(
                (z[d, i] * layer.att_dst).sum(-1) + (z[d, nbrs] * layer.att_src).sum(-1), 0.2
            )  # (n_nbrs, heads)
            a = torch.softmax(e, dim=0)
            expected = (a[:, :, None] * z[d, nbrs]).sum(0).mean(0) + layer.bias
            torch.testing.assert_close(out[d, i], expected)
            assert alpha[d, i, ~adj[d, i]].abs().sum() == 0
    with pytest.raises(ValueError, match="n_features >= 1"):
        GATNet(0)


def test_asset_graph_of_the_market_is_what_the_model_uses(prices):
    edges = asset_graph(prices, window_days=20, min_periods=10, top_k=3)
    per_row = edges.group_by("date", "asset").len()["len"]
    assert per_row.min() == 3 and per_row.max() == 6
