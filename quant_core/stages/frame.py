"""Stage: the modelling frame (features at close t joined to their forward-return label)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from quant_core.config_fields import described
from quant_core.data.dataset import ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.targets import make_target

__all__ = ["TargetSpec", "build_modelling_frame", "oracle_applies"]

TargetKind = Literal["raw", "excess", "residual", "vol_scaled", "rank", "zscore"]
Winsorize = Literal["none", "quantile", "mad"]


@dataclass(frozen=True)
class TargetSpec:
    """What the models learn to predict."""

    horizon_days: int = described(1, "Forward-return horizon in trading days")
    lag_days: int = described(1, "Trading days between the feature close and the entry close")
    kind: TargetKind = described(
        "raw", "raw return; excess over the equal-weighted market; residual after per-date sector "
        "regression; scaled by trailing volatility; or per-date rank / z-score")
    winsorize: Winsorize = described(
        "none", "Per-date clipping of the target (1%/99% quantiles or 5 MADs) before any rank/z-score")
    vol_window_days: int = described(20, "vol_scaled: trailing window of daily returns")


def build_modelling_frame(snapshot: FeatureSnapshot, spec: TargetSpec) -> ModellingFrame:
    """Features at close ``t`` joined to the return from close ``t+lag`` to ``t+lag+horizon``.

    Rows whose label window passes the end of the data are dropped (inner join); each row keeps
    ``label_start`` and ``label_end`` so the splitters can purge by them, and the availability
    columns the panel brought so the leakage audit can check them.
    """
    panel = snapshot.panel
    labels = make_target(panel, kind=spec.kind, horizon_days=spec.horizon_days, lag_days=spec.lag_days,
                         vol_window_days=spec.vol_window_days,
                         winsorize_method=None if spec.winsorize == "none" else spec.winsorize)
    keep = ["date", "asset", *snapshot.features, *snapshot.availability_columns]
    frame = panel.select(keep).join(
        labels.select(["date", "asset", "target", "label_start", "label_end"]),
        on=["date", "asset"], how="inner",
    ).sort(["date", "asset"])
    return ModellingFrame(
        frame=frame, features=snapshot.features, horizon_days=spec.horizon_days,
        lag_days=spec.lag_days, data_version=snapshot.data_version, target_kind=spec.kind,
        availability=snapshot.availability,
    )


def oracle_applies(frame: ModellingFrame) -> bool:
    """The simulator's oracle is the expected return of the default label only: a one-day raw
    return entered one day after the decision. Other targets have no ceiling to show."""
    return (frame.horizon_days, frame.lag_days, frame.target_kind) == (1, 1, "raw")
