"""A small synthetic market for the torch families, and torch kept to one thread per test."""

from __future__ import annotations

import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.model_selection import WalkForward
from quant_core.targets import forward_returns

FEATURES = [
    "sig_fast", "sig_slow", "sig_calm", "sig_stress", "noise_1", "noise_2", "noise_3", "noise_4",
]  # fmt: skip

#: fast, deterministic training knobs for every test (one CPU thread, no progress bar)
FAST = {"max_epochs": 5, "patience": 2, "num_threads": 1, "progress": "off", "device": "cpu"}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def market_frame() -> pl.DataFrame:
    """40 assets x 240 business days: features joined with the 1-day forward return (lag 1)."""
    market = simulate_market(SyntheticMarketConfig(n_assets=40, n_days=240, seed=3))
    assert list(market.feature_names) == FEATURES
    targets = forward_returns(market.panel, horizon_days=1, lag_days=1)
    return (
        market.panel.select("date", "asset", *FEATURES)
        .join(targets, on=["date", "asset"], how="inner")
        .sort(["date", "asset"])
    )


@pytest.fixture(scope="session")
def splits(market_frame):
    """Two walk-forward test blocks after 132 training dates, embargoed by the label horizon."""
    wf = WalkForward(n_splits=2, min_train_days=132, embargo_days=1)
    return list(wf.split(market_frame["date"].to_numpy(), market_frame["label_end"].to_numpy()))


@pytest.fixture(scope="session")
def features() -> list[str]:
    return list(FEATURES)


@pytest.fixture(scope="session")
def fast() -> dict:
    return dict(FAST)


@pytest.fixture(scope="session")
def by_dates():
    """``by_dates(frame, first, last)``: rows on the first..last-th (0-based, inclusive) date."""

    def select(frame: pl.DataFrame, first: int, last: int) -> pl.DataFrame:
        dates = frame["date"].unique().sort()
        return frame.filter(pl.col("date").is_between(dates[first], dates[last]))

    return select
