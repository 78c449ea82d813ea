"""A simulated month of unattended operation, evaluated with Dagster's test contexts.

Timeline (21 live business days after 300 days of history, 60 assets):

- before day 0  the first training run (a deliberately weak one-stump recipe) registers
                version 1; with no champion yet the gate promotes it;
- every day     a landing file arrives -> ``landing_sensor`` requests that partition ->
                ``daily_scoring_job`` scores it with the pinned champion, writes the drift report
                and the realised IC -> ``drift_ic_sensor`` is evaluated;
- day 6         four noise features shift by +3 sd: the drift sensor fires once and its retrain
                (the standard recipe) registers version 2, which the gate promotes because its
                Rank IC is significantly higher;
- Saturday      the weekly schedule's CPCV re-validation of the champion runs;
- day 10 night  the nightly schedule's retrain uses the stump recipe again: version 3 is worse,
                the gate blocks it and the champion stays version 2;
- day 14        a person rolls back with ``qf models rollback``: version 1 scores from day 15 on;
- all the while the drift persists, and the sensor stays quiet for its 15-day cooldown.
"""

import datetime as dt
import json
import zoneinfo
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from dagster._utils.schedules import cron_string_iterator
from mlflow import MlflowClient
from scipy import stats

from dagster_project.cli import models as cli_models
from dagster_project.sensors import drift_ic_sensor, landing_sensor
from quant_registry.lineage import (
    MODEL_CARD_ARTIFACT,
    OOF_ARTIFACT,
    REFERENCE_ARTIFACT,
)
from quant_registry.pyfunc import load_signal_model

pytestmark = pytest.mark.slow

DRIFT_AT, NIGHTLY_AFTER, ROLLBACK_AFTER = 6, 10, 14
NOISE = ["noise_1", "noise_2", "noise_3", "noise_4"]
MODEL = "quantflow-lightgbm"
TIMEZONE = "America/New_York"  # the world's schedules (conftest.TIMEZONE)


