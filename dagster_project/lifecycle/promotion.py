"""Promotion: the challenger a run registered, the blocking gate that judges it, the pinned champion.

    <family>_model --> challenger_model --(promotion_gate, blocking)--> champion_model --> live_scores

``promotion_gate`` passes only when the training run's contract and leakage checks passed and the
challenger beats the champion's Rank IC on their common out-of-sample dates (paired HAC test); a
failed blocking check stops ``champion_model``, so the champion alias only moves behind a passed
gate. ``champion_model`` materialized on its own (after ``qf models promote/rollback``) re-pins
whatever the registry's ``champion`` alias points at.
"""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.lifecycle.registry import CHAMPION, ModelRegistry
from dagster_project.lifecycle.types import ChallengerRef, ChampionRef
from dagster_project.resources.mlflow_tracker import OOF_ARTIFACT
from quant_core.data.dataset import ModellingFrame
from quant_core.monitoring.promotion import (
    PromotionDecision,
    PromotionPolicy,
    decide_promotion,
    paired_rank_ic,
)

PRODUCTION_FAMILY = "lightgbm"  # the family live scoring uses; its <family>_model asset feeds the gate
GATE_CHECK = "promotion_gate"


def run_check_evaluations(instance: dg.DagsterInstance, run_id: str) -> dict:
    """``{check name: AssetCheckEvaluation}`` of the checks evaluated so far in one run."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
            for e in events}


@dg.asset(group_name="promotion",
          ins={"trained": dg.AssetIn(f"{PRODUCTION_FAMILY}_model"), "targets": dg.AssetIn("targets")})
def challenger_model(trained: TrainedFamily, targets: ModellingFrame, registry: ModelRegistry) -> dg.Output:
    """The model version this run registered (alias challenger) and the OOF predictions it is judged on."""
    name, version = trained.model_uri.removeprefix("models:/").split("/")
    tags = registry.client().get_model_version(name, version).tags
    validation = {k.removeprefix("validation."): float(v) for k, v in tags.items()
                  if k.startswith("validation.") and k not in ("validation.start", "validation.end")}
    champion = registry.alias_version(name, CHAMPION)
    ref = ChallengerRef(family=trained.family, model_name=name, version=version, run_id=trained.mlflow_run_id,
                        model_uri=trained.model_uri, horizon_days=targets.horizon_days,
                        lag_days=targets.lag_days, data_version=targets.data_version,
                        oof=trained.result.oof, validation=validation)
    return dg.Output(ref, metadata={
        "model_uri": trained.model_uri,
        "version": version,
        "current_champion_version": "none" if champion is None else str(champion.version),
        "oos_rank_ic_mean": validation.get("rank_ic_mean", float("nan")),
        "oof_dates": f"{trained.result.oof['date'].min()} .. {trained.result.oof['date'].max()}",
    })


class GateConfig(dg.Config):
    alpha: float = Field(default=0.05, description="One-sided significance of 'the challenger's Rank IC is higher'")
    min_common_dates: int = Field(default=60, description="Fewest common out-of-sample dates a comparison may rest on")
    min_improvement: float = Field(default=0.0, description="Smallest mean Rank IC gain worth a switch")


@dg.asset_check(asset=challenger_model, blocking=True)
def promotion_gate(context: dg.AssetCheckExecutionContext, config: GateConfig,
                   challenger_model: ChallengerRef, registry: ModelRegistry) -> dg.AssetCheckResult:
    """Challenger's Rank IC beats the champion's on their common OOS dates (paired HAC test); checks passed."""
    challenger = challenger_model
    run_id = context.run.run_id
    policy = PromotionPolicy(alpha=config.alpha, min_common_dates=config.min_common_dates,
                             min_improvement=config.min_improvement)
    checks = {name: bool(e.passed) for name, e in run_check_evaluations(context.instance, run_id).items()}
    champion = registry.alias_version(challenger.model_name, CHAMPION)
    champion_version = None if champion is None else str(champion.version)
    comparison, problem = None, None
    if champion is not None:
        try:
            champion_oof = registry.read_parquet_artifact(champion.run_id, OOF_ARTIFACT)
            comparison = paired_rank_ic(champion_oof, challenger.oof, horizon_days=challenger.horizon_days)
        except FileNotFoundError as exc:  # a champion registered before OOF predictions were logged
            problem = f"champion version {champion_version} cannot be compared: {exc}"
    decision = decide_promotion(comparison, checks, policy)
    if problem is not None and decision.promote:  # never "no champion yet" when there is one
        decision = PromotionDecision(False, problem, decision.checks, (), (), None)
    registry.record_gate_decision(challenger.model_name, challenger.version, decision.to_dict(),
                                  champion_version=champion_version, dagster_run_id=run_id)
    context.log.info(f"promotion gate for {challenger.model_uri}: {decision.reason}")
    numbers = decision.comparison.to_dict() if decision.comparison is not None else {}
    check_table = pl.DataFrame({"check": list(checks), "passed": list(checks.values())},
                               schema={"check": pl.String, "passed": pl.Boolean})
    return dg.AssetCheckResult(
        passed=decision.promote,
        description=decision.reason,
        metadata={
            "decision": "promote" if decision.promote else "reject",
            "reason": decision.reason,
            "model_name": challenger.model_name,
            "challenger_version": challenger.version,
            "champion_version": champion_version or "none",
            "checks_in_run": markdown_table(check_table),
            **{k: v for k, v in numbers.items() if isinstance(v, (int, float))},
            "alpha": policy.alpha,
            "min_common_dates": policy.min_common_dates,
        },
    )


class ChampionConfig(dg.Config):
    family: str = Field(default=PRODUCTION_FAMILY, description="Model family whose champion is pinned")


@dg.asset(group_name="promotion", deps=[challenger_model])
def champion_model(context: dg.AssetExecutionContext, config: ChampionConfig,
                   registry: ModelRegistry) -> dg.Output:
    """Promotes this run's gate-approved challenger, if any, then pins the champion version scoring loads."""
    name = registry.registered_name(config.family)
    gate = run_check_evaluations(context.instance, context.run.run_id).get(GATE_CHECK)
    promoted = None
    if gate is not None and gate.passed:
        gated_model = gate.metadata["model_name"].value
        if gated_model != name:
            raise dg.Failure(f"the gate judged {gated_model} but this asset pins {name}: align the family config")
        promoted = str(gate.metadata["challenger_version"].value)
        registry.promote(name, promoted, actor="promotion_gate", source="gate",
                         reason=str(gate.metadata["reason"].value), dagster_run_id=context.run.run_id,
                         evidence={k: v.value for k, v in gate.metadata.items() if k != "checks_in_run"})
    ref: ChampionRef | None = registry.champion_ref(config.family)
    if ref is None:
        raise dg.Failure(f"{name} has no champion yet: run retrain_job (the first challenger that passes "
                         "the gate is promoted) or `qf models promote`")
    return dg.Output(ref, data_version=dg.DataVersion(f"{name}/{ref.version}"), metadata={
        "model_uri": ref.model_uri,
        "version": ref.version,
        "mlflow_run_id": ref.run_id,
        "promoted_in_this_run": promoted is not None,
        "pinned_from": "promotion_gate" if promoted else "registry alias",
        "validation_rank_ic": ref.validation_rank_ic,
        "train_period": f"{ref.train_start} .. {ref.train_end}",
        "champion_history": ", ".join(registry.champion_history(name)),
    })
