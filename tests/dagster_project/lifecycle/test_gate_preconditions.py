"""The gate reads the contract and leakage checks of its own run: a leak stops everything before it,
and a run that skipped those checks cannot promote, however good its challenger."""

import dagster as dg
import polars as pl
import pytest

pytestmark = pytest.mark.slow

MODEL = "quantflow-lightgbm"


@pytest.fixture
def world(tmp_path, kit):
    built = kit.build_world(tmp_path)
    built.write_research_panel(built.history_dates[-1])
    yield built
    built.instance.dispose()


def test_a_leaky_feature_stops_the_run_before_the_gate_and_no_champion_appears(world):
    panel = pl.read_parquet(world.panel_path).sort(["asset", "date"])
    future = (pl.col("close").shift(-2) / pl.col("close").shift(-1) - 1).over("asset")
    panel.with_columns(future.fill_null(0.0).alias("peek")).sort(["date", "asset"]).write_parquet(world.panel_path)
    result = world.retrain({"num_boost_round": 1, "inner_valid_days": 0})
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"feature_snapshots_contract": True, "targets_leakage_audit": False}
    materialized = {e.event_specific_data.materialization.asset_key.to_user_string()
                    for e in result.get_asset_materialization_events()}
    assert materialized == {"feature_snapshots", "targets"}
    assert world.registry.aliases(MODEL) == {}


def test_a_run_without_the_contract_and_leakage_checks_cannot_promote(world, kit):
    first = world.retrain(kit.STUMP_RECIPE)
    assert first.success and world.registry.aliases(MODEL)["champion"] == "1"
    # re-train from stored targets and folds only: a far better model, but its run evaluated no checks
    job = world.defs.resolve_job_def("retrain_job")
    keys = [dg.AssetKey(k) for k in ("lightgbm_model", "challenger_model", "champion_model")]
    second = job.execute_in_process(
        run_config={"ops": {"lightgbm_model": {"config": kit.STANDARD_RECIPE}}}, instance=world.instance,
        asset_selection=keys, raise_on_error=False)
    assert not second.success
    (gate,) = second.get_asset_check_evaluations()
    assert gate.check_name == "promotion_gate" and not gate.passed
    assert gate.metadata["reason"].value == (
        "blocked: check(s) not evaluated in this run: feature_snapshots_contract, targets_leakage_audit, "
        "folds_leakage_audit")
    assert world.registry.aliases(MODEL) == {"challenger": "2", "champion": "1"}
    tags = world.registry.client().get_model_version(MODEL, "2").tags
    assert tags["quantflow.gate.decision"] == "reject" and tags["quantflow.gate.checks"] == "{}"
