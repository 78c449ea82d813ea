"""Blocking leakage audits: implausibly predictive features, and every split re-verified."""

import dagster as dg

from dagster_project.assets.research.folds import folds
from dagster_project.assets.research.targets import targets
from dagster_project.config import core, to_core
from dagster_project.metadata import markdown_table
from dagster_project.types import FoldPlan, ModellingFrame
from quant_core.stages import LeakageSpec, audit_folds, audit_targets


class LeakageAuditConfig(dg.Config):
    threshold_abs_ic: float | None = core(LeakageSpec, "threshold_abs_ic")


@dg.asset_check(asset=targets, blocking=True)
def targets_leakage_audit(config: LeakageAuditConfig, targets: ModellingFrame) -> dg.AssetCheckResult:
    """Features known by the decision time; none implausibly predictive of its own target window."""
    verdict = audit_targets(targets, to_core(config, LeakageSpec))
    metadata = {"per_feature": markdown_table(verdict.per_feature)}
    if verdict.availability is not None:
        metadata["availability"] = markdown_table(verdict.availability)
    metadata["flagged_features"] = ", ".join(verdict.flagged_features) or "none"
    metadata["availability_problems"] = "\n".join(verdict.availability_problems) or "none"
    return dg.AssetCheckResult(passed=verdict.passed, metadata=metadata)


@dg.asset_check(asset=folds, blocking=True, additional_ins={"targets": dg.AssetIn("targets")})
def folds_leakage_audit(targets: ModellingFrame, folds: FoldPlan) -> dg.AssetCheckResult:
    """Every split re-verified: no shared dates, no train/test label overlap, embargo respected."""
    verdict = audit_folds(targets, folds)
    return dg.AssetCheckResult(
        passed=verdict.passed,
        metadata={"problems": "\n".join(verdict.problems) or "none", "per_fold": markdown_table(verdict.per_fold)},
    )
