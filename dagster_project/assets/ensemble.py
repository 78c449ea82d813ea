"""Ensembles of the model families, fitted on out-of-fold predictions, judged on dates they never saw."""

from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker, ProjectState
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
from quant_core.validation import fold_ic_table
from quant_core.validation.oracle import oracle_ic_summary


class EnsembleConfig(dg.Config):
    method: Literal["equal", "ic_weighted", "rank_average", "nnls"] = Field(
        default="ic_weighted", description="How member signals are weighted"
    )
    outer_test_fraction: float = Field(default=0.3, description="Latest share of OOF dates held out to judge the blend")


class RoutingConfig(dg.Config):
    detector: Literal["hmm", "threshold"] = Field(
        default="hmm", description="Gaussian HMM on the market return (filtered) or volatility/trend thresholds"
    )
    method: Literal["equal", "ic_weighted", "rank_average", "nnls"] = Field(
        default="ic_weighted", description="How members are weighted within each regime"
    )
    outer_test_fraction: float = Field(default=0.3, description="Latest share of OOF dates held out (as the blend)")
    min_regime_dates: int = Field(default=20, description="A regime with fewer fit dates uses the static blend")


def held_out_ic(eval_frame: pl.DataFrame, signals: list[str], horizon_days: int) -> pl.DataFrame:
    """Rank IC, ICIR and HAC p-value of each signal on the held-out dates (one row per signal)."""
    scored = eval_frame.with_columns(pl.lit(0).alias("fold"))
    return pl.concat([
        fold_ic_table(scored, signal=name, horizon_days=horizon_days)
        .filter(pl.col("fold") == "overall").with_columns(pl.lit(name).alias("fold"))
        for name in signals
    ]).rename({"fold": "signal"})


def _members(*families: TrainedFamily) -> tuple[pl.DataFrame, list[str]]:
    return oof_wide({f.family: f.result.oof for f in families}), [f.family for f in families]


@dg.asset(group_name="research")
def ensemble_weights(context: dg.AssetExecutionContext, config: EnsembleConfig, feature_snapshots: FeatureSnapshot,
                     targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                     deep_models: dict, mlflow: MlflowTracker) -> dg.Output:
    """Static blend of the model families (and a ridge stack for comparison) with held-out IC."""
    families = [lightgbm_model, ridge_model, *deep_models.values()]
    wide, names = _members(*families)
    blend = fit_blend(wide, names, method=config.method, outer_test_fraction=config.outer_test_fraction)
    stack = fit_stacking(wide, names, meta="ridge", outer_test_fraction=config.outer_test_fraction)
    eval_frame = blend.eval_frame.join(
        stack.eval_frame.select(["date", "asset", pl.col("ensemble").alias("stacking")]), on=["date", "asset"])
    table = held_out_ic(eval_frame, ["ensemble", "stacking", *names], targets.horizon_days)
    ensemble_row = table.row(0, named=True)
    members = {m.family: m.model_uri for m in families}
    with mlflow.asset_run(context, targets.data_version) as run:
        run.log_params({"method": config.method, "outer_test_fraction": config.outer_test_fraction,
                        **{f"weight_{k}": v for k, v in blend.weights.items()}})
        run.log_metrics({f"eval_{r['signal']}_rank_ic_mean": r["rank_ic_mean"] for r in table.iter_rows(named=True)})
        run.log_json({"weights": blend.weights, "members": members,
                      "fit_dates": [str(d) for d in blend.fit_dates],
                      "eval_dates": [str(d) for d in blend.eval_dates]}, "ensemble/weights.json")
    summary = {
        "method": config.method,
        "weights": blend.weights,
        "members": members,
        "fit_dates": [str(d) for d in blend.fit_dates],
        "eval_dates": [str(d) for d in blend.eval_dates],
        "eval": {r["signal"]: r for r in table.iter_rows(named=True)},
        "oos_rank_ic_mean": ensemble_row["rank_ic_mean"],
        "oos_ic_mean": ensemble_row["ic_mean"],
        "oos_rank_icir": ensemble_row["rank_icir"],
        "oracle_held_out": None,
    }
    oracle_applies = (targets.horizon_days, targets.lag_days, targets.target_kind) == (1, 1, "raw")
    if feature_snapshots.oracle is not None and oracle_applies:  # the ceiling on exactly these dates
        summary["oracle_held_out"] = oracle_ic_summary(feature_snapshots.oracle, eval_frame)
    return dg.Output(summary, metadata={
        "weights": markdown_table(pl.DataFrame({"member": list(blend.weights), "weight": list(blend.weights.values())})),
        "held_out_ic": markdown_table(table),
        "eval_dates": f"{blend.eval_dates[0]} .. {blend.eval_dates[1]}",
    })


