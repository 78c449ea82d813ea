"""Promotion: the challenger a run registered and the pinned champion (the gate is in checks/).

    <family>_model --> challenger_model --(promotion_gate, blocking)--> champion_model --> live_scores

``promotion_gate`` passes only when the training run's contract and leakage checks passed and the
challenger beats the champion's Rank IC on their common out-of-sample dates (paired HAC test); a
failed blocking check stops ``champion_model``, so the champion alias only moves behind a passed
gate. ``champion_model`` materialized on its own (after ``qf models promote/rollback``) re-pins
whatever the registry's ``champion`` alias points at.
"""

import dagster as dg
from pydantic import Field

from dagster_project.resources import ModelRegistry
from dagster_project.run_checks import GATE_CHECK, run_check_evaluations
from dagster_project.types import ChallengerRef, ChampionRef, ModellingFrame, TrainedFamily
from quant_registry.registry import CHAMPION

PRODUCTION_FAMILY = "lightgbm"  # the family live scoring uses; its <family>_model asset feeds the gate


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
