import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.explain import (
    fold_shap,
    importance_stability,
    kendall_w,
    mean_abs_shap_by_fold,
    mean_pairwise_spearman,
    windowed_mean_abs_shap,
)


def long_table(matrix, items=None):
    n, m = matrix.shape
    items = items or [f"f{i}" for i in range(n)]
    return pl.DataFrame(
        {
            "fold": [j for i in range(n) for j in range(m)],
            "feature": [items[i] for i in range(n) for _ in range(m)],
            "mean_abs_shap": matrix.ravel(),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kendall_w_matches_friedman_chi2(seed):
    rng = np.random.default_rng(seed)
    mat = rng.integers(0, 5, size=(7, 4)).astype(float)  # integer values: many ties
    # Friedman's statistic (tie-corrected, as scipy computes it) is m (n - 1) W
    chi2 = stats.friedmanchisquare(*mat).statistic  # groups = items, blocks = raters
    assert kendall_w(mat) == pytest.approx(chi2 / (4 * (7 - 1)), rel=1e-12)


def test_mean_pairwise_spearman_matches_scipy():
    rng = np.random.default_rng(3)
    mat = rng.standard_normal((8, 5))
    mean, corr = mean_pairwise_spearman(mat)
    ref = stats.spearmanr(mat).statistic
    np.testing.assert_allclose(corr, ref, atol=1e-12)
    assert mean == pytest.approx(ref[np.triu_indices(5, 1)].mean(), rel=1e-12)
    # without ties, W = ((m - 1) * mean rho + 1) / m
    assert kendall_w(mat) == pytest.approx((4 * mean + 1) / 5, rel=1e-12)


def test_identical_rankings_are_stable_and_reversed_ones_are_flagged():
    base = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    same = importance_stability(long_table(np.column_stack([base, 2 * base, base + 1])))
    assert same.kendall_w == pytest.approx(1.0) and same.mean_spearman == pytest.approx(1.0)
    assert same.stable and same.message.startswith("stable")
    assert same.ranks.columns == ["item", "0", "1", "2"]
    assert same.ranks.filter(pl.col("item") == "f0").row(0)[1:] == (1, 1, 1)
    flip = importance_stability(long_table(np.column_stack([base, base[::-1]])))
    assert flip.mean_spearman == pytest.approx(-1.0) and flip.kendall_w == pytest.approx(0.0)
    assert not flip.stable and "UNSTABLE" in flip.message
    assert flip.pairwise.row(0) == ("0", "1", pytest.approx(-1.0))
    by_w = importance_stability(
        long_table(np.column_stack([base, base[::-1]])), metric="kendall_w", threshold=0.0
    )
    assert by_w.stable and by_w.metric == "kendall_w"


def test_stability_errors():
    t = long_table(np.ones((3, 2)) + np.arange(3)[:, None])
    with pytest.raises(ValueError, match="duplicate"):
        importance_stability(pl.concat([t, t]))
    with pytest.raises(ValueError, match="score every"):
        importance_stability(t.filter(~((pl.col("fold") == 1) & (pl.col("feature") == "f0"))))
    with pytest.raises(ValueError, match="metric must be one of"):
        importance_stability(t, metric="tau")
    with pytest.raises(ValueError, match="n_items >= 2"):
        kendall_w(np.ones((1, 3)))


def test_windowed_mean_abs_shap_exact():
    dates = [dt.date(2022, 1, 1) + dt.timedelta(days=i) for i in range(7)]
    frame = pl.DataFrame(
        {"date": [d for d in dates for _ in range(2)], "a": np.arange(14.0) - 7.0, "b": 1.0}
    )
    out = windowed_mean_abs_shap(frame, ["a", "b"], window_days=3)
    # windows of 3 dates; the last window (1 date < 3/2) is merged into the second
    assert out["window"].unique().sort().to_list() == [0, 1]
    a = out.filter(pl.col("feature") == "a")
    np.testing.assert_allclose(
        a["mean_abs_shap"], [np.mean([7, 6, 5, 4, 3, 2]), np.mean([1, 0, 1, 2, 3, 4, 5, 6])]
    )
    assert a["window_start"].to_list() == [dates[0], dates[3]]
    assert a["window_end"].to_list() == [dates[2], dates[6]]


def test_fold_and_time_stability_on_synthetic_market(fitted):
    sf = fold_shap(
        fitted.result.models, fitted.frame, fitted.splits, fitted.features, max_rows_per_fold=1500
    )
    by_fold = importance_stability(mean_abs_shap_by_fold(sf, fitted.features))
    assert by_fold.n_raters == 2 and by_fold.n_items == 8
    assert by_fold.stable and by_fold.mean_spearman > 0.7
    over_time = importance_stability(
        windowed_mean_abs_shap(sf, fitted.features, window_days=40), rater_col="window"
    )
    assert over_time.n_raters >= 3 and over_time.stable
    # the planted signals take the top ranks in every fold
    top = mean_abs_shap_by_fold(sf, fitted.features).filter(pl.col("rank") <= 4)
    assert set(top["feature"]) == set(fitted.market.signal_names)
