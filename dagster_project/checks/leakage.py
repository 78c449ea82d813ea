"""Blocking leakage audits: implausibly predictive features, and every split re-verified."""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.assets.folds import folds
from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.targets import targets
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.targets.leakage import audit_availability, audit_feature_leakage, verify_splits


class LeakageAuditConfig(dg.Config):
    threshold_abs_ic: float | None = Field(
        default=None, description="Flag a feature whose mean |rank IC| with its own target exceeds this; None = library default"
    )


@dg.asset_check(asset=targets, blocking=True)
def targets_leakage_audit(config: LeakageAuditConfig, targets: ModellingFrame) -> dg.AssetCheckResult:
    """Features known by the decision time; none implausibly predictive of its own target window."""
    kwargs = {} if config.threshold_abs_ic is None else {"threshold_abs_ic": config.threshold_abs_ic}
    audit = audit_feature_leakage(targets.frame, list(targets.features), **kwargs)
    flagged = list(audit.flagged_features)
    metadata = {"per_feature": markdown_table(audit.table)}
    late_problems: list[str] = []
    if targets.availability:
        timing = audit_availability(targets.frame, targets.availability)
        late_problems = list(timing.problems)
        metadata["availability"] = markdown_table(timing.table)
        late = timing.table.filter((pl.col("check") == "feature_available") & (pl.col("n_violations") > 0))
        flagged += [f for f in late["column"].to_list() if f not in flagged]
    metadata["flagged_features"] = ", ".join(flagged) or "none"
    metadata["availability_problems"] = "\n".join(late_problems) or "none"
    return dg.AssetCheckResult(passed=audit.passed and not late_problems, metadata=metadata)


@dg.asset_check(asset=folds, blocking=True, additional_ins={"targets": dg.AssetIn("targets")})
def folds_leakage_audit(targets: ModellingFrame, folds: FoldPlan) -> dg.AssetCheckResult:
    """Every split re-verified: no shared dates, no train/test label overlap, embargo respected."""
    audit = verify_splits(targets.dates(), targets.label_end(), list(folds.splits), folds.embargo_days)
    return dg.AssetCheckResult(
        passed=audit.passed,
        metadata={
            "problems": "\n".join(audit.problems) or "none",
            "per_fold": markdown_table(audit.table),
        },
    )
