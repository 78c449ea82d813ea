"""Forward-return targets joined to the features: the modelling frame."""

import dagster as dg

from dagster_project.config import core, to_core
from dagster_project.types import FeatureSnapshot
from quant_core.stages import TargetSpec, build_modelling_frame
from quant_core.stages.frame import TargetKind, Winsorize


class TargetConfig(dg.Config):
    horizon_days: int = core(TargetSpec, "horizon_days")
    lag_days: int = core(TargetSpec, "lag_days")
    kind: TargetKind = core(TargetSpec, "kind")
    winsorize: Winsorize = core(TargetSpec, "winsorize")
    vol_window_days: int = core(TargetSpec, "vol_window_days")


@dg.asset(group_name="research")
def targets(config: TargetConfig, feature_snapshots: FeatureSnapshot) -> dg.Output:
    """Features at close t joined to the return from close t+lag to close t+lag+horizon."""
    modelling = build_modelling_frame(feature_snapshots, to_core(config, TargetSpec))
    frame = modelling.frame
    return dg.Output(modelling, metadata={
        "n_rows": frame.height,
        "n_dates": frame["date"].n_unique(),
        "dropped_rows_without_full_label": feature_snapshots.panel.height - frame.height,
        "horizon_days": config.horizon_days,
        "lag_days": config.lag_days,
        "kind": config.kind,
        "last_label_end": str(frame["label_end"].max()),
    })