def _drift(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns([pl.col(c) + 3.0 for c in NOISE])


def _tick(sensor, world, cursor):
    resources = {"state": world.state, "retrain_policy": world.defs.resources["retrain_policy"]}
    with dg.build_sensor_context(instance=world.instance, cursor=cursor, definitions=world.defs,
                                 resources=resources) as context:
        return sensor.evaluate_tick(context), context.cursor


def _ticks(cron: str, start: dt.date, end: dt.date) -> list[dt.datetime]:
    start_ts = dt.datetime.combine(start, dt.time(), zoneinfo.ZoneInfo(TIMEZONE)).timestamp()
    out = []
    for tick in cron_string_iterator(start_ts, cron, TIMEZONE):
        if tick.date() > end:
            return out
        out.append(tick)
    return out


def _materialized(result, key: str):
    events = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    return [m for m in events if m.asset_key.to_user_string() == key]


@pytest.fixture(scope="module")
def month(tmp_path_factory, kit):
    assert kit.TIMEZONE == TIMEZONE
    mp = pytest.MonkeyPatch()
    world = kit.build_world(tmp_path_factory.mktemp("month"), cooldown_days=15)
    days = [str(d) for d in world.live_dates]
    record = {"world": world, "days": days, "sensor": {}, "scored_by": {}, "daily": {}}
    world.write_research_panel(world.history_dates[-1])
    record["bootstrap"] = world.retrain(kit.STUMP_RECIPE, tags={"quantflow/trigger": "bootstrap"})
    nightly = world.defs.resolve_schedule_def("nightly_retrain")
    weekly = world.defs.resolve_schedule_def("weekly_revalidation")
    landing_cursor = drift_cursor = None
    for i, day in enumerate(days):
        world.land(world.live_dates[i], _drift if i >= DRIFT_AT else None)
        arrival, landing_cursor = _tick(landing_sensor, world, landing_cursor)
        record.setdefault("arrivals", []).append(arrival.run_requests)
        request = arrival.run_requests[0]
        daily = world.score_day(request.partition_key, tags=request.tags)
        record["daily"][day] = daily
        record["scored_by"][day] = _materialized(daily, "live_scores")[0].metadata["model_version"].value
        monitor, drift_cursor = _tick(drift_ic_sensor, world, drift_cursor)
        record["sensor"][day] = monitor
        if monitor.run_requests:
            world.write_research_panel(world.live_dates[i])
            record.setdefault("drift_retrains", []).append(
                world.retrain(kit.STANDARD_RECIPE, tags=monitor.run_requests[0].tags))
        if i == 3:  # the sensor again without a new file
            record["landing_again"], _ = _tick(landing_sensor, world, landing_cursor)
        if world.live_dates[i].weekday() == 4 and i > DRIFT_AT and "weekly" not in record:  # Saturday after
            tick = _ticks(weekly.cron_schedule, world.live_dates[i], world.live_dates[i] + dt.timedelta(days=1))[0]
            with dg.build_schedule_context(instance=world.instance, scheduled_execution_time=tick) as context:
                weekly_request = weekly.evaluate_tick(context).run_requests[0]
            record["weekly"] = world.defs.resolve_job_def("weekly_revalidation_job").execute_in_process(
                instance=world.instance, tags=weekly_request.tags, raise_on_error=False,
                run_config={"ops": {"champion_revalidation": {"config": {"n_splits": 4, "n_test_splits": 2}}}})
            record["weekly_tick"] = tick
        if i == NIGHTLY_AFTER:
            tick = _ticks(nightly.cron_schedule, world.live_dates[i] + dt.timedelta(days=1),
                          world.live_dates[i] + dt.timedelta(days=1))[0]
            with dg.build_schedule_context(instance=world.instance, scheduled_execution_time=tick) as context:
                nightly_request = nightly.evaluate_tick(context).run_requests[0]
            world.write_research_panel(world.live_dates[i])
            record["nightly"] = world.retrain(kit.STUMP_RECIPE, tags=nightly_request.tags)
        if i == ROLLBACK_AFTER:
            mp.setenv("DAGSTER_HOME", str(world.state_dir / "dagster"))  # restored after the module
            record["rollback_code"] = cli_models.main([
                "--state-dir", str(world.state_dir), "models", "--tracking-uri", world.tracking_uri,
                "rollback", "--reason", "v2 looks wrong on the desk", "--actor", "alice"])
    yield record
    mp.undo()
    world.instance.dispose()


def test_first_challenger_becomes_champion_with_lineage_tags_artifacts_and_card(month):
    world, bootstrap = month["world"], month["bootstrap"]
    assert bootstrap.success
    gate = {e.check_name: e for e in bootstrap.get_asset_check_evaluations()}["promotion_gate"]
    assert gate.passed and gate.metadata["reason"].value.startswith("no champion yet")
    client = MlflowClient(tracking_uri=world.tracking_uri)
    v1 = client.get_model_version(MODEL, "1")
    assert v1.tags["dagster.run_id"] == bootstrap.run_id
    assert v1.tags["quantflow.gate.decision"] == "promote"
    assert len(v1.tags["config_hash"]) == 12 and v1.tags["code_version"]
    trained = bootstrap.output_for_node("lightgbm_model")
    assert v1.tags["data_version"] == bootstrap.output_for_node("targets").data_version
    meta = _materialized(bootstrap, "lightgbm_model")[0].metadata
    assert float(v1.tags["validation.rank_ic_mean"]) == pytest.approx(meta["oos_rank_ic_mean"].value)
    artifacts = {a.path for a in client.list_artifacts(v1.run_id, "lifecycle")}
    assert artifacts == {OOF_ARTIFACT, REFERENCE_ARTIFACT}
    oof = pl.read_parquet(client.download_artifacts(v1.run_id, OOF_ARTIFACT, str(world.state_dir / "dl")))
    assert oof.equals(trained.result.oof)
    card = client.download_artifacts(v1.run_id, MODEL_CARD_ARTIFACT, str(world.state_dir / "dl"))
    text = Path(card).read_text()
    assert text.startswith(f"# Model card: {MODEL} version 1")
    assert f"- period: {world.history_dates[0]} .. " in text and "## Known limitations" in text


def test_landing_sensor_requests_each_new_day_once(month):
    for day, requests in zip(month["days"], month["arrivals"]):
        assert [r.partition_key for r in requests] == [day]
        assert requests[0].tags["quantflow/trigger"] == "data_arrival"
    again = month["landing_again"]
    assert again.run_requests == [] and "no new landing file" in again.skip_message
    assert all(r.success for r in month["daily"].values())


def test_drift_sensor_fires_once_at_the_injected_date_then_holds_its_cooldown(month):
    days, sensor = month["days"], month["sensor"]
    fired = [day for day in days if sensor[day].run_requests]
    assert fired == [days[DRIFT_AT]]
    request = sensor[days[DRIFT_AT]].run_requests[0]
    assert "data_drift" in request.tags["quantflow/trigger"]
    assert request.tags["quantflow/partition"] == days[DRIFT_AT]
    assert set(NOISE) <= set(request.tags["quantflow/drifted_features"].split(", "))
    for day in days[:DRIFT_AT]:
        assert sensor[day].skip_message.startswith("no monitor crossed a threshold"), (day, sensor[day].skip_message)
    for day in days[DRIFT_AT + 1:]:
        assert sensor[day].skip_message.startswith("cooldown:"), (day, sensor[day].skip_message)


def test_drift_retrain_registers_a_better_challenger_that_the_gate_promotes(month):
    world = month["world"]
    (retrain,) = month["drift_retrains"]
    assert retrain.success
    assert retrain.dagster_run.tags["quantflow/trigger"].startswith("data_drift")
    gate = {e.check_name: e for e in retrain.get_asset_check_evaluations()}["promotion_gate"]
    meta = {k: v.value for k, v in gate.metadata.items()}
    assert gate.passed and meta["challenger_version"] == "2" and meta["champion_version"] == "1"
    assert meta["diff_mean"] > 0 and meta["p_value"] < 0.05 and meta["n_dates"] >= 60
    v2 = MlflowClient(tracking_uri=world.tracking_uri).get_model_version(MODEL, "2")
    assert v2.tags["quantflow.gate.decision"] == "promote"
    assert float(v2.tags["quantflow.gate.p_value"]) == pytest.approx(meta["p_value"])
    assert json.loads(v2.tags["quantflow.gate.checks"]) == {
        "feature_snapshots_contract": True, "targets_leakage_audit": True, "folds_leakage_audit": True}
    pinned = _materialized(retrain, "champion_model")[0].metadata
    assert pinned["version"].value == "2" and pinned["promoted_in_this_run"].value is True


def test_a_worse_nightly_challenger_is_blocked_and_the_champion_stays(month):
    world, nightly = month["world"], month["nightly"]
    assert nightly.dagster_run.tags["quantflow/trigger"] == "nightly"
    assert not nightly.success  # a failed blocking check fails the run: the alias did not move
    gate = {e.check_name: e for e in nightly.get_asset_check_evaluations()}["promotion_gate"]
    assert not gate.passed and gate.metadata["challenger_version"].value == "3"
    assert "is not above the champion's" in gate.metadata["reason"].value
    assert _materialized(nightly, "champion_model") == []
    v3 = MlflowClient(tracking_uri=world.tracking_uri).get_model_version(MODEL, "3")
    assert v3.tags["quantflow.gate.decision"] == "reject"
    assert v3.tags["quantflow.gate.champion_version"] == "2"
    days = month["days"]
    assert month["scored_by"][days[NIGHTLY_AFTER + 1]] == "2"


def test_scoring_uses_exactly_the_pinned_version_and_rollback_restores_the_previous_one(month):
    world, days, scored_by = month["world"], month["days"], month["scored_by"]
    expected = ["1"] * (DRIFT_AT + 1) + ["2"] * (ROLLBACK_AFTER - DRIFT_AT) + ["1"] * (len(days) - ROLLBACK_AFTER - 1)
    assert [scored_by[d] for d in days] == expected
    assert month["rollback_code"] == 0
    registry = world.registry
    assert registry.aliases(MODEL)["champion"] == "1"
    assert registry.champion_history(MODEL) == ["1"]
    actions = [(e["action"], e["from_version"], e["to_version"], e["actor"]) for e in registry.read_audit()]
    assert actions == [
        ("gate_promote", None, "1", "promotion_gate"), ("promote", None, "1", "promotion_gate"),
        ("gate_promote", "1", "2", "promotion_gate"), ("promote", "1", "2", "promotion_gate"),
        ("gate_reject", "2", "3", "promotion_gate"), ("rollback", "2", "1", "alice"),
    ]
    v2 = MlflowClient(tracking_uri=world.tracking_uri).get_model_version(MODEL, "2")
    assert v2.tags["quantflow.rollback_reason"] == "v2 looks wrong on the desk"
    # the stored scores of a day are what that exact registered version predicts for the landed file
    day = days[DRIFT_AT + 2]
    stored = pl.read_parquet(world.state_dir / "live" / "scores" / f"{day}.parquet")
    landed = pl.read_parquet(world.state.landing_dir / f"{day}.parquet")
    direct = load_signal_model(f"models:/{MODEL}/2", world.tracking_uri).predict(landed.to_pandas())
    np.testing.assert_allclose(stored["score"].to_numpy(), direct, rtol=1e-12)
    assert set(stored["model_version"]) == {"2"}


def test_realised_ic_matches_an_independent_computation(month):
    world, days = month["world"], month["days"]
    day = days[DRIFT_AT]
    meta = _materialized(month["daily"][day], "realized_ic")[0].metadata
    panel = world.panel.sort(["date", "asset"])
    closes = {d: panel.filter(pl.col("date") == d)["close"].to_numpy() for d in world.live_dates}
    expected = []
    for t in range(DRIFT_AT - 1):  # scores of days 0..4 have a closed label window (t+1 -> t+2) by day 6
        scores = pl.read_parquet(world.state_dir / "live" / "scores" / f"{days[t]}.parquet").sort("asset")
        label = closes[world.live_dates[t + 2]] / closes[world.live_dates[t + 1]] - 1.0
        expected.append(stats.spearmanr(scores["score"].to_numpy(), label)[0])
    assert meta["n_label_dates"].value == DRIFT_AT - 1
    assert meta["live_rank_ic_mean"].value == pytest.approx(np.mean(expected), abs=1e-12)
    assert meta["ic_decayed"].value is False  # fewer than min_dates labelled dates: no verdict


def test_drift_reports_are_html_files_logged_to_mlflow(month):
    world, day = month["world"], month["days"][DRIFT_AT]
    meta = _materialized(month["daily"][day], "drift_report")[0].metadata
    assert meta["dataset_drift"].value is True and meta["window_full"].value is True
    assert meta["report"].value.endswith(f"drift_{day}.html")
    assert (world.state_dir / "reports" / "drift" / f"drift_{day}.html").stat().st_size > 10_000
    client = MlflowClient(tracking_uri=world.tracking_uri)
    run_id = month["daily"][day].run_id
    runs = client.search_runs([client.get_experiment_by_name("quantflow-research").experiment_id],
                              f"tags.`dagster.run_id` = '{run_id}' and tags.`dagster.asset_key` = 'drift_report'")
    assert runs and runs[0].data.tags["dagster.partition"] == day
    assert f"drift/drift_{day}.html" in {a.path for a in client.list_artifacts(runs[0].info.run_id, "drift")}


def test_schedules_tick_on_business_days_in_their_time_zone_and_revalidation_ran(month):
    world = month["world"]
    nightly = world.defs.resolve_schedule_def("nightly_retrain")
    assert nightly.job_name == "retrain_job" and nightly.execution_timezone == TIMEZONE
    ticks = _ticks(nightly.cron_schedule, world.live_dates[0], world.live_dates[-1])
    assert [t.date() for t in ticks] == [d for d in world.live_dates]  # no holidays in this stretch
    assert {(t.hour, t.minute, str(t.tzinfo)) for t in ticks} == {(2, 0, TIMEZONE)}
    assert month["weekly_tick"].weekday() == 5 and month["weekly_tick"].hour == 4
    weekly = month["weekly"]
    assert weekly.success and weekly.dagster_run.tags["quantflow/trigger"] == "weekly_revalidation"
    meta = _materialized(weekly, "champion_revalidation")[0].metadata
    assert meta["n_paths"].value == 3 and meta["champion_version"].value == "2"
    assert meta["min_path_rank_ic"].value > 0
    v2 = MlflowClient(tracking_uri=world.tracking_uri).get_model_version(MODEL, "2")
    assert float(v2.tags["quantflow.revalidation.min_path_rank_ic"]) == pytest.approx(meta["min_path_rank_ic"].value)


def test_a_landing_file_missing_a_champion_feature_is_refused_before_scoring(month):
    """daily_snapshot checks the day's file against the pinned champion's features and names the
    file, the column and example rows; nothing is scored."""
    world = month["world"]
    last = world.live_dates[-1]
    day = np.busday_offset(np.datetime64(last, "D"), 1, roll="forward").astype(dt.date)
    rows = world.panel.filter(pl.col("date") == last).with_columns(pl.lit(day).alias("date")).drop("sig_fast")
    path = world.state.landing_dir / f"{day}.parquet"
    rows.write_parquet(path)
    try:
        result = world.score_day(str(day))
        assert not result.success
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert [e.step_key for e in failures] == ["daily_snapshot"]
        message = str(failures[0].event_specific_data.error.message)
        assert path.name in message and "sig_fast" in message and "example rows" in message
        assert not _materialized(result, "live_scores")
    finally:
        path.unlink()


def test_a_day_without_drift_keeps_its_numbers_but_not_the_html_page(month):
    world, day = month["world"], month["days"][0]
    meta = _materialized(month["daily"][day], "drift_report")[0].metadata
    assert meta["dataset_drift"].value is False and meta["prediction_drift"].value is False
    assert meta["report"].value.startswith("not kept")
    assert "not judged" in meta["verdict"].value  # the window is not full on the first day
    assert not (world.state_dir / "reports" / "drift" / f"drift_{day}.html").exists()
