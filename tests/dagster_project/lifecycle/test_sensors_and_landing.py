"""The drift+IC sensor (cursor, cooldown, in-flight guard, tags), the data-arrival sensor and the
landing-file reader, evaluated with Dagster's test contexts on recorded monitor materializations."""

import datetime as dt
import json

import dagster as dg
import numpy as np
import polars as pl
import pytest
from dagster._core.storage.dagster_run import DagsterRun

from dagster_project.assets.lifecycle import LIVE_PARTITIONS
from dagster_project.checks import LIFECYCLE_CHECKS
from dagster_project.resources import RetrainPolicy
from dagster_project.sensors import drift_ic_sensor, landing_sensor
from quant_core.data.contracts import DataContractError
from quant_core.data.landing import landed_files, read_daily_file, read_landed_window


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path)) as inst:
        yield inst


def _monitor(instance, key, day, **metadata):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day, metadata=metadata))


def _drift(instance, day, drifted, prediction=False):
    _monitor(instance, "drift_report", day, dataset_drift=drifted, prediction_drift=prediction,
             share_drifted=0.5 if drifted else 0.0, drifted_features="noise_1, noise_2" if drifted else "none")


def _ic(instance, day, decayed):
    _monitor(instance, "realized_ic", day, ic_decayed=decayed, live_rank_ic_mean=-0.01, validation_rank_ic=0.08,
             p_value=0.002 if decayed else 0.4)


def _tick(instance, cursor, policy=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"retrain_policy": policy or RetrainPolicy(cooldown_days=3)}) as context:
        return drift_ic_sensor.evaluate_tick(context), context.cursor


def test_drift_sensor_fires_then_holds_a_cooldown_then_fires_on_ic_decay(instance):
    _drift(instance, "2024-03-01", drifted=False)
    _ic(instance, "2024-03-01", decayed=False)
    result, cursor = _tick(instance, None)
    assert result.run_requests == []
    assert result.skip_message == "no monitor crossed a threshold in 2 new materialization(s)"
    _drift(instance, "2024-03-04", drifted=True, prediction=True)
    result, cursor = _tick(instance, cursor)
    (request,) = result.run_requests
    assert request.run_key == "monitor-2024-03-04"
    assert {k: v for k, v in request.tags.items() if k.startswith("quantflow/")} == {"quantflow/trigger": "data_drift+prediction_drift", "quantflow/partition": "2024-03-04",
                            "quantflow/share_drifted": "0.500", "quantflow/drifted_features": "noise_1, noise_2"}
    assert json.loads(cursor)["last_fired"] == "2024-03-04"
    again, same = _tick(instance, cursor)  # nothing new: the same signal never fires twice
    assert again.run_requests == [] and "in 0 new" in again.skip_message and json.loads(same) == json.loads(cursor)
    _drift(instance, "2024-03-06", drifted=True)  # 2 business days later, cooldown 3
    result, cursor = _tick(instance, cursor)
    assert result.run_requests == []
    assert result.skip_message.startswith("cooldown: data_drift on 2024-03-06, but a retrain was requested for "
                                          "2024-03-04, 2 business day(s) earlier (< 3)")
    _ic(instance, "2024-03-07", decayed=True)  # 3 business days later: allowed again
    result, cursor = _tick(instance, cursor)
    (request,) = result.run_requests
    assert request.tags["quantflow/trigger"] == "ic_decay"
    assert (request.tags["quantflow/live_rank_ic"], request.tags["quantflow/validation_rank_ic"]) == ("-0.0100", "+0.0800")


def test_drift_sensor_respects_its_policy_and_a_retrain_in_flight(instance):
    _drift(instance, "2024-03-04", drifted=True)
    quiet = RetrainPolicy(on_data_drift=False, on_prediction_drift=False)
    result, _ = _tick(instance, None, quiet)
    assert result.run_requests == [] and "no monitor crossed" in result.skip_message
    instance.add_run(DagsterRun(job_name="retrain_job", run_id="r-1", status=dg.DagsterRunStatus.STARTED))
    result, cursor = _tick(instance, None)
    assert result.run_requests == []
    assert result.skip_message == "data_drift on 2024-03-04, but retrain run r-1 is in flight"
    assert json.loads(cursor)["last_fired"] is None  # suppressed signals do not start a cooldown


@pytest.fixture
def world(tmp_path, kit):
    built = kit.build_world(tmp_path)
    yield built
    built.instance.dispose()


def _arrivals(world, cursor):
    with dg.build_sensor_context(instance=world.instance, cursor=cursor, definitions=world.defs,
                                 resources={"state": world.state}) as context:
        return landing_sensor.evaluate_tick(context), context.cursor


