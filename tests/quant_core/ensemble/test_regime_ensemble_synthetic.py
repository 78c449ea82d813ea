"""End to end on the synthetic market: regime routing beats every member and the static blend.

Setup (fixed seeds; the margins below are about half of those measured at this seed):

* market: 200 assets x 1000 business days, regimes with P(stay calm) 0.97 and P(stay
  stressed) 0.95 (stationary stressed share 3/8), and three planted signals whose pay-off
  depends on the regime: ``sig_fast`` works in both, ``sig_calm`` works in calm markets and
  reverses mildly in stress, ``sig_stress`` works in stress only;
* members: one ridge model per signal, trained fold-wise (walk-forward, 4 folds, 2-day
  embargo), so every member prediction is out of fold;
* ensembles, fitted on the first half of the out-of-fold dates only: the static IC-weighted
  blend, and per-regime IC-weighted blends routed by a point-in-time regime detector (HMM
  with filtered probabilities, or a realised-vol threshold) fitted on the same dates;
* judged on the second half: mean per-date Rank IC of each signal on the same dates.

Measured at seed 0 (held-out mean Rank IC): HMM routing 0.0728, threshold routing 0.0673,
static blend 0.0612, members 0.041 / 0.041 / 0.024. Over seeds 0-5 the HMM router beat the
static blend on every seed (paired t of the daily IC difference 2.4 to 6.3).
"""

import numpy as np
import polars as pl
import pytest

from quant_core.data.synthetic import PlantedSignal, SyntheticMarketConfig, simulate_market
from quant_core.ensemble import (
    HMMRegimeDetector,
    ThresholdRegimeDetector,
    fit_regime_blend,
    fit_stacking,
    market_state,
    outer_split,
)
from quant_core.model_selection import WalkForward
from quant_core.models import RidgeRegressor, train_foldwise
from quant_core.targets import forward_returns
from quant_core.validation import ic_series, ic_summary

SIGNALS = (
    PlantedSignal("sig_fast", persistence=0.5, strength_calm=0.05, strength_stressed=0.05),
    PlantedSignal("sig_calm", persistence=0.8, strength_calm=0.09, strength_stressed=-0.04),
    PlantedSignal("sig_stress", persistence=0.8, strength_calm=0.0, strength_stressed=0.12),
)
CONFIG = SyntheticMarketConfig(
    n_assets=200, n_days=1000, p_stay_calm=0.97, p_stay_stressed=0.95, seed=0, signals=SIGNALS
)
MEMBERS = {"fast": ["sig_fast"], "calm": ["sig_calm"], "stress": ["sig_stress"]}
OUTER = 0.5


@pytest.fixture(scope="module")
def setup():
    market = simulate_market(CONFIG)
    frame = market.panel.join(forward_returns(market.panel), on=["date", "asset"]).sort(
        ["date", "asset"]
    )
    splitter = WalkForward(n_splits=4, min_train_days=150, embargo_days=2)
    splits = list(splitter.split(frame["date"].to_numpy(), frame["label_end"].to_numpy()))
    wide = None
    for name, feats in MEMBERS.items():
        oof = train_foldwise(frame, splits, lambda f=feats: RidgeRegressor(f)).oof
        part = oof.select("date", "asset", "target", pl.col("prediction").alias(name))
        wide = part if wide is None else wide.join(part.drop("target"), on=["date", "asset"])
    last_fit = outer_split(wide["date"], OUTER)
    return market, wide, last_fit


def detect(market, last_fit, kind, panel=None):
    states = market_state(market.panel if panel is None else panel, vol_window_days=10)
    det = HMMRegimeDetector() if kind == "hmm" else ThresholdRegimeDetector(vol_quantile=0.6)
    return det.fit(states, last_fit).predict(states)


def mean_ic(frame, col):
    return float(ic_series(frame, col)["ic"].mean())


def test_both_regimes_appear_in_fit_and_eval_periods(setup):
    market, wide, last_fit = setup
    dates = wide.select("date").unique()
    truth = dates.join(market.regimes, on="date")
    for period in (pl.col("date") <= last_fit, pl.col("date") > last_fit):
        share = truth.filter(period)["regime"].eq("stressed").mean()
        assert 0.2 < share < 0.6


@pytest.mark.parametrize("kind, margin, min_t", [("hmm", 0.005, 2.0), ("threshold", 0.003, None)])
def test_regime_routing_beats_every_member_and_the_static_blend(setup, kind, margin, min_t):
    market, wide, last_fit = setup
    regimes = detect(market, last_fit, kind)
    res = fit_regime_blend(wide, list(MEMBERS), regimes, outer_test_fraction=OUTER)
    assert res.fit_dates[1] == last_fit
    ev = res.eval_frame
    ic = {c: mean_ic(ev, c) for c in ["ensemble", "static", *MEMBERS]}
    assert ic["ensemble"] > ic["static"] + margin, ic
    assert ic["ensemble"] > max(ic[m] for m in MEMBERS) + 0.02, ic
    # with the HMM the daily gain over the static blend is significant (Newey-West t of the
    # IC difference: 3.7 at this seed); the lagging vol threshold's gain is smaller (t 1.9)
    if min_t is not None:
        diff = ic_series(ev, "ensemble").join(ic_series(ev, "static"), on="date", suffix="_s")
        t_hac = ic_summary(diff["ic"] - diff["ic_s"], n_boot=0).t_hac
        assert t_hac > min_t, t_hac
    # routing shifts weight to the signal that pays in each regime
    w = {(r["regime"], r["member"]): r["weight"] for r in res.routing.iter_rows(named=True)}
    assert w[("stressed", "stress")] > w[("calm", "stress")]
    assert w[("calm", "calm")] > w[("stressed", "calm")]


def test_stack_with_regime_probability_beats_stack_without(setup):
    market, wide, last_fit = setup
    regimes = detect(market, last_fit, "hmm")
    feats = regimes.select("date", "p_stressed")
    plain = fit_stacking(wide, list(MEMBERS), outer_test_fraction=OUTER)
    switching = fit_stacking(wide, list(MEMBERS), regime_features=feats, outer_test_fraction=OUTER)
    assert mean_ic(switching.eval_frame, "ensemble") > mean_ic(plain.eval_frame, "ensemble") + 0.005


def test_routing_is_unchanged_when_everything_after_the_fit_dates_is_replaced(setup):
    market, wide, last_fit = setup
    regimes = detect(market, last_fit, "hmm")
    res = fit_regime_blend(wide, list(MEMBERS), regimes, outer_test_fraction=OUTER)
    rng = np.random.default_rng(0)
    later = pl.col("date") > last_fit
    junk_panel = market.panel.with_columns(
        pl.when(later)
        .then(pl.Series(rng.uniform(10, 20, market.panel.height)))
        .otherwise(pl.col("close"))
        .alias("close")
    )
    junk_oof = wide.with_columns(
        [
            pl.when(later)
            .then(pl.Series(rng.standard_normal(wide.height)))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ["target", *MEMBERS]
        ]
    )
    junk_regimes = detect(market, last_fit, "hmm", panel=junk_panel)
    assert junk_regimes.filter(~later).equals(regimes.filter(~later))
    res2 = fit_regime_blend(junk_oof, list(MEMBERS), junk_regimes, outer_test_fraction=OUTER)
    assert res2.routing.equals(res.routing)
