"""Schedules: the nightly retrain on business days and the weekly re-validation (both off until
switched on in the UI's Automation tab)."""

import dagster as dg

from dagster_project.jobs import retrain_job, weekly_revalidation_job

NIGHTLY_CRON = "0 2 * * 1-5"  # 02:00 Monday to Friday
WEEKLY_CRON = "0 4 * * 6"  # Saturday 04:00, after the week's last nightly retrain


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


def weekly_revalidation_schedule(timezone: str = "UTC") -> dg.ScheduleDefinition:
    """Combinatorial purged CV of the champion every Saturday at 04:00 in ``timezone``."""
    return dg.ScheduleDefinition(
        name="weekly_revalidation",
        job=weekly_revalidation_job,
        cron_schedule=WEEKLY_CRON,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        tags={"quantflow/trigger": "weekly_revalidation"},
        description="Re-validate the champion's recipe on every combinatorial purged CV path.",
    )


def all_schedules(timezone: str = "UTC") -> list[dg.ScheduleDefinition]:
    return [nightly_retrain_schedule(timezone), weekly_revalidation_schedule(timezone)]
