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

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.groups("research", "promotion"),
    description="The research graph, then the promotion gate and (if it passes) the new champion.",
)

daily_scoring_job = dg.define_asset_job(
    "daily_scoring_job",
    selection=dg.AssetSelection.groups("live"),
    description="One landed day: snapshot, champion scores, drift report and realised IC.",
)

weekly_revalidation_job = dg.define_asset_job(
    "weekly_revalidation_job",
    selection=dg.AssetSelection.assets("feature_snapshots", "targets", "champion_revalidation"),
    description="Newest data, contract and leakage checks, then the champion re-validated with CPCV.",
)

ALL_JOBS = [research_job, orderbook_job, retrain_job, daily_scoring_job, weekly_revalidation_job]
