"""Jobs by asset selection."""

import dagster as dg

research_job = dg.define_asset_job(
    "research_job",
    selection=dg.AssetSelection.groups("research"),
    description="Snapshots -> targets -> folds -> models -> validation, SHAP, ensemble (with checks).",
)

orderbook_job = dg.define_asset_job(
    "orderbook_job",
    selection=dg.AssetSelection.groups("orderbook"),
    description="Order-book snapshots (a file or the simulator) -> DeepLOB, judged on the latest events.",
)
