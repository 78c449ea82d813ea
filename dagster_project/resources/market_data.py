"""Where the research graph's panel comes from: a user's file, or the built-in synthetic market."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from quant_core.data.contracts import feature_columns
from quant_core.data.readers import read_panel
from quant_core.data.snapshot import FeatureSnapshot, availability_map, content_hash


class MarketDataSource(dg.ConfigurableResource):
    """A daily panel: ``panel_path`` when given, else the seeded synthetic market."""

    panel_path: str | None = Field(
        default=None, description="Parquet or CSV long panel (date, asset, close, ...); None = synthetic market"
    )
    synthetic_n_assets: int = Field(default=300, description="Synthetic market: number of assets")
    synthetic_n_days: int = Field(default=1008, description="Synthetic market: business days (~4 years)")
    synthetic_seed: int = Field(default=7, description="Synthetic market: random seed")

    def load_snapshot(self) -> FeatureSnapshot:
        """Read (and contract-check) the panel; build price features when it brings none."""
        from quant_core.features.price import price_features

        oracle = None
        if self.panel_path:
            panel = read_panel(self.panel_path)
            source = self.panel_path
        else:
            from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

            market = simulate_market(SyntheticMarketConfig(
                n_assets=self.synthetic_n_assets, n_days=self.synthetic_n_days, seed=self.synthetic_seed
            ))
            panel, oracle = market.panel, market.oracle
            source = (f"synthetic(n_assets={self.synthetic_n_assets}, n_days={self.synthetic_n_days}, "
                      f"seed={self.synthetic_seed})")
        features = feature_columns(panel)
        if not features:
            panel = price_features(panel)
            features = feature_columns(panel)
        return FeatureSnapshot(panel=panel, features=tuple(features), data_version=content_hash(panel),
                               source=source, oracle=oracle, availability=availability_map(panel, features))
