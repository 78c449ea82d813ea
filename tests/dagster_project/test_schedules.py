"""The nightly schedule, evaluated with Dagster's test contexts, and the assembled code location."""

import dagster as dg

from dagster_project.definitions import build_definitions
from dagster_project.schedules import nightly_retrain_schedule

RESEARCH = {"feature_snapshots", "targets", "folds", "lightgbm_model", "ridge_model", "deep_models",
            "validation_report",
            "shap_values", "deep_shap", "permutation_importance", "ensemble_weights", "regime_routing",
            "ensemble_model", "portfolio_backtest", "pnl_attribution"}
ORDERBOOK = {"orderbook_snapshots", "deeplob_model"}
LIFECYCLE = {"challenger_model", "champion_model", "champion_revalidation", "daily_snapshot", "live_scores",
             "drift_report", "realized_ic"}


def test_nightly_schedule_retrains_on_business_days_in_its_time_zone():
    schedule = nightly_retrain_schedule("America/New_York")
    assert schedule.cron_schedule == "0 2 * * 1-5"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.job_name == "retrain_job"  # research graph + promotion gate
    context = dg.build_schedule_context(scheduled_execution_time=None)
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["quantflow/trigger"] == "nightly"


def test_definitions_load_with_every_asset_check_job_schedule_and_sensor(tmp_path):
    defs = build_definitions(state_dir=tmp_path, timezone="Europe/London")
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == RESEARCH | ORDERBOOK | LIFECYCLE
    assert {k.name for k in graph.asset_check_keys} == {
        "feature_snapshots_contract", "targets_leakage_audit", "folds_leakage_audit", "promotion_gate",
        "champion_revalidation_check"}
    for job in ("research_job", "orderbook_job", "retrain_job", "daily_scoring_job", "weekly_revalidation_job"):
        assert defs.resolve_job_def(job).name == job
    assert defs.resolve_schedule_def("nightly_retrain").execution_timezone == "Europe/London"
    assert defs.resolve_schedule_def("weekly_revalidation").job_name == "weekly_revalidation_job"
    assert {s.name for s in defs.sensors} == {"landing_sensor", "drift_ic_sensor", "ingest_sensor"}
    research = defs.resolve_job_def("research_job").asset_layer.selected_asset_keys
    assert {k.to_user_string() for k in research} == RESEARCH
