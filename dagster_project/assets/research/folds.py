"""Purged, embargoed train/test folds cut on unique dates."""

from typing import Literal

import dagster as dg

from dagster_project.config import core, to_core
from dagster_project.metadata import image, markdown_table
from dagster_project.resources import ProjectState
from dagster_project.types import ModellingFrame
from quant_core.stages import FoldSpec, plan_folds


class FoldConfig(dg.Config):
    scheme: Literal["walk_forward", "rolling", "purged_kfold"] = core(FoldSpec, "scheme")
    n_splits: int = core(FoldSpec, "n_splits")
    min_train_days: int = core(FoldSpec, "min_train_days")
    embargo_days: int | None = core(FoldSpec, "embargo_days")


@dg.asset(group_name="research")
def folds(config: FoldConfig, targets: ModellingFrame, state: ProjectState) -> dg.Output:
    """Train/test row indices per fold, purged by label_end and embargoed by date."""
    layout = state.reports_dir / "fold_layout.png"
    plan = plan_folds(targets, to_core(config, FoldSpec), layout_png=layout)
    return dg.Output(plan, metadata={
        "layout": image(layout),
        "scheme": plan.scheme,
        "n_splits": plan.n_splits,
        "embargo_days": plan.embargo_days,
        "folds": markdown_table(plan.description),
    })
