"""Data-contract checks on the feature snapshots."""

import dagster as dg
import polars as pl

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.snapshots import feature_snapshots
from quant_core.data.contracts import DataContractError, check_panel
from quant_core.data.snapshot import FeatureSnapshot

MAX_MISSING_SHARE = 0.5


@dg.asset_check(asset=feature_snapshots, blocking=True)
def feature_snapshots_contract(feature_snapshots: FeatureSnapshot) -> dg.AssetCheckResult:
    """Keys unique, prices positive, features finite, and no feature mostly missing."""
    panel = feature_snapshots.panel
    try:
        check_panel(panel, feature_snapshots.source)
    except DataContractError as exc:
        return dg.AssetCheckResult(passed=False, metadata={"error": str(exc)})
    missing = panel.select(
        [pl.col(f).is_null().mean().alias(f) for f in feature_snapshots.features]
    ).transpose(include_header=True, header_name="feature", column_names=["missing_share"])
    too_sparse = missing.filter(pl.col("missing_share") > MAX_MISSING_SHARE)["feature"].to_list()
    return dg.AssetCheckResult(
        passed=not too_sparse,
        metadata={
            "missing_share": markdown_table(missing.sort("missing_share", descending=True)),
            "features_over_threshold": ", ".join(too_sparse) or "none",
            "max_missing_share": MAX_MISSING_SHARE,
        },
    )
