"""Lifecycle jobs by asset selection, and the weekly re-validation schedule."""

import dagster as dg

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.groups("research", "promotion"),
    description="The research graph, then the promotion gate and (if it passes) the new champion.",
)

daily_scoring_job = dg.define_asset_job(
    "daily_scoring_job",
    selection=dg.AssetSelection.groups("live"),
    description="One landed day: snapshot, champion scores, drift report and realised IC.",
)

weekly_revalidation_job = dg.define_asset_job(
    "weekly_revalidation_job",
    selection=dg.AssetSelection.assets("feature_snapshots", "targets", "champion_revalidation"),
    description="Newest data, contract and leakage checks, then the champion re-validated with CPCV.",
)

WEEKLY_CRON = "0 4 * * 6"  # Saturday 04:00, after the week's last nightly retrain


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
