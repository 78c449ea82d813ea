"""Nightly retrain on business days."""

import dagster as dg

from dagster_project.lifecycle.jobs import retrain_job

NIGHTLY_CRON = "0 2 * * 1-5"  # 02:00 Monday to Friday


def nightly_retrain_schedule(timezone: str = "UTC") -> dg.ScheduleDefinition:
    """Retrain (research graph + promotion gate), every business-day night at 02:00 in ``timezone``."""
    return dg.ScheduleDefinition(
        name="nightly_retrain",
        job=retrain_job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        tags={"quantflow/trigger": "nightly"},
        description="Retrain, re-validate and re-register every family, then gate the challenger, each business-day night.",
    )
