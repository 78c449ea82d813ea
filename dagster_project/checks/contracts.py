"""Data-contract check on the feature snapshots: the same suite `qf ingest` runs (polars + Great Expectations)."""

import dagster as dg

from dagster_project.assets.research.snapshots import feature_snapshots
from dagster_project.config import core, to_core
from dagster_project.metadata import markdown_table
from dagster_project.types import FeatureSnapshot
from quant_core.stages import ContractSpec, check_snapshot_contract


class ContractCheckConfig(dg.Config):
    use_great_expectations: bool = core(ContractSpec, "use_great_expectations")
    max_missing_share: float = core(ContractSpec, "max_missing_share")


@dg.asset_check(asset=feature_snapshots, blocking=True)
def feature_snapshots_contract(config: ContractCheckConfig, feature_snapshots: FeatureSnapshot) -> dg.AssetCheckResult:
    """The input panel passes the data contract; no feature (supplied or built) is mostly missing."""
    verdict = check_snapshot_contract(feature_snapshots, to_core(config, ContractSpec))
    return dg.AssetCheckResult(
        passed=verdict.passed,
        metadata={
            "failures": "\n".join(verdict.failures) or "none",
            "warnings": "\n".join(verdict.warnings) or "none",
            "expectations": markdown_table(verdict.expectations.select(
                ["expectation", "column", "severity", "success", "observed", "engine"]), max_rows=80),
            "feature_missing_share": markdown_table(verdict.missing_share),
            "features_over_threshold": ", ".join(verdict.too_sparse) or "none",
        },
    )
