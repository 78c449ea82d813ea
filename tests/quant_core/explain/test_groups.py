import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.explain import feature_groups, group_contributions, group_shap, shap_to_frame
from quant_core.validation import ic_series

FEATURES = ["mom_5d", "mom_20d", "rev_5d", "vol_20d", "volume_z_20d", "beta"]


def test_default_prefixes_and_overrides():
    g = feature_groups(FEATURES)
    assert g == {
        "momentum": ["mom_5d", "mom_20d"],
        "reversal": ["rev_5d"],
        "volatility": ["vol_20d"],
        "volume": ["volume_z_20d"],  # the longer prefix "volume_" wins over "vol_"
        "other": ["beta"],
    }
    g2 = feature_groups(FEATURES, groups={"risk": ["vol_20d", "beta"]}, other="misc")
    assert g2["risk"] == ["vol_20d", "beta"] and "volatility" not in g2 and "misc" not in g2
    g3 = feature_groups(["a_1", "b_1"], prefixes={"a_": "A"})
    assert g3 == {"A": ["a_1"], "other": ["b_1"]}
    with pytest.raises(ValueError, match="is in groups"):
        feature_groups(FEATURES, groups={"x": ["beta"], "y": ["beta"]})
    with pytest.raises(ValueError, match="not in features"):
        feature_groups(FEATURES, groups={"x": ["nope"]})


@pytest.fixture(scope="module")
def shap_frame():
    rng = np.random.default_rng(0)
    n_dates, n_assets, f = 40, 30, len(FEATURES)
    n = n_dates * n_assets
    sv = rng.standard_normal((n, f)) * np.array([1.0, 0.5, 0.8, 0.3, 0.2, 0.1])
    sv = np.hstack([sv, np.full((n, 1), 0.7)])  # expected value column
    target = 0.5 * sv[:, 0] - 0.3 * sv[:, 2] + rng.standard_normal(n)
    dates = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(n_dates)]
    rows = pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(n_assets)],
            "asset": [f"A{i}" for i in range(n_assets)] * n_dates,
            "target": target,
        }
    )
    return shap_to_frame(sv, rows, FEATURES)


def test_group_shap_sums_family_columns(shap_frame):
    groups = feature_groups(FEATURES)
    gs = group_shap(shap_frame, groups)
    assert gs.columns == ["date", "asset", "target", "base_value", "prediction", *groups]
    np.testing.assert_allclose(gs["momentum"], shap_frame["mom_5d"] + shap_frame["mom_20d"])
    total = gs.select(pl.sum_horizontal(list(groups))).to_series() + gs["base_value"]
    np.testing.assert_allclose(total, gs["prediction"], atol=1e-12)


def test_variance_and_ic_decompositions_are_exact(shap_frame):
    groups = feature_groups(FEATURES)
    table = group_contributions(shap_frame, groups)
    assert table.columns == [
        "group",
        "n_features",
        "features",
        "mean_abs_contribution",
        "variance_share",
        "ic_contribution",
        "ic_share",
        "standalone_rank_ic",
    ]
    assert table["variance_share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert table["ic_share"].sum() == pytest.approx(1.0, abs=1e-12)
    # the IC contributions add up to the prediction's mean per-date Pearson IC
    pearson = ic_series(shap_frame, "prediction", method="pearson")["ic"].mean()
    assert table["ic_contribution"].sum() == pytest.approx(pearson, abs=1e-12)
    # independent numpy check of one family's variance share and IC contribution
    gs = group_shap(shap_frame, groups).to_pandas()
    dm = gs.groupby("date")[["momentum", "prediction", "target"]].transform(lambda s: s - s.mean())
    share = (dm["momentum"] * dm["prediction"]).sum() / (dm["prediction"] ** 2).sum()
    per_date = (
        dm.assign(date=gs["date"])
        .groupby("date")
        .apply(
            lambda d: (
                np.mean(d["momentum"] * d["target"])
                / (d["prediction"].std(ddof=0) * d["target"].std(ddof=0))
            ),
            include_groups=False,
        )
    )
    row = table.filter(pl.col("group") == "momentum").row(0, named=True)
    assert row["variance_share"] == pytest.approx(share, rel=1e-10)
    assert row["ic_contribution"] == pytest.approx(per_date.mean(), rel=1e-10)
    assert row["standalone_rank_ic"] == pytest.approx(
        ic_series(group_shap(shap_frame, groups), "momentum")["ic"].mean(), rel=1e-12
    )
    assert row["n_features"] == 2 and row["features"] == "mom_5d,mom_20d"
    # momentum carries the planted target loading, the reversal family's sign is negative
    assert row["ic_contribution"] > 0
    rev = table.filter(pl.col("group") == "reversal").row(0, named=True)
    assert rev["ic_contribution"] < 0 and rev["standalone_rank_ic"] < 0
    assert table["group"][0] == "momentum"  # sorted by mean |contribution|


def test_without_target_ic_columns_are_null(shap_frame):
    table = group_contributions(shap_frame.drop("target"), feature_groups(FEATURES))
    assert table["ic_contribution"].null_count() == table.height
    assert table["variance_share"].sum() == pytest.approx(1.0)


def test_errors(shap_frame):
    with pytest.raises(ValueError, match="more than one group"):
        group_contributions(shap_frame, {"a": ["beta"], "b": ["beta"]})
    with pytest.raises(ValueError, match="missing columns"):
        group_contributions(shap_frame, {"a": ["nope"]})
    with pytest.raises(ValueError, match="at least one"):
        group_shap(shap_frame, {})
