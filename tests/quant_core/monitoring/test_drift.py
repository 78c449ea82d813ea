import numpy as np
import polars as pl
import pytest
from scipy.stats import ks_2samp

from quant_core.monitoring import PSI_EPS, feature_drift, psi


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def test_psi_identical_is_zero_and_same_distribution_small(rng):
    x = rng.standard_normal(5000)
    assert psi(x, x) == 0.0
    assert psi(x, rng.standard_normal(5000)) < 0.02


def test_psi_shift_is_large(rng):
    x = rng.standard_normal(5000)
    assert psi(x, x + 1.0) > 0.25
    assert psi(x, x * 3.0) > 0.25
    assert 0.0 < psi(x, x + 0.1) < 0.1


def test_psi_hand_computed():
    ref = np.arange(100.0)  # quartile edges 24.75, 49.5, 74.25 -> 25 per bin
    cur = np.array([0.0] * 50 + [60.0] * 30 + [99.0] * 20)  # shares .5, 0, .3, .2
    r = np.array([0.25, 0.25, 0.25, 0.25])
    c = np.array([0.5, PSI_EPS, 0.3, 0.2])
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert psi(ref, cur, n_bins=4) == pytest.approx(expected, rel=1e-12)


def test_psi_drops_nulls_and_validates():
    ref = pl.Series([1.0, 2.0, None, 3.0, 4.0, float("nan")])
    assert psi(ref, [1.0, 2.0, 3.0, 4.0], n_bins=2) == 0.0
    with pytest.raises(ValueError, match="n_bins must be >= 2, got 1"):
        psi([1.0, 2.0], [1.0], n_bins=1)
    with pytest.raises(ValueError, match="current has no finite values"):
        psi([1.0, 2.0], [None, float("nan")])


def test_feature_drift_table_matches_scipy(rng):
    n = 2000
    ref = pl.DataFrame({"a": rng.standard_normal(n), "b": rng.standard_normal(n)})
    b_cur = rng.standard_normal(n) + 0.8
    b_cur[:100] = np.nan
    cur = pl.DataFrame({"a": rng.standard_normal(n), "b": b_cur}).with_columns(
        pl.col("b").fill_nan(None)
    )
    out = feature_drift(ref, cur, ["a", "b"])
    assert out.columns[:4] == ["feature", "psi", "ks_stat", "ks_pvalue"]
    assert out["feature"].to_list() == ["a", "b"]
    for row in out.iter_rows(named=True):
        r = ref[row["feature"]].drop_nulls().to_numpy()
        c = cur[row["feature"]].drop_nulls().to_numpy()
        ks = ks_2samp(r, c)
        assert row["ks_stat"] == pytest.approx(ks.statistic, abs=1e-12)
        assert row["ks_pvalue"] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
        assert row["psi"] == pytest.approx(psi(r, c), abs=1e-12)
    a, b = out.row(0, named=True), out.row(1, named=True)
    assert b["n_current"] == n - 100
    assert a["psi"] < 0.1 and b["psi"] > 0.25 and b["ks_pvalue"] < 1e-6 < a["ks_pvalue"]


def test_feature_drift_missing_and_empty():
    ref = pl.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"current is missing feature columns \['a'\]"):
        feature_drift(ref, pl.DataFrame({"x": [1.0]}), ["a"])
    out = feature_drift(ref, pl.DataFrame({"a": [None, None]}, schema={"a": pl.Float64}), ["a"])
    assert out["psi"][0] is None and out["n_current"][0] == 0
