"""Model lifecycle: registry aliases and a promotion gate, live scoring, monitoring, retrain triggers.

Wire into Definitions with the research graph::

    assets=RESEARCH_ASSETS + LIFECYCLE_ASSETS, asset_checks=ALL_CHECKS + LIFECYCLE_CHECKS,
    jobs=[research_job, *LIFECYCLE_JOBS], schedules=[..., *lifecycle_schedules(timezone)],
    sensors=[..., *LIFECYCLE_SENSORS], resources={..., **LIFECYCLE_RESOURCES(state_dir, tracking_uri)}
"""

from pathlib import Path

from dagster_project.lifecycle.jobs import (
    daily_scoring_job,
    retrain_job,
    weekly_revalidation_job,
    weekly_revalidation_schedule,
)
from dagster_project.lifecycle.live import LIVE_PARTITIONS, daily_snapshot, live_scores
from dagster_project.lifecycle.monitoring import drift_report, realized_ic
from dagster_project.lifecycle.promotion import (
    PRODUCTION_FAMILY,
    challenger_model,
    champion_model,
    promotion_gate,
)
from dagster_project.lifecycle.registry import ModelRegistry
from dagster_project.lifecycle.revalidation import (
    champion_revalidation,
    champion_revalidation_check,
)
from dagster_project.lifecycle.sensors import RetrainPolicy, drift_ic_sensor, landing_sensor
from dagster_project.lifecycle.types import ChallengerRef, ChampionRef

LIFECYCLE_ASSETS = [challenger_model, champion_model, daily_snapshot, live_scores, drift_report, realized_ic,
                    champion_revalidation]
LIFECYCLE_CHECKS = [promotion_gate, champion_revalidation_check]
LIFECYCLE_JOBS = [retrain_job, daily_scoring_job, weekly_revalidation_job]
LIFECYCLE_SENSORS = [landing_sensor, drift_ic_sensor]


def lifecycle_schedules(timezone: str = "UTC") -> list:
    """The weekly combinatorial re-validation, in ``timezone``."""
    return [weekly_revalidation_schedule(timezone)]


LIFECYCLE_SCHEDULES = lifecycle_schedules("UTC")


def lifecycle_resources(state_dir: str | Path, tracking_uri: str, registry_prefix: str = "quantflow",
                        retrain_cooldown_days: int = 5) -> dict:
    """Resources the lifecycle needs besides the research graph's (market_data, mlflow, state)."""
    return {
        "registry": ModelRegistry(tracking_uri=tracking_uri, state_dir=str(Path(state_dir).resolve()),
                                  registry_prefix=registry_prefix),
        "retrain_policy": RetrainPolicy(cooldown_days=retrain_cooldown_days),
    }


LIFECYCLE_RESOURCES = lifecycle_resources

__all__ = [
    "LIFECYCLE_ASSETS",
    "LIFECYCLE_CHECKS",
    "LIFECYCLE_JOBS",
    "LIFECYCLE_RESOURCES",
    "LIFECYCLE_SCHEDULES",
    "LIFECYCLE_SENSORS",
    "LIVE_PARTITIONS",
    "PRODUCTION_FAMILY",
    "ChallengerRef",
    "ChampionRef",
    "ModelRegistry",
    "RetrainPolicy",
    "lifecycle_resources",
    "lifecycle_schedules",
]
