"""Sensors: panels dropped in the inbox (ingest), daily files landed for scoring (landing),
drift or IC decay (retrain)."""

from dagster_project.sensors.ingest import make_ingest_sensor
from dagster_project.sensors.landing import landing_sensor
from dagster_project.sensors.retrain import drift_ic_sensor


def all_sensors() -> list:
    return [landing_sensor, drift_ic_sensor, make_ingest_sensor("retrain_job", name="ingest_sensor")]


__all__ = ["all_sensors", "drift_ic_sensor", "landing_sensor", "make_ingest_sensor"]
