"""The landing sensor: valid files are ingested and run once, invalid ones reported and flagged."""

import datetime as dt
import json
import os

import dagster as dg
import polars as pl
import pytest

from dagster_project.resources import ProjectState
from dagster_project.sensors.ingest import make_ingest_sensor
from quant_core.data.store import SnapshotStore

TODAY = dt.date(2024, 6, 30)


def _panel(day: dt.date, close_shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame({"date": [day] * 3, "asset": ["A", "B", "C"],
                         "close": [10.0 + close_shift, 20.0, 30.0], "volume": [1, 2, 3]})


@pytest.fixture
def state(tmp_path):
    return ProjectState(state_dir=str(tmp_path))


@pytest.fixture
def sensor():
    return make_ingest_sensor("research_job", today=TODAY)


def _tick(sensor, state, cursor=None):
    with dg.build_sensor_context(cursor=cursor, resources={"state": state}) as context:
        result = sensor.evaluate_tick(context)
        return result, context.cursor


def test_a_valid_file_is_ingested_and_requests_one_run_tagged_with_its_data_version(
        sensor, state):
    _panel(dt.date(2024, 6, 3)).write_parquet(state.inbox_dir / "2024-06-03.parquet")
    result, cursor = _tick(sensor, state)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    manifest = SnapshotStore(state.path("store")).manifest()
    assert request.run_key == f"data-{manifest['version']}"
    assert request.tags["quantflow/trigger"] == "ingest"
    assert request.tags["quantflow/inbox_file"] == "2024-06-03.parquet"
    assert request.tags["quantflow/data_version"] == manifest["version"]
    assert manifest["partitions"][0]["date"] == "2024-06-03"
    assert json.loads(cursor)["files"]["2024-06-03.parquet"][3] == "ingested"
    again, same = _tick(sensor, state, cursor)
    assert again.run_requests == [] and "no new panel file" in again.skip_message
    assert same == cursor


def test_an_invalid_file_is_skipped_with_its_error_flagged_and_not_retried(sensor, state):
    bad = state.inbox_dir / "bad.csv"
    _panel(dt.date(2024, 6, 3), close_shift=-20.0).write_csv(bad)
    result, cursor = _tick(sensor, state)
    assert result.run_requests == []
    assert result.skip_message.startswith("bad.csv rejected (flagged in ")
    assert "column 'close' failed expectation: values are finite and > 0" in result.skip_message
    flag = json.loads((state.inbox_dir / ".rejected" / "bad.csv.json").read_text())
    assert flag["file"] == "bad.csv" and "values are finite and > 0" in flag["error"]
    assert bad.exists() and not state.path("store", "manifest.json").exists()
    # a fresh cursor (e.g. the sensor was reset) still does not retry the same bytes
    again, _ = _tick(sensor, state)
    assert again.run_requests == [] and "rejected" not in again.skip_message
    # fixing the file retries it
    _panel(dt.date(2024, 6, 3)).write_csv(bad)
    fixed, _ = _tick(sensor, state, cursor)
    assert [r.tags["quantflow/inbox_file"] for r in fixed.run_requests] == ["bad.csv"]


def test_valid_and_invalid_files_in_one_tick(sensor, state):
    _panel(dt.date(2024, 6, 3)).write_parquet(state.inbox_dir / "a.parquet")
    _panel(dt.date(2031, 1, 1)).write_parquet(state.inbox_dir / "future.parquet")
    (state.inbox_dir / "notes.txt").write_text("not a panel")
    result, cursor = _tick(sensor, state)
    assert [r.tags["quantflow/inbox_file"] for r in result.run_requests] == ["a.parquet"]
    files = json.loads(cursor)["files"]
    assert files["future.parquet"][3] == "rejected" and "notes.txt" not in files


def test_a_touched_but_unchanged_file_does_not_run_again(sensor, state):
    path = state.inbox_dir / "2024-06-03.parquet"
    _panel(dt.date(2024, 6, 3)).write_parquet(path)
    _, cursor = _tick(sensor, state)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    result, new_cursor = _tick(sensor, state, cursor)
    assert result.run_requests == []
    assert result.skip_message == "inbox files are unchanged since they were last seen"
    assert json.loads(new_cursor)["files"]["2024-06-03.parquet"][1] == path.stat().st_mtime_ns


def test_the_same_data_under_a_new_name_reuses_the_run_key(sensor, state):
    _panel(dt.date(2024, 6, 3)).write_parquet(state.inbox_dir / "one.parquet")
    first, cursor = _tick(sensor, state)
    _panel(dt.date(2024, 6, 3)).write_parquet(state.inbox_dir / "copy.parquet")
    second, _ = _tick(sensor, state, cursor)
    assert second.run_requests[0].run_key == first.run_requests[0].run_key  # Dagster dedups


def test_the_sensor_targets_the_named_job():
    sensor = make_ingest_sensor("research_job", name="panel_inbox")
    assert sensor.name == "panel_inbox" and sensor.job_name == "research_job"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
