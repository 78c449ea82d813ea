"""Torch model families through the same fold-wise pipeline: OOF predictions and a registered model each."""

import dagster as dg
import polars as pl

from dagster_project.assets.research.registration import register_family
from dagster_project.config import core, to_core
from dagster_project.metadata import markdown_table
from dagster_project.resources import MlflowTracker, ProjectState
from dagster_project.types import FeatureSnapshot, FoldPlan, ModellingFrame, TrainedFamilies
from quant_core.stages import DeepFamiliesConfig, family_prices, train_deep_family


class DeepModelsConfig(dg.Config):
    families: list[str] = core(DeepFamiliesConfig, "families")
    max_epochs: int = core(DeepFamiliesConfig, "max_epochs")
    patience: int = core(DeepFamiliesConfig, "patience")
    inner_valid_days: int = core(DeepFamiliesConfig, "inner_valid_days")
    seq_len: int = core(DeepFamiliesConfig, "seq_len")
    hidden_size: int = core(DeepFamiliesConfig, "hidden_size")
    seed: int = core(DeepFamiliesConfig, "seed")
    num_threads: int = core(DeepFamiliesConfig, "num_threads")


@dg.asset(group_name="research")
def deep_models(context: dg.AssetExecutionContext, config: DeepModelsConfig, feature_snapshots: FeatureSnapshot,
                targets: ModellingFrame, folds: FoldPlan, mlflow: MlflowTracker,
                state: ProjectState) -> dg.Output:
    """Configured torch families trained fold-wise like the others; each registered as a challenger."""
    spec = to_core(config, DeepFamiliesConfig)
    prices = family_prices(feature_snapshots.panel, spec.families)
    trained = TrainedFamilies(tuple(
        register_family(context, mlflow, train_deep_family(family, targets, folds, spec, prices,
                                                           str(state.path("checkpoints", family, ".keep").parent)),
                        targets, folds)
        for family in spec.families))
    rows = [{"family": t.family, "oos_rank_ic_mean": o["rank_ic_mean"], "oos_rank_icir": o["rank_icir"],
             "p_hac": o["p_hac"], "model_uri": t.model_uri}
            for t in trained for o in [t.fold_table.filter(pl.col("fold") == "overall").row(0, named=True)]]
    table = pl.DataFrame(rows) if rows else pl.DataFrame({"family": []}, schema={"family": pl.String})
    return dg.Output(trained, metadata={"families": markdown_table(table), "n_families": len(trained)})
