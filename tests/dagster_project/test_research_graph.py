"""The whole research graph, materialized in-process on a small synthetic market."""


import numpy as np
import polars as pl
import pytest
from mlflow import MlflowClient

from quant_registry.pyfunc import load_signal_model

EXPECTED_STEPS = {"feature_snapshots", "targets", "folds", "lightgbm_model", "deep_models",
                  "ridge_model", "validation_report", "shap_values", "deep_shap", "permutation_importance",
                  "ensemble_weights", "regime_routing", "ensemble_model", "portfolio_backtest", "pnl_attribution"}


def test_every_asset_materializes_and_every_check_passes(research_run):
    result = research_run["result"]
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
                    for e in [e.event_specific_data.materialization]}
    assert materialized == EXPECTED_STEPS
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"feature_snapshots_contract": True, "targets_leakage_audit": True,
                      "folds_leakage_audit": True}


def test_recovered_rank_ic_lies_between_a_fair_fraction_of_the_oracle_and_the_oracle(research_run):
    summary = research_run["summary"]
    oracle = summary["oracle"]["rank_ic_mean"]
    assert 0.08 < oracle < 0.16
    for name in ("lightgbm", "ridge", "mlp"):
        model = summary["models"][name]
        # far above the oracle would mean a leak; far below, a broken pipeline
        assert 0.4 * oracle < model["oos_rank_ic_mean"] < oracle + 0.02, (name, model, oracle)
        assert model["p_hac"] < 0.01
    ensemble = summary["ensemble"]
    assert abs(sum(ensemble["weights"].values()) - 1.0) < 1e-9
    assert 0.4 * oracle < ensemble["oos_rank_ic_mean"] < oracle + 0.03


def test_oof_predictions_cover_each_test_row_once_and_never_a_train_row(research_run):
    result = research_run["result"]
    folds = result.output_for_node("folds")
    targets = result.output_for_node("targets")
    trained = result.output_for_node("lightgbm_model")
    oof = trained.result.oof
    test_rows = np.concatenate([test for _, test in folds.splits])
    assert oof.height == len(test_rows) == len(np.unique(test_rows))
    expected = targets.frame[np.sort(test_rows)].select(["date", "asset"])
    assert oof.select(["date", "asset"]).sort(["date", "asset"]).equals(expected)


def test_mlflow_holds_one_parent_run_with_nested_asset_and_fold_runs(research_run):
    summary = research_run["summary"]
    client = MlflowClient(tracking_uri=summary["mlflow_tracking_uri"])
    parent = client.get_run(summary["mlflow_run_id"])
    assert parent.data.tags["dagster.run_id"] == summary["dagster_run_id"]
    experiment = parent.info.experiment_id
    children = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    by_asset = {r.data.tags["dagster.asset_key"]: r for r in children}
    assert set(by_asset) == {"lightgbm_model", "ridge_model", "deep_models", "deep_shap", "validation_report", "shap_values",
                             "permutation_importance", "ensemble_weights", "regime_routing", "ensemble_model",
                             "portfolio_backtest", "pnl_attribution"}
    for run in children:
        assert run.data.tags["data_version"] == summary["data"]["data_version"]
    lgb_run = by_asset["lightgbm_model"]
    folds = client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{lgb_run.info.run_id}'")
    assert sorted(r.data.tags["quantflow.fold"] for r in folds) == ["0", "1", "2"]
    for fold in folds:
        assert "rank_ic_mean" in fold.data.metrics
        assert len(client.get_metric_history(fold.info.run_id, "valid_l2")) > 1  # the training curve
    artifacts = {a.path for a in client.list_artifacts(by_asset["validation_report"].info.run_id, "reports")}
    assert "reports/validation_lightgbm.html" in artifacts


def test_registered_model_is_the_exact_version_and_scores_new_data(research_run):
    summary = research_run["summary"]
    result = research_run["result"]
    trained = result.output_for_node("lightgbm_model")
    model_uri = summary["models"]["lightgbm"]["model_uri"]
    assert model_uri == trained.model_uri
    client = MlflowClient(tracking_uri=summary["mlflow_tracking_uri"])
    name, version = model_uri.removeprefix("models:/").split("/")
    assert str(client.get_model_version_by_alias(name, "challenger").version) == version
    loaded = load_signal_model(model_uri, summary["mlflow_tracking_uri"])
    frame = result.output_for_node("targets").frame.tail(500)
    scores = loaded.predict(frame.select(list(trained.features)).to_pandas())
    np.testing.assert_allclose(scores, trained.final_model.predict(frame), rtol=1e-6)


