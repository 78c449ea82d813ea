"""Schedules (the drift and data-arrival sensors live in dagster_project.lifecycle.sensors)."""

from dagster_project.schedules.nightly import nightly_retrain_schedule

__all__ = ["nightly_retrain_schedule"]
