"""Asset checks: the data contract, the blocking leakage audits, the promotion gate, the weekly
re-validation verdict."""

from dagster_project.checks.contracts import feature_snapshots_contract
from dagster_project.checks.leakage import folds_leakage_audit, targets_leakage_audit
from dagster_project.checks.promotion import promotion_gate
from dagster_project.checks.revalidation import champion_revalidation_check

RESEARCH_CHECKS = [feature_snapshots_contract, targets_leakage_audit, folds_leakage_audit]
LIFECYCLE_CHECKS = [promotion_gate, champion_revalidation_check]
ALL_CHECKS = [*RESEARCH_CHECKS, *LIFECYCLE_CHECKS]

__all__ = ["ALL_CHECKS", "LIFECYCLE_CHECKS", "RESEARCH_CHECKS"]
