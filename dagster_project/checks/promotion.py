"""The promotion gate: a blocking check on the challenger a run registered.

It passes only when the training run's contract and leakage checks passed and the challenger
beats the champion's Rank IC on their common out-of-sample dates (paired HAC test); a failed
blocking check stops ``champion_model``, so the champion alias only moves behind a passed gate.
"""

import dagster as dg
import polars as pl

from dagster_project.assets.lifecycle.promotion import challenger_model
from dagster_project.config import core
from dagster_project.metadata import markdown_table
from dagster_project.resources import ModelRegistry
from dagster_project.run_checks import run_check_evaluations
from dagster_project.types import ChallengerRef, FeatureSnapshot
from quant_core.monitoring.promotion import (
    PromotionDecision,
    PromotionPolicy,
    decide_promotion,
    paired_rank_ic,
)
from quant_core.stages.trading import paired_net_pnl
from quant_registry.lineage import OOF_ARTIFACT
from quant_registry.registry import CHAMPION


class GateConfig(dg.Config):
    alpha: float = core(PromotionPolicy, "alpha")
    min_common_dates: int = core(PromotionPolicy, "min_common_dates")
    min_improvement: float = core(PromotionPolicy, "min_improvement")
    require_net_improvement: bool = core(PromotionPolicy, "require_net_improvement")


@dg.asset_check(asset=challenger_model, blocking=True,
                additional_ins={"feature_snapshots": dg.AssetIn("feature_snapshots")})
def promotion_gate(context: dg.AssetCheckExecutionContext, config: GateConfig, challenger_model: ChallengerRef,
                   feature_snapshots: FeatureSnapshot, registry: ModelRegistry) -> dg.AssetCheckResult:
    """Challenger's Rank IC beats the champion's on their common OOS dates (paired HAC test); checks passed."""
    challenger = challenger_model
    run_id = context.run.run_id
    policy = PromotionPolicy(alpha=config.alpha, min_common_dates=config.min_common_dates,
                             min_improvement=config.min_improvement,
                             require_net_improvement=config.require_net_improvement)
    checks = {name: bool(e.passed) for name, e in run_check_evaluations(context.instance, run_id).items()}
    champion = registry.alias_version(challenger.model_name, CHAMPION)
    champion_version = None if champion is None else str(champion.version)
    comparison, net, problem = None, None, None
    if champion is not None:
        try:
            champion_oof = registry.read_parquet_artifact(champion.run_id, OOF_ARTIFACT)
            comparison = paired_rank_ic(champion_oof, challenger.oof, horizon_days=challenger.horizon_days)
            # both traded as the same book on the same rows: what the switch earns net of costs
            net = paired_net_pnl(feature_snapshots.panel, champion_oof, challenger.oof,
                                 horizon_days=challenger.horizon_days)
        except FileNotFoundError as exc:  # a champion registered before OOF predictions were logged
            problem = f"champion version {champion_version} cannot be compared: {exc}"
    decision = decide_promotion(comparison, checks, policy, net=net)
    if problem is not None and decision.promote:  # never "no champion yet" when there is one
        decision = PromotionDecision(False, problem, decision.checks, (), (), None)
    registry.record_gate_decision(challenger.model_name, challenger.version, decision.to_dict(),
                                  champion_version=champion_version, dagster_run_id=run_id)
    context.log.info(f"promotion gate for {challenger.model_uri}: {decision.reason}")
    numbers = decision.comparison.to_dict() if decision.comparison is not None else {}
    if decision.net is not None:
        numbers |= {f"net_{k}": v for k, v in decision.net.to_dict().items()}
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
            "require_net_improvement": policy.require_net_improvement,
        },
    )
