"""Feature snapshots: the checked panel every research stage starts from."""

import dagster as dg
import polars as pl

from dagster_project.metadata import markdown_table
from dagster_project.resources import MarketDataSource


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
