"""Schedules and sensors."""

from dagster_project.schedules.drift import PSI_THRESHOLD, drift_sensor
from dagster_project.schedules.nightly import nightly_retrain_schedule

__all__ = ["PSI_THRESHOLD", "drift_sensor", "nightly_retrain_schedule"]
