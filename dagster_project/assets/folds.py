"""Purged, embargoed train/test folds cut on unique dates."""

from typing import Literal

import dagster as dg
from pydantic import Field

from dagster_project.assets.metadata import image, markdown_table
from dagster_project.resources import ProjectState
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.model_selection import PurgedKFold, Rolling, WalkForward, plot_folds


class FoldConfig(dg.Config):
    scheme: Literal["walk_forward", "rolling", "purged_kfold"] = Field(
        default="walk_forward", description="walk_forward (expanding), rolling (fixed window) or purged_kfold"
    )
    n_splits: int = Field(default=5, description="Number of test blocks")
    min_train_days: int = Field(default=252, description="walk_forward/rolling: dates in the first training window")
    embargo_days: int | None = Field(
        default=None, description="Dates dropped from training after each test block; None = horizon_days"
    )


def _splitter(config: FoldConfig, embargo_days: int):
    if config.scheme == "walk_forward":
        return WalkForward(n_splits=config.n_splits, min_train_days=config.min_train_days,
                           embargo_days=embargo_days)
    if config.scheme == "rolling":
        return Rolling(n_splits=config.n_splits, train_days=config.min_train_days, embargo_days=embargo_days)
    return PurgedKFold(n_splits=config.n_splits, embargo_days=embargo_days)


@dg.asset(group_name="research")
def folds(config: FoldConfig, targets: ModellingFrame, state: ProjectState) -> dg.Output:
    """Train/test row indices per fold, purged by label_end and embargoed by date."""
    embargo_days = targets.horizon_days if config.embargo_days is None else config.embargo_days
    splitter = _splitter(config, embargo_days)
    dates, label_end = targets.dates(), targets.label_end()
    splits = tuple(splitter.split(dates, label_end))
    description = splitter.describe(dates, label_end)
    plan = FoldPlan(splits=splits, description=description, scheme=config.scheme, embargo_days=embargo_days)
    layout = state.reports_dir / "fold_layout.png"
    plot_folds(splitter, dates, label_end, path=layout, title=f"{config.scheme} folds")
    return dg.Output(plan, metadata={
        "layout": image(layout),
        "scheme": config.scheme,
        "n_splits": len(splits),
        "embargo_days": embargo_days,
        "folds": markdown_table(description),
    })
