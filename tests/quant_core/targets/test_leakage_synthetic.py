"""The leakage audit on the synthetic market: it flags a planted leak and passes every honest feature."""

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
from quant_core.model_selection import PurgedKFold, WalkForward
from quant_core.targets import audit_feature_leakage, forward_returns, verify_splits


@pytest.fixture(scope="module")
def frame():
    market = simulate_market(SyntheticMarketConfig(n_assets=100, n_days=400, seed=5))
    labels = forward_returns(market.panel, horizon_days=5, lag_days=1)
    frame = market.panel.join(labels, on=["date", "asset"], how="inner").sort(["date", "asset"])
    rng = np.random.default_rng(1)
    # a feature built from the future: the target itself plus noise of the same size
    leak = frame["target"].to_numpy() + rng.normal(0, frame["target"].std(), frame.height)
    return frame.with_columns(pl.Series("peek", leak)), market


def test_planted_leak_is_flagged_and_the_honest_features_pass(frame):
    frame, market = frame
    audit = audit_feature_leakage(frame, [*market.feature_names, "peek"])
    assert audit.flagged_features == ["peek"]
    assert not audit.passed
    honest = audit_feature_leakage(frame, list(market.feature_names))
    assert honest.passed and honest.flagged_features == []
    table = honest.table.sort("mean_ic", descending=True)
    assert 0.0 < table["mean_ic"][0] < 0.15  # the best planted signal: realistic, not a leak


@pytest.mark.parametrize("splitter", [WalkForward(n_splits=4, min_train_days=150, embargo_days=5),
                                      PurgedKFold(n_splits=5, embargo_days=5)])
def test_splits_of_the_synthetic_market_pass_the_split_audit(frame, splitter):
    frame, _ = frame
    dates = frame["date"].to_numpy().astype("datetime64[D]")
    label_end = frame["label_end"].to_numpy().astype("datetime64[D]")
    splits = list(splitter.split(dates, label_end))
    assert verify_splits(dates, label_end, splits, embargo_days=5).passed
    # dropping the purge (taking every non-test row as train) is caught, fold by fold
    naive = [(np.setdiff1d(np.arange(len(dates)), test), test) for _, test in splits]
    if isinstance(splitter, WalkForward):
        naive = [(np.flatnonzero(dates < dates[test].min()), test) for _, test in splits]
    audit = verify_splits(dates, label_end, naive, embargo_days=5)
    assert not audit.passed
    assert all(p.startswith("fold ") for p in audit.problems)