@dg.asset(group_name="research")
def regime_routing(context: dg.AssetExecutionContext, config: RoutingConfig, feature_snapshots: FeatureSnapshot,
                   targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                   deep_models: dict, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """Point-in-time regime detector, per-regime member weights and the routing table scoring uses."""
    wide, names = _members(lightgbm_model, ridge_model, *deep_models.values())
    last_fit = outer_split(wide["date"], config.outer_test_fraction)
    states = market_state(feature_snapshots.panel)
    detector = HMMRegimeDetector() if config.detector == "hmm" else ThresholdRegimeDetector()
    regimes = detector.fit(states, last_fit).predict(states)
    result = fit_regime_blend(wide, names, regimes.select(["date", "regime"]), method=config.method,
                              outer_test_fraction=config.outer_test_fraction,
                              min_regime_dates=config.min_regime_dates)
    table = held_out_ic(result.eval_frame, ["ensemble", "static", *names], targets.horizon_days)
    by_regime = ic_by_regime(result.eval_frame, ["ensemble", "static", *names], regimes.select(["date", "regime"]))
    routing_path = state.path("ensemble", "routing.parquet")
    regimes_path = state.path("ensemble", "regimes.parquet")
    result.routing.write_parquet(routing_path)
    regimes.write_parquet(regimes_path)
    with mlflow.asset_run(context, targets.data_version, {"quantflow.detector": config.detector}) as run:
        run.log_params({"detector": config.detector, "method": config.method, "last_fit_date": str(last_fit)})
        run.log_metrics({f"eval_{r['signal']}_rank_ic_mean": r["rank_ic_mean"] for r in table.iter_rows(named=True)})
        run.log_artifact(routing_path, "ensemble")
        run.log_artifact(regimes_path, "ensemble")
    return dg.Output(
        {"routing": result.routing, "regimes": regimes, "detector": detector, "last_fit_date": last_fit,
         "eval": {r["signal"]: r for r in table.iter_rows(named=True)}},
        metadata={
            "routing_table": markdown_table(result.routing),
            "held_out_ic": markdown_table(table),
            "ic_by_regime": markdown_table(by_regime),
            "detector": config.detector,
            "last_fit_date": str(last_fit),
            "routing_path": dg.MetadataValue.path(str(routing_path)),
        },
    )


@dg.asset(group_name="research")
def ensemble_model(context: dg.AssetExecutionContext, feature_snapshots: FeatureSnapshot, targets: ModellingFrame,
                   lightgbm_model: TrainedFamily, ridge_model: TrainedFamily, deep_models: dict,
                   regime_routing: dict, mlflow: MlflowTracker) -> dg.Output:
    """The routed ensemble registered as one model, and its scores of the newest snapshot date."""
    families = [lightgbm_model, ridge_model, *deep_models.values()]
    features = list(targets.features)
    ensemble = RoutedEnsemble({f.family: f.final_model for f in families}, regime_routing["routing"],
                              tuple(features))
    panel = feature_snapshots.panel
    latest_date = panel["date"].max()
    latest = panel.filter(pl.col("date") == latest_date).select(["date", "asset", *features]).join(
        regime_routing["regimes"].select(["date", "regime"]), on="date", how="left")
    regime = latest["regime"][0] if latest.height else None
    scores = ensemble.member_scores(latest).with_columns(pl.Series("ensemble", ensemble.predict(latest)))
    members = {f.family: f.model_uri for f in families}
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "ensemble"}) as run:
        run.log_json({"members": members, "routing": regime_routing["routing"].to_dicts()}, "ensemble/routing.json")
        run.log_parquet(scores, "ensemble/latest_scores.parquet")
        model_uri, version = run.log_signal_model(
            ensemble, features, mlflow.registered_name("ensemble"),
            tags={"data_version": targets.data_version, "dagster.run_id": context.run.run_id,
                  **{f"member.{k}": v for k, v in members.items()}})
    return dg.Output(
        {"model_uri": model_uri, "version": version, "scores": scores, "date": latest_date, "regime": regime,
         "members": members},
        metadata={"model_uri": model_uri, "scored_date": str(latest_date), "regime": str(regime),
                  "members": markdown_table(pl.DataFrame({"member": list(members), "model_uri": list(members.values())})),
                  "top_scores": markdown_table(scores.sort("ensemble", descending=True).head(10))},
    )
