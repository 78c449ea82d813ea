"""Forward-return targets joined to the features: the modelling frame."""

from typing import Literal

import dagster as dg
from pydantic import Field

from quant_core.data.dataset import ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.targets import make_target


class TargetConfig(dg.Config):
    horizon_days: int = Field(default=1, description="Forward-return horizon in trading days")
    lag_days: int = Field(default=1, description="Trading days between the feature close and the entry close")
    kind: Literal["raw", "excess", "residual", "vol_scaled", "rank", "zscore"] = Field(
        default="raw",
        description="raw return; excess over the equal-weighted market; residual after per-date sector "
        "regression; scaled by trailing volatility; or per-date rank / z-score",
    )
    winsorize: Literal["none", "quantile", "mad"] = Field(
        default="none", description="Per-date clipping of the target (1%/99% quantiles or 5 MADs) before any rank/z-score"
    )
    vol_window_days: int = Field(default=20, description="vol_scaled: trailing window of daily returns")


@dg.asset(group_name="research")
def targets(config: TargetConfig, feature_snapshots: FeatureSnapshot) -> dg.Output:
    """Features at close t joined to the return from close t+lag to close t+lag+horizon."""
    panel = feature_snapshots.panel
    labels = make_target(panel, kind=config.kind, horizon_days=config.horizon_days, lag_days=config.lag_days,
                         vol_window_days=config.vol_window_days,
                         winsorize_method=None if config.winsorize == "none" else config.winsorize)
    keep = ["date", "asset", *feature_snapshots.features, *feature_snapshots.availability_columns]
    frame = panel.select(keep).join(
        labels.select(["date", "asset", "target", "label_start", "label_end"]),
        on=["date", "asset"], how="inner",
    ).sort(["date", "asset"])
    modelling = ModellingFrame(
        frame=frame, features=feature_snapshots.features, horizon_days=config.horizon_days,
        lag_days=config.lag_days, data_version=feature_snapshots.data_version, target_kind=config.kind,
        availability=feature_snapshots.availability,
    )
    return dg.Output(modelling, metadata={
        "n_rows": frame.height,
        "n_dates": frame["date"].n_unique(),
        "dropped_rows_without_full_label": panel.height - frame.height,
        "horizon_days": config.horizon_days,
        "lag_days": config.lag_days,
        "kind": config.kind,
        "last_label_end": str(frame["label_end"].max()),
    })
