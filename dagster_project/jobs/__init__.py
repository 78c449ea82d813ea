"""Jobs by asset selection."""

import dagster as dg

research_job = dg.define_asset_job(
    "research_job",
    selection=dg.AssetSelection.groups("research"),
    description="Snapshots -> targets -> folds -> models -> validation, SHAP, ensemble (with checks).",
)
