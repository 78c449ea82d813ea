"""A small synthetic market and LightGBM fold models shared by the explain tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarket, SyntheticMarketConfig, simulate_market
from quant_core.model_selection import WalkForward
from quant_core.models import FoldwiseResult, LightGBMRegressor, train_foldwise
from quant_core.targets import forward_returns

# Enough stressed days (stationary share 0.03 / (0.03 + 0.05) = 0.375) that sig_stress pays.
MARKET = SyntheticMarketConfig(
    n_assets=100, n_days=420, p_stay_calm=0.97, p_stay_stressed=0.95, seed=11
)


@dataclass
class Fitted:
    market: SyntheticMarket
    frame: pl.DataFrame
    features: list[str]
    splits: list[tuple[np.ndarray, np.ndarray]]
    result: FoldwiseResult


@pytest.fixture(scope="session")
def fitted() -> Fitted:
    market = simulate_market(MARKET)
    frame = market.panel.join(forward_returns(market.panel), on=["date", "asset"]).sort(
        ["date", "asset"]
    )
    features = list(market.feature_names)
    splitter = WalkForward(n_splits=2, min_train_days=220, embargo_days=2)
    splits = list(splitter.split(frame["date"].to_numpy(), frame["label_end"].to_numpy()))
    result = train_foldwise(
        frame,
        splits,
        lambda: LightGBMRegressor(
            features,
            num_boost_round=60,
            num_threads=1,
            params={"num_leaves": 15, "min_data_in_leaf": 100},
        ),
    )
    return Fitted(market, frame, features, splits, result)
