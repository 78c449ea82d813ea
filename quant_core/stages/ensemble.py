"""Stage: ensembles of the model families fitted on out-of-fold predictions only, judged on the
later dates they never saw; the point-in-time regime router; the routed ensemble's scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from quant_core.config_fields import described
from quant_core.data.dataset import ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.ensemble import (
    HMMRegimeDetector,
    RoutedEnsemble,
    ThresholdRegimeDetector,
    fit_blend,
    fit_regime_blend,
    fit_stacking,
    ic_by_regime,
    market_state,
    oof_wide,
    outer_split,
)
from quant_core.stages.frame import oracle_applies
from quant_core.stages.numbers import SignalIC
from quant_core.validation import fold_ic_table
from quant_core.validation.oracle import oracle_ic_summary

__all__ = [
    "BlendConfig",
    "EnsembleResult",
    "RoutedScores",
    "RoutingConfig",
    "RoutingResult",
    "fit_ensembles",
    "held_out_ic",
    "route_regimes",
    "score_routed_ensemble",
]

BlendMethod = Literal["equal", "ic_weighted", "rank_average", "nnls"]


@dataclass(frozen=True)
class BlendConfig:
    """How the static blend is fitted and judged."""

    method: BlendMethod = described("ic_weighted", "How member signals are weighted")
    outer_test_fraction: float = described(0.3, "Latest share of OOF dates held out to judge the blend")


@dataclass(frozen=True)
class RoutingConfig:
    """The regime detector and the per-regime blends."""

    detector: Literal["hmm", "threshold"] = described(
        "hmm", "Gaussian HMM on the market return (filtered) or volatility/trend thresholds")
    method: BlendMethod = described("ic_weighted", "How members are weighted within each regime")
    outer_test_fraction: float = described(0.3, "Latest share of OOF dates held out (as the blend)")
    min_regime_dates: int = described(20, "A regime with fewer fit dates uses the static blend")


def held_out_ic(eval_frame: pl.DataFrame, signals: Sequence[str], horizon_days: int) -> pl.DataFrame:
    """Rank IC, ICIR and HAC p-value of each signal on the held-out dates (one row per signal)."""
    scored = eval_frame.with_columns(pl.lit(0).alias("fold"))
    return pl.concat([
        fold_ic_table(scored, signal=name, horizon_days=horizon_days)
        .filter(pl.col("fold") == "overall").with_columns(pl.lit(name).alias("fold"))
        for name in signals
    ]).rename({"fold": "signal"})


def _by_signal(table: pl.DataFrame) -> dict[str, SignalIC]:
    return {r["signal"]: SignalIC.from_row(r) for r in table.iter_rows(named=True)}


@dataclass(frozen=True)
class EnsembleResult:
    """The static blend and the ridge stack of the families, judged on held-out dates."""

    method: str
    outer_test_fraction: float
    weights: Mapping[str, float]
    fit_dates: tuple[Any, Any]
    eval_dates: tuple[Any, Any]
    table: pl.DataFrame
    """:func:`held_out_ic` of ``ensemble``, ``stacking`` and every member."""
    eval: Mapping[str, SignalIC]
    oracle_held_out: Mapping[str, float] | None = None
    signals: pl.DataFrame | None = None
    """``date, asset, target, <member>..., ensemble, stacking`` on the held-out dates: what a book
    built from the blend would trade."""

    @property
    def ensemble(self) -> SignalIC:
        return self.eval["ensemble"]

    @property
    def stacking(self) -> SignalIC:
        return self.eval["stacking"]


def fit_ensembles(snapshot: FeatureSnapshot, frame: ModellingFrame, oofs: Mapping[str, pl.DataFrame],
                  config: BlendConfig = BlendConfig()) -> EnsembleResult:
    """A blend of the families (and a ridge stack, for comparison) fitted on the earlier OOF dates
    only, judged on the later ones; the simulator's ceiling on exactly those dates when it applies."""
    wide, names = oof_wide(dict(oofs)), list(oofs)
    blend = fit_blend(wide, names, method=config.method, outer_test_fraction=config.outer_test_fraction)
    stack = fit_stacking(wide, names, meta="ridge", outer_test_fraction=config.outer_test_fraction)
    eval_frame = blend.eval_frame.join(
        stack.eval_frame.select(["date", "asset", pl.col("ensemble").alias("stacking")]), on=["date", "asset"])
    table = held_out_ic(eval_frame, ["ensemble", "stacking", *names], frame.horizon_days)
    oracle = None
    if snapshot.oracle is not None and oracle_applies(frame):
        oracle = oracle_ic_summary(snapshot.oracle, eval_frame)
    return EnsembleResult(method=config.method, outer_test_fraction=config.outer_test_fraction,
                          weights=dict(blend.weights), fit_dates=tuple(blend.fit_dates),
                          eval_dates=tuple(blend.eval_dates), table=table, eval=_by_signal(table),
                          oracle_held_out=oracle, signals=eval_frame)


