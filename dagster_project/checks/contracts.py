"""Data-contract check on the feature snapshots: the same suite `qf ingest` runs (polars + Great Expectations)."""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.snapshots import feature_snapshots
from quant_core.data.expectations import validate_panel
from quant_core.data.snapshot import FeatureSnapshot

MAX_MISSING_SHARE = 0.5


class ContractCheckConfig(dg.Config):
    use_great_expectations: bool = Field(default=True, description="Also run the Great Expectations suite (~4 s)")


@dg.asset_check(asset=feature_snapshots, blocking=True)
def feature_snapshots_contract(config: ContractCheckConfig, feature_snapshots: FeatureSnapshot) -> dg.AssetCheckResult:
    """The input panel passes the data contract; no feature (supplied or built) is mostly missing."""
    panel = feature_snapshots.panel
    # the contract judges what the user supplied; built features have warm-up gaps by design
    supplied = feature_snapshots.input_columns or panel.columns
    result = validate_panel(panel.select(supplied), feature_snapshots.source,
                            use_great_expectations=config.use_great_expectations)
    missing = panel.select(
        [pl.col(f).is_null().mean().alias(f) for f in feature_snapshots.features]
    ).transpose(include_header=True, header_name="feature", column_names=["missing_share"])
    too_sparse = missing.filter(pl.col("missing_share") > MAX_MISSING_SHARE)["feature"].to_list()
    return dg.AssetCheckResult(
        passed=result.passed and not too_sparse,
        metadata={
            "failures": "\n".join(result.failures) or "none",
            "warnings": "\n".join(result.warnings) or "none",
            "expectations": markdown_table(result.table.select(
                ["expectation", "column", "severity", "success", "observed", "engine"]), max_rows=80),
            "feature_missing_share": markdown_table(missing.sort("missing_share", descending=True)),
            "features_over_threshold": ", ".join(too_sparse) or "none",
        },
    )
