import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest

from quant_core.ensemble import BLEND_METHODS, apply_blend, fit_blend, zscore_by_date

MEMBERS = ["good", "weak", "bad"]


def make_oof(n_dates=100, n_assets=30, seed=0):
    rng = np.random.default_rng(seed)
    n = n_dates * n_assets
    alpha = rng.standard_normal(n)
    target = 0.01 * alpha + 0.02 * rng.standard_normal(n)
    dates = [dt.date(2022, 1, 3) + dt.timedelta(days=i) for i in range(n_dates)]
    return pl.DataFrame(
        {
            "date": [d for d in dates for _ in range(n_assets)],
            "asset": [f"A{i:02d}" for i in range(n_assets)] * n_dates,
            "target": target,
            "good": 5.0 * (alpha + 0.5 * rng.standard_normal(n)),  # scale differs on purpose
            "weak": alpha + 3.0 * rng.standard_normal(n),
            "bad": -0.3 * alpha + rng.standard_normal(n),
        }
    )


@pytest.fixture(scope="module")
def oof():
    return make_oof()


@pytest.mark.parametrize("method", BLEND_METHODS)
def test_weights_simplex_and_dates_split(oof, method):
    res = fit_blend(oof, MEMBERS, method=method, outer_test_fraction=0.3)
    w = np.array([res.weights[m] for m in MEMBERS])
    assert list(res.weights) == MEMBERS and res.method == method
    assert abs(w.sum() - 1.0) < 1e-9 and (w >= 0).all()
    dates = oof["date"].unique().sort()
    assert res.fit_dates == (dates[0], dates[69])
    assert res.eval_dates == (dates[70], dates[-1])
    ev = res.eval_frame
    assert ev.columns == ["date", "asset", "target", "ensemble", *MEMBERS]
    assert ev["date"].min() > res.fit_dates[1]
    assert ev.height == 30 * 30


@pytest.mark.parametrize("method", BLEND_METHODS)
def test_fit_never_reads_eval_dates(oof, method):
    res = fit_blend(oof, MEMBERS, method=method)
    cut = res.fit_dates[1]
    rng = np.random.default_rng(9)
    corrupt = oof.with_columns(
        [
            pl.when(pl.col("date") > cut)
            .then(pl.Series(rng.standard_normal(oof.height) * 1e3))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ["target", *MEMBERS]
        ]
    )
    res2 = fit_blend(corrupt, MEMBERS, method=method)
    assert res2.weights == res.weights
    assert res2.fit_dates == res.fit_dates and res2.eval_dates == res.eval_dates


def test_ic_weighted_favours_good_member(oof):
    res = fit_blend(oof, MEMBERS, method="ic_weighted")
    assert max(res.weights, key=res.weights.get) == "good"
    assert res.weights["bad"] == 0.0  # negative IC clipped to zero
    ic = res.member_ic
    assert ic["good"] > ic["weak"] > 0 > ic["bad"]
    np.testing.assert_allclose(res.weights["good"], ic["good"] / (ic["good"] + ic["weak"]))


def test_ic_weighted_all_negative_falls_back_to_equal(oof):
    flipped = oof.with_columns([(-pl.col(m)).alias(m) for m in ["good", "weak"]])
    res = fit_blend(flipped, ["good", "weak"], method="ic_weighted")
    assert res.weights == {"good": 0.5, "weak": 0.5}


def test_equal_weights(oof):
    res = fit_blend(oof, MEMBERS, method="equal")
    assert all(abs(v - 1 / 3) < 1e-12 for v in res.weights.values())


def test_nnls_is_the_constrained_least_squares_optimum(oof):
    members = ["good", "weak"]
    res = fit_blend(oof, members, method="nnls")
    assert res.weights["good"] > res.weights["weak"] >= 0
    fit = oof.filter(pl.col("date") <= res.fit_dates[1])
    z = zscore_by_date(fit, ["target", *members])
    X, y = z.select(members).to_numpy(), z["target"].to_numpy()
    grid = np.linspace(0, 1, 2001)

    def best_scale_loss(w):  # min over scale s >= 0 of ||y - s X w||^2
        xw = X @ w
        s = max(y @ xw / (xw @ xw), 0.0)
        return np.sum((y - s * xw) ** 2)

    losses = [best_scale_loss(np.array([g, 1 - g])) for g in grid]
    assert abs(res.weights["good"] - grid[int(np.argmin(losses))]) < 1e-3
    res3 = fit_blend(oof, MEMBERS, method="nnls")
    assert min(res3.weights.values()) >= 0 and res3.weights["bad"] < 1e-6


