"""Promotion gate: the paired HAC test against scipy + statsmodels, the decision rules, CPCV paths."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from quant_core.model_selection import CombinatorialPurgedKFold
from quant_core.models import LightGBMRegressor, RidgeRegressor
from quant_core.monitoring.promotion import (
    REQUIRED_CHECKS,
    PromotionPolicy,
    clone_unfitted,
    cpcv_path_rank_ic,
    decide_promotion,
    one_sided_p,
    paired_rank_ic,
)
from quant_core.validation import hac_t_stat, newey_west_lags

ALL_PASSED = dict.fromkeys(REQUIRED_CHECKS, True)


def _oof(dates, assets, target, signal, fold=0):
    n_d, n_a = len(dates), len(assets)
    return pl.DataFrame({
        "date": np.repeat(np.array(dates, dtype="datetime64[D]"), n_a),
        "asset": np.tile(assets, n_d),
        "fold": np.full(n_d * n_a, fold, dtype=np.int64),
        "prediction": signal.ravel(),
        "target": target.ravel(),
    })


@pytest.fixture(scope="module")
def pair():
    """Champion (weak) and challenger (strong) signals on the same target with an AR(1) common
    factor, so the per-date IC difference is autocorrelated; the champion covers extra dates."""
    rng = np.random.default_rng(3)
    n_days, n_assets = 160, 30
    dates = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(n_days)]
    assets = [f"A{i:02d}" for i in range(n_assets)]
    latent = rng.standard_normal((n_days, n_assets))
    target = 0.25 * latent + rng.standard_normal((n_days, n_assets))
    shared = np.zeros((n_days, n_assets))
    for d in range(1, n_days):
        shared[d] = 0.8 * shared[d - 1] + 0.6 * rng.standard_normal(n_assets)
    champion = _oof(dates, assets, target, 0.3 * latent + shared + rng.standard_normal((n_days, n_assets)))
    challenger = _oof(dates, assets, target, latent + shared + 0.5 * rng.standard_normal((n_days, n_assets)))
    # the challenger misses the first 20 dates and one asset on every date
    challenger = challenger.filter((pl.col("date") >= pl.lit(dates[20])) & (pl.col("asset") != "A00"))
    return champion, challenger


def test_paired_rank_ic_matches_scipy_and_statsmodels(pair):
    champion, challenger = pair
    result = paired_rank_ic(champion, challenger, horizon_days=2)
    common = challenger.join(champion.select("date", "asset", pl.col("prediction").alias("champ")),
                             on=["date", "asset"])
    diffs, champ_ics, chal_ics = [], [], []
    for (_, part) in sorted(common.group_by("date"), key=lambda kv: kv[0]):
        chal_ics.append(stats.spearmanr(part["prediction"], part["target"])[0])
        champ_ics.append(stats.spearmanr(part["champ"], part["target"])[0])
        diffs.append(chal_ics[-1] - champ_ics[-1])
    diffs = np.array(diffs)
    lags = newey_west_lags(len(diffs), 2)
    ols = sm.OLS(diffs, np.ones(len(diffs))).fit(cov_type="HAC",
                                                  cov_kwds={"maxlags": lags, "use_correction": True})
    assert result.n_dates == 140 and result.n_rows == 140 * 29
    assert result.hac_lags == lags
    assert result.first_date == dt.date(2022, 1, 23)
    assert result.champion_rank_ic == pytest.approx(np.mean(champ_ics), abs=1e-12)
    assert result.challenger_rank_ic == pytest.approx(np.mean(chal_ics), abs=1e-12)
    assert result.diff_mean == pytest.approx(diffs.mean(), abs=1e-12)
    assert result.t_hac == pytest.approx(float(ols.tvalues[0]), rel=1e-9)
    # one-sided: half the project's two-sided HAC p (its reference distribution, at least as
    # conservative as the normal one statsmodels uses)
    assert result.p_value == pytest.approx(hac_t_stat(diffs, lags)[1] / 2, rel=1e-12)
    assert result.p_value >= stats.norm.sf(ols.tvalues[0]) * (1 - 1e-9)
    assert result.p_value < 0.001  # the stronger signal is clearly better


def test_paired_rank_ic_swapped_gives_the_mirror_image(pair):
    champion, challenger = pair
    forward = paired_rank_ic(champion, challenger)
    backward = paired_rank_ic(challenger, champion)
    assert backward.diff_mean == pytest.approx(-forward.diff_mean, abs=1e-12)
    assert backward.t_hac == pytest.approx(-forward.t_hac, rel=1e-12)
    assert backward.p_value > 0.999


def test_rows_predicted_by_several_folds_are_averaged_before_pairing(pair):
    champion, challenger = pair
    doubled = pl.concat([
        challenger.with_columns(pl.col("prediction") + 1.0, pl.lit(1, dtype=pl.Int64).alias("fold")),
        challenger.with_columns(pl.col("prediction") - 1.0, pl.lit(2, dtype=pl.Int64).alias("fold")),
    ])
    a = paired_rank_ic(champion, challenger)
    b = paired_rank_ic(champion, doubled)
    assert b.n_rows == a.n_rows
    assert b.diff_mean == pytest.approx(a.diff_mean, abs=1e-12)


def test_decision_rules_in_order(pair):
    champion, challenger = pair
    better = paired_rank_ic(champion, challenger)
    worse = paired_rank_ic(challenger, champion)
    first = decide_promotion(None, ALL_PASSED)
    assert first.promote and first.reason.startswith("no champion yet")
    assert decide_promotion(better, ALL_PASSED).promote
    rejected = decide_promotion(worse, ALL_PASSED)
    assert not rejected.promote and "is not above the champion's" in rejected.reason
    short = decide_promotion(better, ALL_PASSED, PromotionPolicy(min_common_dates=141))
    assert not short.promote and short.reason == "only 140 common out-of-sample dates (need >= 141)"
    strict = decide_promotion(better, ALL_PASSED, PromotionPolicy(alpha=better.p_value / 2))
    assert not strict.promote and "is not significant" in strict.reason
    big_gain = decide_promotion(better, ALL_PASSED, PromotionPolicy(min_improvement=better.diff_mean))
    assert not big_gain.promote


def test_a_failed_or_missing_check_blocks_even_a_better_or_first_challenger(pair):
    champion, challenger = pair
    better = paired_rank_ic(champion, challenger)
    leaky = {**ALL_PASSED, "targets_leakage_audit": False}
    blocked = decide_promotion(better, leaky)
    assert not blocked.promote
    assert blocked.failed_checks == ("targets_leakage_audit",)
    assert blocked.reason == "blocked: check(s) failed: targets_leakage_audit"
    partial = {"targets_leakage_audit": True, "folds_leakage_audit": True}
    missing = decide_promotion(None, partial)
    assert not missing.promote and missing.missing_checks == ("feature_snapshots_contract",)
    assert "not evaluated in this run: feature_snapshots_contract" in missing.reason
    assert missing.to_dict()["checks"] == partial


def test_one_sided_p_picks_the_tail():
    assert one_sided_p(2.0, 0.04, upper=True) == 0.02
    assert one_sided_p(2.0, 0.04, upper=False) == pytest.approx(0.98)
    assert one_sided_p(-2.0, 0.04, upper=False) == 0.02
    assert one_sided_p(0.0, 1.0, upper=True) == 0.5
    assert np.isnan(one_sided_p(float("nan"), 0.5, upper=True))


def test_policy_validates_its_parameters():
    with pytest.raises(ValueError, match="alpha must be in \\(0, 1\\), got 1.5"):
        PromotionPolicy(alpha=1.5)
    with pytest.raises(ValueError, match="min_common_dates must be >= 2, got 1"):
        PromotionPolicy(min_common_dates=1)


def test_cpcv_path_rank_ic_matches_paths_assembled_by_the_splitter():
    rng = np.random.default_rng(0)
    n_days, n_assets = 60, 12
    dates = np.array([dt.date(2023, 1, 2) + dt.timedelta(days=i) for i in range(n_days)],
                     dtype="datetime64[D]")
    row_dates = np.repeat(dates, n_assets)
    target = rng.standard_normal(n_days * n_assets)
    splitter = CombinatorialPurgedKFold(n_splits=4, n_test_splits=2)
    parts, predictions = [], []
    for split, (_, test_idx) in enumerate(splitter.split(row_dates, row_dates)):
        pred = target[test_idx] * (split + 1) * 0.1 + rng.standard_normal(test_idx.size)
        predictions.append(pred)
        parts.append(pl.DataFrame({"date": row_dates[test_idx], "asset": test_idx % n_assets,
                                   "fold": np.full(test_idx.size, split), "prediction": pred,
                                   "target": target[test_idx]}))
    table = cpcv_path_rank_ic(pl.concat(parts), splitter)
    stitched = splitter.assemble_paths(predictions, row_dates)
    assert table.height == splitter.n_paths == 3
    for path in range(splitter.n_paths):
        ics = [stats.spearmanr(stitched[path][row_dates == d], target[row_dates == d])[0] for d in dates]
        row = table.row(path, named=True)
        assert row["n_dates"] == n_days
        assert row["rank_ic_mean"] == pytest.approx(np.mean(ics), abs=1e-12)
        assert row["rank_ic_std"] == pytest.approx(np.std(ics, ddof=1), abs=1e-12)


def test_clone_unfitted_copies_the_recipe_not_the_fit():
    model = LightGBMRegressor(["a", "b"], params={"num_leaves": 3}, num_boost_round=7,
                              early_stopping_rounds=0, seed=4)
    model.booster_ = object()
    copy = clone_unfitted(model)
    assert type(copy) is LightGBMRegressor and copy is not model
    assert (copy.features, copy.params, copy.num_boost_round, copy.early_stopping_rounds, copy.seed) == (
        ["a", "b"], {"num_leaves": 3}, 7, 0, 4)
    assert not hasattr(copy, "booster_")
    assert clone_unfitted(RidgeRegressor(["a"], alpha=3.0)).alpha == 3.0

    class Forgetful:
        def __init__(self, depth):
            self.other = depth

    with pytest.raises(ValueError, match="does not store its parameter 'depth'"):
        clone_unfitted(Forgetful(3))


def test_the_net_of_cost_rule_can_veto_a_rank_ic_gain_and_is_recorded_either_way(pair):
    from quant_core.monitoring.promotion import paired_net_test

    champion, challenger = pair
    better = paired_rank_ic(champion, challenger)
    rng = np.random.default_rng(0)
    champion_net = rng.normal(1000.0, 500.0, 140)
    costlier = paired_net_test(champion_net, champion_net - 400.0 + rng.normal(0, 100.0, 140))
    cheaper = paired_net_test(champion_net, champion_net + 400.0 + rng.normal(0, 100.0, 140))
    required = PromotionPolicy(require_net_improvement=True)
    vetoed = decide_promotion(better, ALL_PASSED, required, net=costlier)
    assert not vetoed.promote and "net of costs" in vetoed.reason
    assert decide_promotion(better, ALL_PASSED, required, net=cheaper).promote
    assert decide_promotion(better, ALL_PASSED, required, net=None).promote is False
    recorded = decide_promotion(better, ALL_PASSED, net=costlier)  # not required: promoted, and the test kept
    assert recorded.promote and recorded.to_dict()["net_comparison"]["diff_mean_usd"] < 0
    # the statistic is statsmodels' Newey-West t of the daily differences on a constant (ours
    # scales the long-run variance by n/(n-1) so that zero lags give the naive t exactly)
    diff = (champion_net - 400.0 + rng.normal(0, 100.0, 140)) - champion_net
    test = paired_net_test(champion_net, champion_net + diff)
    ols = sm.OLS(diff, np.ones(diff.size)).fit(cov_type="HAC", cov_kwds={"maxlags": test.hac_lags, "use_correction": False})
    assert test.t_hac == pytest.approx(float(ols.tvalues[0]) * np.sqrt((diff.size - 1) / diff.size), rel=1e-9)


def test_the_net_test_rejects_at_about_the_nominal_rate_under_the_null():
    """400 pairs of books with equal expected net PnL and AR(1) daily differences (phi 0.3): the
    one-sided 5% test rejects in 2-9% of them (binomial 95% band around 5% for 400 draws is about
    2.9-7.3%; HAC on 250 days adds a little small-sample size distortion)."""
    from quant_core.monitoring.promotion import paired_net_test

    rng = np.random.default_rng(42)
    rejections = 0
    for _ in range(400):
        e = rng.normal(0, 1.0, 250)
        diff = np.empty(250)
        diff[0] = e[0]
        for t in range(1, 250):
            diff[t] = 0.3 * diff[t - 1] + e[t]
        base = rng.normal(0, 1.0, 250)
        rejections += paired_net_test(base, base + diff).p_value < 0.05
    assert 0.02 <= rejections / 400 <= 0.09
