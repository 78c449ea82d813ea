"""Stage: purged, embargoed train/test folds cut on unique dates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from quant_core.config_fields import described
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.model_selection import PurgedKFold, Rolling, WalkForward, plot_folds

__all__ = ["FoldSpec", "make_splitter", "plan_folds"]


@dataclass(frozen=True)
class FoldSpec:
    """How the dates are cut into training and test blocks."""

    scheme: Literal["walk_forward", "rolling", "purged_kfold"] = described(
        "walk_forward", "walk_forward (expanding), rolling (fixed window) or purged_kfold")
    n_splits: int = described(5, "Number of test blocks")
    min_train_days: int = described(252, "walk_forward/rolling: dates in the first training window")
    embargo_days: int | None = described(
        None, "Dates dropped from training after each test block; None = horizon_days")


def make_splitter(spec: FoldSpec, embargo_days: int):
    """The splitter object of ``spec`` (``split(dates, label_end)`` yields index arrays)."""
    if spec.scheme == "walk_forward":
        return WalkForward(n_splits=spec.n_splits, min_train_days=spec.min_train_days,
                           embargo_days=embargo_days)
    if spec.scheme == "rolling":
        return Rolling(n_splits=spec.n_splits, train_days=spec.min_train_days, embargo_days=embargo_days)
    return PurgedKFold(n_splits=spec.n_splits, embargo_days=embargo_days)


def plan_folds(frame: ModellingFrame, spec: FoldSpec, layout_png: str | Path | None = None) -> FoldPlan:
    """Train/test row indices per fold, purged by ``label_end`` and embargoed by date; the fold
    layout is drawn to ``layout_png`` when given."""
    embargo_days = frame.horizon_days if spec.embargo_days is None else spec.embargo_days
    splitter = make_splitter(spec, embargo_days)
    dates, label_end = frame.dates(), frame.label_end()
    splits = tuple(splitter.split(dates, label_end))
    description = splitter.describe(dates, label_end)
    if layout_png is not None:
        plot_folds(splitter, dates, label_end, path=layout_png, title=f"{spec.scheme} folds")
    return FoldPlan(splits=splits, description=description, scheme=spec.scheme, embargo_days=embargo_days)
