"""Feature snapshots and the drift reference taken from them."""

import os

import dagster as dg
import polars as pl

from dagster_project.assets.metadata import markdown_table
from dagster_project.resources import MarketDataSource, ProjectState
from quant_core.data.snapshot import FeatureSnapshot


class DriftReferenceConfig(dg.Config):
    reference_days: int = 126


@dg.asset(group_name="research")
def feature_snapshots(context: dg.AssetExecutionContext, market_data: MarketDataSource) -> dg.Output:
    """Contract-checked daily panel of features keyed by (date, asset), with its data version."""
    snapshot = market_data.load_snapshot()
    context.log.info(f"loaded {snapshot.source}: {snapshot.panel.height} rows, data version {snapshot.data_version}")
    dates = snapshot.panel["date"]
    return dg.Output(
        snapshot,
        data_version=dg.DataVersion(snapshot.data_version),
        metadata={
            "source": snapshot.source,
            "data_version": snapshot.data_version,
            "n_rows": snapshot.panel.height,
            "n_dates": snapshot.n_dates,
            "n_assets": snapshot.n_assets,
            "first_date": str(dates.min()),
            "last_date": str(dates.max()),
            "features": markdown_table(pl.DataFrame({"feature": list(snapshot.features)})),
        },
    )


@dg.asset(group_name="research")
def drift_reference(config: DriftReferenceConfig, feature_snapshots: FeatureSnapshot,
                    state: ProjectState) -> dg.MaterializeResult:
    """The newest training dates' features, saved as the reference the drift sensor compares with."""
    panel = feature_snapshots.panel
    last_dates = panel["date"].unique().sort().tail(config.reference_days)
    reference = panel.filter(pl.col("date").is_in(last_dates.implode())).select(
        ["date", "asset", *feature_snapshots.features]
    )
    path = state.drift_reference_path
    tmp = path.with_suffix(".tmp")
    reference.write_parquet(tmp)
    os.replace(tmp, path)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "n_rows": reference.height,
        "first_date": str(last_dates.min()),
        "last_date": str(last_dates.max()),
        "data_version": feature_snapshots.data_version,
    })