def test_validation_report_is_written_and_shap_ranks_planted_signals_first(research_run):
    result = research_run["result"]
    report = result.output_for_node("validation_report")
    html = report.by_family()["lightgbm"].html_path.read_text()
    assert "Rank IC" in html and "<img" in html
    shap = result.output_for_node("shap_values")
    top4 = set(shap["feature"].head(4).to_list())
    assert top4 == {"sig_fast", "sig_slow", "sig_calm", "sig_stress"}, shap
    assert isinstance(shap, pl.DataFrame)


def test_permutation_importance_ranks_the_planted_signals_above_the_noise(research_run):
    table = research_run["result"].output_for_node("permutation_importance")
    features = table.filter(pl.col("kind") == "feature").sort("importance", descending=True)
    planted = {"sig_fast", "sig_slow", "sig_calm", "sig_stress"}
    top = features["item"].head(3).to_list()
    assert set(top) <= planted, features
    worst_planted = features.filter(pl.col("item").is_in(["sig_fast", "sig_slow", "sig_calm"]))["importance"].min()
    best_noise = features.filter(pl.col("item").str.starts_with("noise_"))["importance"].max()
    assert worst_planted > best_noise


def test_regime_routing_is_fitted_before_its_held_out_dates_and_feeds_scoring(research_run):
    result = research_run["result"]
    routing = result.output_for_node("regime_routing")
    ensemble = result.output_for_node("ensemble_weights")
    assert routing.last_fit_date < ensemble.eval_dates[0]  # same outer split as the blend
    table = routing.routing
    assert {"regime", "member", "weight", "used"} <= set(table.columns)
    for _, part in table.group_by("regime"):
        assert abs(part["weight"].sum() - 1.0) < 1e-9
    summary = research_run["summary"]["regime_routing"]
    assert summary["oos_rank_ic_mean"] > 0.02


def test_gradient_shap_of_the_torch_family_ranks_the_planted_signals_first(research_run):
    table = research_run["result"].output_for_node("deep_shap")
    mlp = table.filter(pl.col("family") == "mlp").sort("mean_abs_shap", descending=True)
    assert set(mlp["feature"].head(3)) <= {"sig_fast", "sig_slow", "sig_calm", "sig_stress"}, mlp


def test_the_routed_ensemble_is_registered_and_scores_the_newest_date_by_its_regime(research_run):
    result, summary = research_run["result"], research_run["summary"]
    out = result.output_for_node("ensemble_model")
    routing = result.output_for_node("regime_routing")
    scores = out.scores
    assert scores["date"].unique().to_list() == [out.date]
    # the same combination by hand: this date's regime row of the routing table
    regime = out.regime if out.regime in routing.routing["regime"].to_list() else "*"
    weights = {r["member"]: r["weight"] for r in routing.routing.filter(pl.col("regime") == regime).iter_rows(named=True)}
    z = {m: (scores[m] - scores[m].mean()) / scores[m].std(ddof=0) for m in weights}
    manual = sum(w * z[m].to_numpy() for m, w in weights.items())
    np.testing.assert_allclose(scores["ensemble"].to_numpy(), manual, rtol=1e-9, atol=1e-12)
    loaded = load_signal_model(out.model_uri, summary["mlflow_tracking_uri"])
    frame = result.output_for_node("feature_snapshots").panel.filter(pl.col("date") == out.date)
    features = list(result.output_for_node("targets").features)
    pandas_in = frame.select(["date", "asset", *features]).with_columns(pl.lit(out.regime).alias("regime")).to_pandas()
    np.testing.assert_allclose(loaded.predict(pandas_in), scores["ensemble"].to_numpy(), rtol=1e-6)


def test_every_family_and_ensemble_is_traded_and_attributed(research_run):
    result, summary = research_run["result"], research_run["summary"]
    trading = summary["trading"]
    assert set(trading) == {"lightgbm", "ridge", "mlp", "blend", "stacking", "routed"}
    for name, book in trading.items():
        costs = book["costs_usd"]
        assert set(costs) == {"spread", "impact", "commission", "borrow"}
        assert book["net_pnl_usd"] == pytest.approx(book["gross_pnl_usd"] - sum(costs.values()), rel=1e-9), name
        assert book["gross_pnl_usd"] > 0, name  # the planted signals earn before costs
        gross = book["attribution"]["gross"]
        assert gross["total"] == pytest.approx(book["gross_pnl_usd"], rel=1e-9)
        assert gross["total"] == pytest.approx(gross["market"] + gross["sector"] + gross["style"] + gross["specific"])
    netting = trading["blend"]["netting"]
    assert netting["combined_costs_usd"] <= netting["separate_costs_usd"] + 1e-6  # opposing trades net out
    books = result.output_for_node("pnl_attribution")
    html = result.output_for_node("validation_report").by_family()["lightgbm"].html_path.read_text()
    assert "Trading: what the signal earns after costs" in html and "Implementation shortfall" in html
    assert books.by_name()["lightgbm"].attribution is not None