def test_rank_average_invariant_to_monotone_transforms(oof):
    res = fit_blend(oof, MEMBERS, method="rank_average")
    warped = oof.with_columns(pl.col("good").exp(), (pl.col("weak") ** 3).alias("weak"))
    res2 = fit_blend(warped, MEMBERS, method="rank_average")
    np.testing.assert_allclose(res.eval_frame["ensemble"], res2.eval_frame["ensemble"], atol=1e-12)
    assert res.transform == "rank"


def test_ensemble_beats_weak_members_out_of_sample(oof):
    ev = fit_blend(oof, MEMBERS, method="ic_weighted").eval_frame
    corr = {c: np.corrcoef(ev[c], ev["target"])[0, 1] for c in ["ensemble", "weak", "bad"]}
    assert corr["ensemble"] > corr["weak"] > corr["bad"]


def test_apply_blend_reproduces_eval_frame(oof):
    res = fit_blend(oof, MEMBERS, method="nnls")
    scored = apply_blend(oof.filter(pl.col("date") > res.fit_dates[1]), res.weights, MEMBERS)
    np.testing.assert_allclose(
        scored.sort(["date", "asset"])["ensemble"], res.eval_frame["ensemble"], atol=1e-12
    )
    np.testing.assert_allclose(
        res.apply(oof)["ensemble"].to_numpy()[-900:], res.eval_frame["ensemble"], atol=1e-12
    )
    # per-date z-scoring: each date's ensemble is a weighted sum of unit-variance columns
    one = scored.filter(pl.col("date") == scored["date"][0])
    zs = [(one[m] - one[m].mean()) / one[m].std(ddof=0) for m in MEMBERS]
    manual = sum(res.weights[m] * z for m, z in zip(MEMBERS, zs, strict=True))
    np.testing.assert_allclose(one["ensemble"], manual, atol=1e-12)


def test_nulls_count_as_cross_sectional_mean(oof):
    holed = oof.with_columns(
        pl.when(pl.col("asset") == "A00").then(None).otherwise(pl.col("weak")).alias("weak")
    )
    out = apply_blend(holed, {"weak": 1.0}, ["weak"])
    assert (out.filter(pl.col("asset") == "A00")["ensemble"] == 0.0).all()


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"method": "magic"}, "method must be one of"),
        ({"outer_test_fraction": 1.0}, "outer_test_fraction must be in"),
        ({"members": ["good", "nope"]}, r"missing columns \['nope'\]"),
        ({"members": []}, "at least one"),
    ],
)
def test_errors(oof, kwargs, msg):
    args = {"members": MEMBERS, **kwargs}
    with pytest.raises(ValueError, match=msg):
        fit_blend(oof, **args)


def test_too_few_dates():
    tiny = make_oof(n_dates=1, n_assets=5)
    with pytest.raises(ValueError, match="need >= 1 of each"):
        fit_blend(tiny, MEMBERS)
    assert list(itertools.islice(BLEND_METHODS, 1)) == ["equal"]


def test_member_ic_is_the_mean_of_ic_series_on_the_fit_dates(oof):
    """One per-date Rank IC in the project: a member's IC is ``ic_series`` (every date with
    two or more complete pairs) averaged over the fit dates."""
    from quant_core.validation import ic_series

    res = fit_blend(oof, MEMBERS, method="ic_weighted", outer_test_fraction=0.3)
    fit = oof.filter(pl.col("date") <= res.fit_dates[1])
    for m in MEMBERS:
        want = ic_series(fit, m, "target", method="spearman", min_assets=2)["ic"].mean()
        assert res.member_ic[m] == want
