"""Model lifecycle assets: promotion (group ``promotion``), live scoring and monitors (``live``,
daily partitions), weekly re-validation (``revalidation``)."""

from dagster_project.assets.lifecycle.live import LIVE_PARTITIONS, daily_snapshot, live_scores
from dagster_project.assets.lifecycle.monitoring import drift_report, realized_ic
from dagster_project.assets.lifecycle.promotion import (
                    PRODUCTION_FAMILY,
                    challenger_model,
                    champion_model,
)
from dagster_project.assets.lifecycle.revalidation import champion_revalidation

LIFECYCLE_ASSETS = [challenger_model, champion_model, daily_snapshot, live_scores, drift_report, realized_ic,
                    champion_revalidation]

__all__ = ["LIFECYCLE_ASSETS", "LIVE_PARTITIONS", "PRODUCTION_FAMILY"]