@dataclass(frozen=True)
class RoutingResult:
    """A point-in-time regime detector, its regime path and the per-regime member weights."""

    detector_name: str
    detector: Any
    last_fit_date: Any
    regimes: pl.DataFrame
    """``date, regime, ...`` for every date of the panel (state at t uses data up to t)."""
    routing: pl.DataFrame
    """The routing table scoring consumes: per-regime member weights."""
    table: pl.DataFrame
    by_regime: pl.DataFrame
    eval: Mapping[str, SignalIC]
    signals: pl.DataFrame | None = None
    """``date, asset, target, <member>..., ensemble, static`` on the held-out dates."""

    @property
    def routed(self) -> SignalIC:
        return self.eval["ensemble"]

    @property
    def static(self) -> SignalIC:
        return self.eval["static"]


def route_regimes(snapshot: FeatureSnapshot, frame: ModellingFrame, oofs: Mapping[str, pl.DataFrame],
                  config: RoutingConfig = RoutingConfig()) -> RoutingResult:
    """Fit the regime detector on the ensemble's fit dates, blend members per regime, judge the
    routed blend against the static one on the held-out dates."""
    wide, names = oof_wide(dict(oofs)), list(oofs)
    last_fit = outer_split(wide["date"], config.outer_test_fraction)
    states = market_state(snapshot.panel)
    detector = HMMRegimeDetector() if config.detector == "hmm" else ThresholdRegimeDetector()
    regimes = detector.fit(states, last_fit).predict(states)
    result = fit_regime_blend(wide, names, regimes.select(["date", "regime"]), method=config.method,
                              outer_test_fraction=config.outer_test_fraction,
                              min_regime_dates=config.min_regime_dates)
    signals = ["ensemble", "static", *names]
    table = held_out_ic(result.eval_frame, signals, frame.horizon_days)
    by_regime = ic_by_regime(result.eval_frame, signals, regimes.select(["date", "regime"]))
    return RoutingResult(detector_name=config.detector, detector=detector, last_fit_date=last_fit,
                         regimes=regimes, routing=result.routing, table=table, by_regime=by_regime,
                         eval=_by_signal(table), signals=result.eval_frame)


@dataclass(frozen=True)
class RoutedScores:
    """The routed ensemble as one model, and its scores of the newest snapshot date."""

    ensemble: RoutedEnsemble
    date: Any
    regime: Any
    scores: pl.DataFrame
    """``date, asset, regime, <member>..., ensemble``."""


def score_routed_ensemble(snapshot: FeatureSnapshot, features: Sequence[str], members: Mapping[str, Any],
                          routing: RoutingResult) -> RoutedScores:
    """Build the routed ensemble of the fitted ``members`` and score the newest date by its regime."""
    features = list(features)
    ensemble = RoutedEnsemble(dict(members), routing.routing, tuple(features))
    panel = snapshot.panel
    latest_date = panel["date"].max()
    latest = panel.filter(pl.col("date") == latest_date).select(["date", "asset", *features]).join(
        routing.regimes.select(["date", "regime"]), on="date", how="left")
    regime = latest["regime"][0] if latest.height else None
    scores = ensemble.member_scores(latest).with_columns(pl.Series("ensemble", ensemble.predict(latest)))
    return RoutedScores(ensemble=ensemble, date=latest_date, regime=regime, scores=scores)
