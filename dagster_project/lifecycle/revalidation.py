"""Weekly re-validation: the champion's exact recipe re-fitted on combinatorial purged CV splits.

Walk-forward validation gives one out-of-sample history; combinatorial purged CV (CPCV) gives
``C(N-1, k-1)`` complete ones. A champion whose Rank IC is positive on every path earned its
title; one that is good on a single path was lucky. The verdict is tagged on the champion's
model version and shown by a (non-blocking) check.
"""

import datetime as dt

import dagster as dg
import numpy as np
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.lifecycle.registry import ModelRegistry
from dagster_project.lifecycle.types import ChampionRef
from dagster_project.resources import MlflowTracker
from quant_core.data.dataset import ModellingFrame
from quant_core.model_selection import CombinatorialPurgedKFold
from quant_core.models import train_foldwise
from quant_core.monitoring.promotion import clone_unfitted, cpcv_path_rank_ic
from quant_core.targets.leakage import verify_splits


class RevalidationConfig(dg.Config):
    n_splits: int = Field(default=6, description="Contiguous date groups N of the combinatorial purged CV")
    n_test_splits: int = Field(default=2, description="Groups tested per split k (C(N, k) splits, C(N-1, k-1) paths)")
    embargo_days: int | None = Field(default=None, description="Dates embargoed after each test block; None = horizon_days")


@dg.asset(group_name="revalidation")
def champion_revalidation(context: dg.AssetExecutionContext, config: RevalidationConfig, targets: ModellingFrame,
                          champion_model: ChampionRef, registry: ModelRegistry,
                          mlflow: MlflowTracker) -> dg.Output:
    """The champion's recipe re-fitted on every combinatorial purged CV split: Rank IC per backtest path."""
    champion = champion_model
    wrapper = registry.load_model(champion).unwrap_python_model()
    missing = sorted(set(wrapper.features) - set(targets.features))
    if missing:
        raise dg.Failure(f"{champion.model_uri} needs features {missing} that the current data lacks")
    embargo_days = targets.horizon_days if config.embargo_days is None else config.embargo_days
    splitter = CombinatorialPurgedKFold(n_splits=config.n_splits, n_test_splits=config.n_test_splits,
                                        embargo_days=embargo_days)
    dates, label_end = targets.dates(), targets.label_end()
    splits = list(splitter.split(dates, label_end))
    audit = verify_splits(dates, label_end, splits, embargo_days)
    if not audit.passed:
        raise dg.Failure("CPCV splits failed the leakage audit: " + "; ".join(audit.problems))
    result = train_foldwise(targets.frame, splits, lambda: clone_unfitted(wrapper.model))
    paths = cpcv_path_rank_ic(result.oof, splitter, horizon_days=targets.horizon_days)
    path_ic = paths["rank_ic_mean"].to_numpy()
    summary = {
        "champion_version": champion.version,
        "n_splits": len(splits),
        "n_paths": int(paths.height),
        "median_path_rank_ic": float(np.median(path_ic)),
        "min_path_rank_ic": float(path_ic.min()),
        "max_path_rank_ic": float(path_ic.max()),
        "share_positive_paths": float(np.mean(path_ic > 0)),
        "validation_rank_ic": champion.validation_rank_ic,
        "data_version": targets.data_version,
    }
    registry.tag_version(champion.model_name, champion.version, {
        f"quantflow.revalidation.{k}": v for k, v in summary.items() if k != "champion_version"
    } | {"quantflow.revalidation.at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
         "quantflow.revalidation.dagster_run_id": context.run.run_id})
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": champion.family,
                                                          "quantflow.model_uri": champion.model_uri}) as run:
        run.log_params({"n_splits": config.n_splits, "n_test_splits": config.n_test_splits,
                        "embargo_days": embargo_days, "model_uri": champion.model_uri})
        run.log_metrics(summary)
        run.log_json({"summary": summary, "paths": paths.to_dicts()}, "revalidation/cpcv_paths.json")
    return dg.Output(summary, metadata={
        **{k: v for k, v in summary.items() if k != "data_version"},
        "paths": markdown_table(paths),
        "model_uri": champion.model_uri,
    })


@dg.asset_check(asset=champion_revalidation)
def champion_revalidation_check(champion_revalidation: dict) -> dg.AssetCheckResult:
    """Every CPCV backtest path of the champion's recipe has a positive mean Rank IC."""
    summary = champion_revalidation
    return dg.AssetCheckResult(
        passed=summary["min_path_rank_ic"] > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={k: summary[k] for k in ("min_path_rank_ic", "median_path_rank_ic", "share_positive_paths",
                                          "champion_version")},
    )
