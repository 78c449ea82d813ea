"""Stage: the feature snapshot every research stage starts from (a file, the ingested store or
the synthetic market), with the Alpha158-style set built when the panel brings no features."""

from __future__ import annotations

from pathlib import Path

from quant_core.data.contracts import check_panel, feature_columns
from quant_core.data.readers import read_panel
from quant_core.data.snapshot import FeatureSnapshot, availability_map, content_hash
from quant_core.data.store import SnapshotStore, panel_version
from quant_core.data.synthetic import SyntheticMarketConfig

__all__ = ["load_feature_snapshot"]


def load_feature_snapshot(panel_path: str | None = None, store_dir: str | None = None,
                          synthetic: SyntheticMarketConfig | None = None) -> FeatureSnapshot:
    """``panel_path`` when given, else the store's current version, else the synthetic market.

    The panel is contract-checked on reading; when it brings no feature columns the
    point-in-time Alpha158-style library builds them from its prices.
    """
    from quant_core.features import build_features, default_feature_set

    oracle = None
    data_version = None
    store = SnapshotStore(store_dir) if store_dir else None
    if panel_path:
        panel = read_panel(panel_path)
        source = panel_path
        data_version = panel_version(panel)  # the version `qf ingest` gives the same file
    elif store is not None and store.manifest() is not None:
        manifest = store.manifest()
        panel = store.read()
        check_panel(panel, f"{Path(store_dir)} (version {manifest['version']})")
        source, data_version = f"store {store_dir} version {manifest['version']}", manifest["version"]
    else:
        from quant_core.data.synthetic import simulate_market

        config = synthetic or SyntheticMarketConfig()
        market = simulate_market(config)
        panel, oracle = market.panel, market.oracle
        source = f"synthetic(n_assets={config.n_assets}, n_days={config.n_days}, seed={config.seed})"
    input_columns = tuple(panel.columns)
    features = feature_columns(panel)
    if not features:  # prices only: the point-in-time Alpha158-style library builds them
        panel = build_features(panel, default_feature_set(panel))
        features = feature_columns(panel)
    return FeatureSnapshot(panel=panel, features=tuple(features),
                           data_version=data_version or content_hash(panel), source=source, oracle=oracle,
                           availability=availability_map(panel, features), input_columns=input_columns)
