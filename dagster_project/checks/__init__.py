"""Asset checks: data contracts and blocking leakage audits."""

from dagster_project.checks.contracts import feature_snapshots_contract
from dagster_project.checks.leakage import folds_leakage_audit, targets_leakage_audit

ALL_CHECKS = [feature_snapshots_contract, targets_leakage_audit, folds_leakage_audit]
