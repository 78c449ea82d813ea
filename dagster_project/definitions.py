"""The only place that assembles Definitions and picks the environment.

Environment variables (all optional):
  QF_STATE_DIR              state directory (default: .qf_state in the working directory)
  QF_MLFLOW_TRACKING_URI    MLflow tracking URI (default: sqlite store under the state dir)
  QF_PANEL_PATH             a user panel to research (default: the ingested store, else the
                            synthetic market)
  QF_TIMEZONE               time zone of the nightly schedule (default UTC)
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from dagster_project.assets import ORDERBOOK_ASSETS, RESEARCH_ASSETS
from dagster_project.checks import ALL_CHECKS
from dagster_project.jobs import orderbook_job, research_job
from dagster_project.lifecycle import (
    LIFECYCLE_ASSETS,
    LIFECYCLE_CHECKS,
    LIFECYCLE_JOBS,
    LIFECYCLE_SENSORS,
    lifecycle_resources,
    lifecycle_schedules,
)
from dagster_project.resources import (
    MarketDataSource,
    MlflowTracker,
    ProjectState,
    QuantflowIOManager,
)
from dagster_project.schedules import nightly_retrain_schedule
from dagster_project.sensors_landing import make_landing_sensor


def default_state_dir() -> Path:
    return Path(os.environ.get("QF_STATE_DIR", Path.cwd() / ".qf_state")).resolve()


def local_tracking_uri(state_dir: Path) -> str:
    return f"sqlite:///{state_dir / 'mlflow' / 'mlflow.db'}"


def build_definitions(
    state_dir: Path | None = None,
    tracking_uri: str | None = None,
    market_data: MarketDataSource | None = None,
    timezone: str = "UTC",
    loggers: dict | None = None,
) -> dg.Definitions:
    """Assemble the code location; arguments override the environment's defaults."""
    state_dir = Path(state_dir or default_state_dir())
    (state_dir / "mlflow").mkdir(parents=True, exist_ok=True)
    tracking_uri = tracking_uri or local_tracking_uri(state_dir)
    resources = {
        "io_manager": QuantflowIOManager(),
        "market_data": market_data or MarketDataSource(store_dir=str(state_dir / "store")),
        "mlflow": MlflowTracker(tracking_uri=tracking_uri, artifact_root=str(state_dir / "mlflow" / "artifacts")),
        "state": ProjectState(state_dir=str(state_dir)),
        **lifecycle_resources(state_dir, tracking_uri),
    }
    return dg.Definitions(
        assets=[*RESEARCH_ASSETS, *ORDERBOOK_ASSETS, *LIFECYCLE_ASSETS],
        asset_checks=[*ALL_CHECKS, *LIFECYCLE_CHECKS],
        jobs=[research_job, orderbook_job, *LIFECYCLE_JOBS],
        schedules=[nightly_retrain_schedule(timezone), *lifecycle_schedules(timezone)],
        sensors=[*LIFECYCLE_SENSORS, make_landing_sensor("retrain_job", name="ingest_sensor")],
        resources=resources,
        loggers=loggers,
    )


defs = build_definitions(
    tracking_uri=os.environ.get("QF_MLFLOW_TRACKING_URI"),
    market_data=MarketDataSource(panel_path=os.environ.get("QF_PANEL_PATH") or None,
                                 store_dir=str(default_state_dir() / "store")),
    timezone=os.environ.get("QF_TIMEZONE", "UTC"),
)
