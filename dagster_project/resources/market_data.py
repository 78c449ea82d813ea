"""Where the research graph's panel comes from: a file, the ingested snapshot store, or the synthetic market."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from quant_core.data.snapshot import FeatureSnapshot
from quant_core.data.synthetic import SyntheticMarketConfig


class MarketDataSource(dg.ConfigurableResource):
    """A daily panel: ``panel_path`` when given, else the store's current version, else the synthetic market."""

    panel_path: str | None = Field(
        default=None, description="Parquet or CSV long panel (date, asset, close, ...); overrides the store"
    )
    store_dir: str | None = Field(
        default=None, description="Snapshot store written by `qf ingest`; its current version is used when present"
    )
    synthetic_n_assets: int = Field(default=SyntheticMarketConfig.n_assets, description="Synthetic market: number of assets")
    synthetic_n_days: int = Field(default=SyntheticMarketConfig.n_days, description="Synthetic market: business days (~4 years)")
    synthetic_seed: int = Field(default=SyntheticMarketConfig.seed, description="Synthetic market: random seed")

    def load_snapshot(self) -> FeatureSnapshot:
        """Read (and contract-check) the panel; build the Alpha158-style set when it brings no features."""
        from quant_core.stages import load_feature_snapshot

        synthetic = SyntheticMarketConfig(n_assets=self.synthetic_n_assets, n_days=self.synthetic_n_days,
                                          seed=self.synthetic_seed)
        return load_feature_snapshot(self.panel_path, self.store_dir, synthetic)
