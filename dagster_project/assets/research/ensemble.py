"""Ensembles of the model families, fitted on out-of-fold predictions, judged on dates they never saw."""

from typing import Literal

import dagster as dg
import polars as pl

from dagster_project.config import core, to_core
from dagster_project.metadata import markdown_table
from dagster_project.resources import MlflowTracker, ProjectState
from dagster_project.types import (
    EnsembleModel,
    EnsembleResult,
    FeatureSnapshot,
    ModellingFrame,
    RoutingResult,
    TrainedFamilies,
    TrainedFamily,
    members_of,
    oofs_of,
)
from quant_core.stages import BlendConfig, fit_ensembles, route_regimes, score_routed_ensemble
from quant_core.stages import RoutingConfig as RoutingSpec
from quant_core.stages.ensemble import BlendMethod


class EnsembleConfig(dg.Config):
    method: BlendMethod = core(BlendConfig, "method")
    outer_test_fraction: float = core(BlendConfig, "outer_test_fraction")


class RoutingConfig(dg.Config):
    detector: Literal["hmm", "threshold"] = core(RoutingSpec, "detector")
    method: BlendMethod = core(RoutingSpec, "method")
    outer_test_fraction: float = core(RoutingSpec, "outer_test_fraction")
    min_regime_dates: int = core(RoutingSpec, "min_regime_dates")


@dg.asset(group_name="research")
def ensemble_weights(context: dg.AssetExecutionContext, config: EnsembleConfig, feature_snapshots: FeatureSnapshot,
                     targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                     deep_models: TrainedFamilies, mlflow: MlflowTracker) -> dg.Output:
    """Static blend of the model families (and a ridge stack for comparison) with held-out IC."""
    result: EnsembleResult = fit_ensembles(feature_snapshots, targets, oofs_of(lightgbm_model, ridge_model, deep_models),
                                           to_core(config, BlendConfig))
    members = {m.family: m.model_uri for m in members_of(lightgbm_model, ridge_model, deep_models)}
    with mlflow.asset_run(context, targets.data_version) as run:
        run.log_params({"method": result.method, "outer_test_fraction": result.outer_test_fraction,
                        **{f"weight_{k}": v for k, v in result.weights.items()}})
        run.log_metrics({f"eval_{s}_rank_ic_mean": v.rank_ic_mean for s, v in result.eval.items()})
        run.log_json({"weights": result.weights, "members": members,
                      "fit_dates": [str(d) for d in result.fit_dates],
                      "eval_dates": [str(d) for d in result.eval_dates]}, "ensemble/weights.json")
    return dg.Output(result, metadata={
        "weights": markdown_table(pl.DataFrame({"member": list(result.weights),
                                                "weight": list(result.weights.values())})),
        "held_out_ic": markdown_table(result.table),
        "eval_dates": f"{result.eval_dates[0]} .. {result.eval_dates[1]}",
    })


@dg.asset(group_name="research")
def regime_routing(context: dg.AssetExecutionContext, config: RoutingConfig, feature_snapshots: FeatureSnapshot,
                   targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                   deep_models: TrainedFamilies, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """Point-in-time regime detector, per-regime member weights and the routing table scoring uses."""
    result: RoutingResult = route_regimes(feature_snapshots, targets, oofs_of(lightgbm_model, ridge_model, deep_models),
                                          to_core(config, RoutingSpec))
    routing_path = state.path("ensemble", "routing.parquet")
    regimes_path = state.path("ensemble", "regimes.parquet")
    result.routing.write_parquet(routing_path)
    result.regimes.write_parquet(regimes_path)
    with mlflow.asset_run(context, targets.data_version, {"quantflow.detector": config.detector}) as run:
        run.log_params({"detector": config.detector, "method": config.method,
                        "last_fit_date": str(result.last_fit_date)})
        run.log_metrics({f"eval_{s}_rank_ic_mean": v.rank_ic_mean for s, v in result.eval.items()})
        run.log_artifact(routing_path, "ensemble")
        run.log_artifact(regimes_path, "ensemble")
    return dg.Output(result, metadata={
        "routing_table": markdown_table(result.routing),
        "held_out_ic": markdown_table(result.table),
        "ic_by_regime": markdown_table(result.by_regime),
        "detector": config.detector,
        "last_fit_date": str(result.last_fit_date),
        "routing_path": dg.MetadataValue.path(str(routing_path)),
    })


@dg.asset(group_name="research")
def ensemble_model(context: dg.AssetExecutionContext, feature_snapshots: FeatureSnapshot, targets: ModellingFrame,
                   lightgbm_model: TrainedFamily, ridge_model: TrainedFamily, deep_models: TrainedFamilies,
                   regime_routing: RoutingResult, mlflow: MlflowTracker) -> dg.Output:
    """The routed ensemble registered as one model, and its scores of the newest snapshot date."""
    families = members_of(lightgbm_model, ridge_model, deep_models)
    routed = score_routed_ensemble(feature_snapshots, targets.features,
                                   {f.family: f.final_model for f in families}, regime_routing)
    members = {f.family: f.model_uri for f in families}
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "ensemble"}) as run:
        run.log_json({"members": members, "routing": regime_routing.routing.to_dicts()}, "ensemble/routing.json")
        run.log_parquet(routed.scores, "ensemble/latest_scores.parquet")
        model_uri, version = run.log_signal_model(
            routed.ensemble, list(targets.features), mlflow.registered_name("ensemble"),
            tags={"data_version": targets.data_version, "dagster.run_id": context.run.run_id,
                  **{f"member.{k}": v for k, v in members.items()}})
    value = EnsembleModel(model_uri=model_uri, version=version, date=routed.date, regime=routed.regime,
                          scores=routed.scores, members=members)
    return dg.Output(value, metadata={
        "model_uri": model_uri, "scored_date": str(routed.date), "regime": str(routed.regime),
        "members": markdown_table(pl.DataFrame({"member": list(members), "model_uri": list(members.values())})),
        "top_scores": markdown_table(routed.scores.sort("ensemble", descending=True).head(10)),
    })
