"""Forward-return targets joined to the features: the modelling frame."""

import dagster as dg
from pydantic import Field

from quant_core.data.dataset import ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.targets.forward_returns import forward_returns


class TargetConfig(dg.Config):
    horizon_days: int = Field(default=1, description="Forward-return horizon in trading days")
    lag_days: int = Field(default=1, description="Trading days between the feature close and the entry close")


@dg.asset(group_name="research")
def targets(config: TargetConfig, feature_snapshots: FeatureSnapshot) -> dg.Output:
    """Features at close t joined to the return from close t+lag to close t+lag+horizon."""
    panel = feature_snapshots.panel
    labels = forward_returns(panel, horizon_days=config.horizon_days, lag_days=config.lag_days)
    frame = panel.select(["date", "asset", *feature_snapshots.features]).join(
        labels.select(["date", "asset", "target", "label_start", "label_end"]),
        on=["date", "asset"], how="inner",
    ).sort(["date", "asset"])
    modelling = ModellingFrame(
        frame=frame, features=feature_snapshots.features, horizon_days=config.horizon_days,
        lag_days=config.lag_days, data_version=feature_snapshots.data_version,
    )
    return dg.Output(modelling, metadata={
        "n_rows": frame.height,
        "n_dates": frame["date"].n_unique(),
        "dropped_rows_without_full_label": panel.height - frame.height,
        "horizon_days": config.horizon_days,
        "lag_days": config.lag_days,
        "last_label_end": str(frame["label_end"].max()),
    })