def test_landing_sensor_requests_new_and_rewritten_days_and_ignores_the_rest(world):
    day1, day2 = world.live_dates[:2]
    world.land(day1)
    (world.state.landing_dir / "notes.parquet").write_bytes(b"not a day")
    pl.DataFrame({"date": ["2024-03-09"], "asset": ["A"], "f": [1.0]}).write_parquet(
        world.state.landing_dir / "2024-03-09.parquet")  # a Saturday: no such partition
    result, cursor = _arrivals(world, None)
    assert [(r.partition_key, r.tags["quantflow/landing_file"]) for r in result.run_requests] == [
        (str(day1), f"{day1}.parquet")]
    world.land(day2)
    result, cursor = _arrivals(world, cursor)
    assert [r.partition_key for r in result.run_requests] == [str(day2)]
    result, cursor = _arrivals(world, cursor)
    assert result.run_requests == [] and "no new landing file" in result.skip_message
    world.land(day1, lambda rows: rows.head(30))  # a corrected file for day 1
    result, cursor = _arrivals(world, cursor)
    (request,) = result.run_requests
    assert request.partition_key == str(day1) and request.run_key.startswith(f"{day1}:")


def _write(path, frame):
    frame.write_parquet(path)
    return path


def test_daily_file_reader_checks_the_contract(tmp_path):
    good = pl.DataFrame({"date": ["2024-03-04"] * 3, "asset": ["A", "C", "B"], "f1": [0.1, 0.2, 0.3]})
    frame = read_daily_file(_write(tmp_path / "2024-03-04.parquet", good))  # no close: scoring still works
    assert frame.schema["date"] == pl.Date and frame["asset"].to_list() == ["A", "B", "C"]
    cases = [
        (good.with_columns(pl.lit("2024-03-05").alias("date")), "date", "every row is dated 2024-03-04"),
        (pl.concat([good, good.head(1)]), None, "unique"),
        (good.select("date", "asset"), None, "at least one numeric feature"),
        (good.with_columns(pl.lit(float("inf")).alias("f1")), "f1", "no inf"),
        (good.with_columns(pl.lit(-1.0).alias("close")), "close", "> 0"),
        (good.drop("asset"), "asset", "column 'asset' is present"),
    ]
    for bad, column, needle in cases:
        path = _write(tmp_path / "2024-03-04.parquet", bad)
        with pytest.raises(DataContractError) as err:
            read_daily_file(path)
        assert str(path) in str(err.value) and needle in str(err.value), (needle, str(err.value))
        if column:
            assert err.value.column == column


def test_landed_window_takes_the_newest_files_up_to_a_date(tmp_path):
    for i, day in enumerate(["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06"]):
        _write(tmp_path / f"{day}.parquet", pl.DataFrame({"date": [day], "asset": ["A"], "f": [float(i)],
                                                          "close": [10.0 + i]}))
    (tmp_path / "2024-13-40.parquet").write_bytes(b"")  # not a date
    assert list(landed_files(tmp_path)) == ["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06"]
    window = read_landed_window(tmp_path, "2024-03-05", 2, ["date", "asset", "f"])
    assert window["date"].to_list() == [dt.date(2024, 3, 4), dt.date(2024, 3, 5)]
    assert window.columns == ["date", "asset", "f"] and np.array_equal(window["f"].to_numpy(), [1.0, 2.0])
    with pytest.raises(ValueError, match="n_dates must be >= 1, got 0"):
        read_landed_window(tmp_path, "2024-03-05", 0)


def test_lifecycle_definitions_expose_jobs_checks_partitions_and_schedules(world):
    defs = world.defs
    retrain = {n.name for n in defs.resolve_job_def("retrain_job").graph.node_defs}
    assert {"lightgbm_model", "challenger_model", "challenger_model_promotion_gate", "champion_model",
            "targets_targets_leakage_audit", "feature_snapshots_feature_snapshots_contract"} <= retrain
    assert {n.name for n in defs.resolve_job_def("daily_scoring_job").graph.node_defs} == {
        "daily_snapshot", "live_scores", "drift_report", "realized_ic"}
    weekly = {n.name for n in defs.resolve_job_def("weekly_revalidation_job").graph.node_defs}
    assert "champion_revalidation" in weekly and "targets_targets_leakage_audit" in weekly
    gate = next(c for c in LIFECYCLE_CHECKS if "promotion_gate" in {k.name for k in c.check_keys})
    assert next(iter(gate.check_specs)).blocking
    assert {"retrain_job", "daily_scoring_job", "weekly_revalidation_job"} <= {j.name for j in defs.jobs}
    schedule = defs.resolve_schedule_def("weekly_revalidation")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 4 * * 6", "America/New_York")
    assert LIVE_PARTITIONS.has_partition_key("2024-03-08") and not LIVE_PARTITIONS.has_partition_key("2024-03-09")
    assert set(defs.resources) >= {"registry", "retrain_policy", "mlflow", "state", "market_data"}
