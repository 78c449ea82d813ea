"""Where the research graph's panel comes from: a file, the ingested snapshot store, or the synthetic market."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from quant_core.data.contracts import check_panel, feature_columns
from quant_core.data.readers import read_panel
from quant_core.data.snapshot import FeatureSnapshot, availability_map, content_hash
from quant_core.data.store import SnapshotStore


class MarketDataSource(dg.ConfigurableResource):
    """A daily panel: ``panel_path`` when given, else the store's current version, else the synthetic market."""

    panel_path: str | None = Field(
        default=None, description="Parquet or CSV long panel (date, asset, close, ...); overrides the store"
    )
    store_dir: str | None = Field(
        default=None, description="Snapshot store written by `qf ingest`; its current version is used when present"
    )
    synthetic_n_assets: int = Field(default=300, description="Synthetic market: number of assets")
    synthetic_n_days: int = Field(default=1008, description="Synthetic market: business days (~4 years)")
    synthetic_seed: int = Field(default=7, description="Synthetic market: random seed")

    def load_snapshot(self) -> FeatureSnapshot:
        """Read (and contract-check) the panel; build the Alpha158-style set when it brings no features."""
        from quant_core.features import build_features, default_feature_set

        oracle = None
        data_version = None
        store = SnapshotStore(self.store_dir) if self.store_dir else None
        if self.panel_path:
            panel = read_panel(self.panel_path)
            source = self.panel_path
        elif store is not None and store.manifest() is not None:
            manifest = store.manifest()
            panel = store.read()
            check_panel(panel, f"{Path(self.store_dir)} (version {manifest['version']})")
            source, data_version = f"store {self.store_dir} version {manifest['version']}", manifest["version"]
        else:
            from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

            market = simulate_market(SyntheticMarketConfig(
                n_assets=self.synthetic_n_assets, n_days=self.synthetic_n_days, seed=self.synthetic_seed
            ))
            panel, oracle = market.panel, market.oracle
            source = (f"synthetic(n_assets={self.synthetic_n_assets}, n_days={self.synthetic_n_days}, "
                      f"seed={self.synthetic_seed})")
        input_columns = tuple(panel.columns)
        features = feature_columns(panel)
        if not features:  # prices only: the point-in-time Alpha158-style library builds them
            panel = build_features(panel, default_feature_set(panel))
            features = feature_columns(panel)
        return FeatureSnapshot(panel=panel, features=tuple(features),
                               data_version=data_version or content_hash(panel), source=source, oracle=oracle,
                               availability=availability_map(panel, features), input_columns=input_columns)
