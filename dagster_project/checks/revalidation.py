"""The weekly re-validation's verdict: a warning when any CPCV path of the champion loses money."""

import dagster as dg

from dagster_project.assets.lifecycle.revalidation import champion_revalidation
from dagster_project.types import RevalidationSummary


@dg.asset_check(asset=champion_revalidation)
def champion_revalidation_check(champion_revalidation: RevalidationSummary) -> dg.AssetCheckResult:
    """Every CPCV backtest path of the champion's recipe has a positive mean Rank IC."""
    result = champion_revalidation.result
    return dg.AssetCheckResult(
        passed=result.min_path_rank_ic > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"min_path_rank_ic": result.min_path_rank_ic, "median_path_rank_ic": result.median_path_rank_ic,
                  "share_positive_paths": result.share_positive_paths,
                  "champion_version": champion_revalidation.champion_version},
    )
