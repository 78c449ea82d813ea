"""The nightly schedule and the drift sensor, evaluated with Dagster's test contexts."""

import dagster as dg
import numpy as np
import polars as pl
import pytest

from dagster_project.definitions import build_definitions
from dagster_project.resources import ProjectState
from dagster_project.schedules import drift_sensor, nightly_retrain_schedule


def test_nightly_schedule_runs_the_research_job_on_business_days_in_its_time_zone():
    schedule = nightly_retrain_schedule("America/New_York")
    assert schedule.cron_schedule == "0 2 * * 1-5"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.job_name == "research_job"
    context = dg.build_schedule_context(scheduled_execution_time=None)
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["quantflow/trigger"] == "nightly"


@pytest.fixture
def state(tmp_path):
    state = ProjectState(state_dir=str(tmp_path))
    rng = np.random.default_rng(0)
    n = 2000
    reference = pl.DataFrame({"date": ["2024-01-02"] * n, "asset": [f"A{i}" for i in range(n)],
                              "f1": rng.normal(size=n), "f2": rng.normal(size=n)})
    reference.write_parquet(state.drift_reference_path)
    return state


def _land(state, name, shift):
    rng = np.random.default_rng(len(name))
    n = 500
    frame = pl.DataFrame({"date": ["2024-02-01"] * n, "asset": [f"A{i}" for i in range(n)],
                          "f1": rng.normal(loc=shift, size=n), "f2": rng.normal(size=n)})
    frame.write_parquet(state.landing_dir / name)


def _tick(state, cursor=None):
    with dg.build_sensor_context(cursor=cursor, resources={"state": state}) as context:
        result = drift_sensor.evaluate_tick(context)
        return result, context.cursor


def test_sensor_skips_undrifted_data(state):
    _land(state, "2024-02-01.parquet", shift=0.0)
    result, cursor = _tick(state)
    assert result.run_requests == []
    assert "max PSI" in result.skip_message
    assert cursor.startswith("2024-02-01.parquet:")


def test_sensor_fires_on_drift_with_tags_and_not_twice_for_the_same_file(state):
    _land(state, "2024-02-01.parquet", shift=1.5)
    result, cursor = _tick(state)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags["quantflow/trigger"] == "drift"
    assert request.tags["quantflow/drifted_features"] == '["f1"]'
    assert float(request.tags["quantflow/max_psi"]) > 0.25
    again, same_cursor = _tick(state, cursor)
    assert again.run_requests == [] and "already evaluated" in again.skip_message
    assert same_cursor == cursor


def test_sensor_skips_with_a_reason_when_nothing_is_there(tmp_path):
    empty = ProjectState(state_dir=str(tmp_path))
    result, _ = _tick(empty)
    assert "no drift reference" in result.skip_message


def test_definitions_load_with_every_asset_check_job_schedule_and_sensor(tmp_path):
    defs = build_definitions(state_dir=tmp_path)
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {
        "feature_snapshots", "drift_reference", "targets", "folds", "lightgbm_model", "ridge_model",
        "validation_report", "shap_values", "permutation_importance", "ensemble_weights", "regime_routing"}
    assert {k.name for k in graph.asset_check_keys} == {
        "feature_snapshots_contract", "targets_leakage_audit", "folds_leakage_audit"}
    assert defs.resolve_job_def("research_job").name == "research_job"
    assert defs.resolve_schedule_def("nightly_retrain").job_name == "research_job"
    assert defs.resolve_sensor_def("drift_sensor").job_name == "research_job"
