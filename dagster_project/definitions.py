"""The only place that assembles Definitions.

``defs`` is a ``@dg.definitions`` function: Dagster calls it when it loads the code location
(``dagster dev``, the webserver, the daemon, a code server), which is when the environment is
read (see ``paths.py`` for the variables). Importing this module reads nothing.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from dagster_project.assets import ALL_ASSETS
from dagster_project.checks import ALL_CHECKS
from dagster_project.jobs import ALL_JOBS
from dagster_project.paths import (
    PANEL_PATH_ENV,
    STATE_DIR_ENV,
    TRACKING_URI_ENV,
    default_state_dir,
    default_timezone,
    env_or,
    local_tracking_uri,
)
from dagster_project.resources import (
    MarketDataSource,
    MlflowTracker,
    ModelRegistry,
    ProjectState,
    QuantflowIOManager,
    RetrainPolicy,
)
from dagster_project.schedules import all_schedules
from dagster_project.sensors import all_sensors


def build_definitions(
    state_dir: Path | None = None,
    tracking_uri: str | dg.EnvVar | None = None,
    market_data: MarketDataSource | None = None,
    timezone: str = "UTC",
    loggers: dict | None = None,
    registry_prefix: str = "quantflow",
    retrain_cooldown_days: int = 5,
    state_dir_setting: str | dg.EnvVar | None = None,
) -> dg.Definitions:
    """Assemble the code location; arguments override the defaults.

    ``state_dir`` is where reports, the snapshot store, landing files and (by default) the MLflow
    store live; ``state_dir_setting`` is what the resources' config holds for it (an ``EnvVar``
    when the environment set it, so the launchpad shows the variable, not a path).
    """
    state_dir = Path(state_dir or default_state_dir())
    (state_dir / "mlflow").mkdir(parents=True, exist_ok=True)
    tracking_uri = tracking_uri or local_tracking_uri(state_dir)
    state_setting = state_dir_setting or str(state_dir)
    resources = {
        "io_manager": QuantflowIOManager(),
        "market_data": market_data or MarketDataSource(store_dir=str(state_dir / "store")),
        "mlflow": MlflowTracker(tracking_uri=tracking_uri, artifact_root=str(state_dir / "mlflow" / "artifacts"),
                                registry_prefix=registry_prefix),
        "state": ProjectState(state_dir=state_setting),
        "registry": ModelRegistry(tracking_uri=tracking_uri, state_dir=state_setting,
                                  registry_prefix=registry_prefix),
        "retrain_policy": RetrainPolicy(cooldown_days=retrain_cooldown_days),
    }
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=ALL_JOBS,
        schedules=all_schedules(timezone),
        sensors=all_sensors(),
        resources=resources,
        loggers=loggers,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location as ``dagster dev`` and the deployment load it, settings from the environment."""
    state_dir = default_state_dir()
    return build_definitions(
        state_dir=state_dir,
        tracking_uri=env_or(TRACKING_URI_ENV, local_tracking_uri(state_dir)),
        market_data=MarketDataSource(panel_path=env_or(PANEL_PATH_ENV, None),
                                     store_dir=str(state_dir / "store")),
        timezone=default_timezone(),
        state_dir_setting=env_or(STATE_DIR_ENV, str(state_dir)),
    )
