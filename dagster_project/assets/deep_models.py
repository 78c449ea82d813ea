"""Torch model families through the same fold-wise pipeline: OOF predictions and a registered model each."""

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.models import train_and_register
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker, ProjectState
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.models import build_model

PANEL_FAMILIES = ("mlp", "lstm", "gru", "tcn", "transformer", "gnn")


class DeepModelsConfig(dg.Config):
    families: list[str] = Field(
        default=["mlp"],
        description="Torch families to train, any of mlp, lstm, gru, tcn, transformer, gnn ([] = none)",
    )
    max_epochs: int = Field(default=8, description="Maximum epochs per fold (early stopping on the inner slice)")
    patience: int = Field(default=2, description="Epochs without improvement before stopping")
    inner_valid_days: int = Field(default=63, description="Last training dates held out for early stopping")
    seq_len: int = Field(default=10, description="lstm/gru/tcn/transformer: trailing dates per sequence")
    hidden_size: int = Field(default=16, description="Width of the networks (mlp, lstm, gru, gnn)")
    seed: int = Field(default=0, description="Seed of weights, dropout and batch order")
    num_threads: int = Field(default=0, description="CPU threads for torch; 0 = every core (GPU used when present)")


def _family_config(family: str, config: DeepModelsConfig, checkpoint_dir: str) -> dict:
    trainer = {"max_epochs": config.max_epochs, "patience": config.patience, "seed": config.seed,
               "num_threads": config.num_threads, "progress": "off", "checkpoint_dir": checkpoint_dir}
    shape: dict = {}
    if family in ("mlp", "lstm", "gru", "gnn"):
        shape["hidden_size"] = config.hidden_size
    if family in ("lstm", "gru", "tcn", "transformer"):
        shape["seq_len"] = config.seq_len
    return {**trainer, **shape}


@dg.asset(group_name="research")
def deep_models(context: dg.AssetExecutionContext, config: DeepModelsConfig, feature_snapshots: FeatureSnapshot,
                targets: ModellingFrame, folds: FoldPlan, mlflow: MlflowTracker,
                state: ProjectState) -> dg.Output:
    """Configured torch families trained fold-wise like the others; each registered as a challenger."""
    unknown = sorted(set(config.families) - set(PANEL_FAMILIES))
    if unknown:
        raise ValueError(f"deep_models.families: unknown {unknown}; choose from {list(PANEL_FAMILIES)}")
    features = list(targets.features)
    prices = feature_snapshots.panel.select(
        [c for c in ("date", "asset", "close", "sector") if c in feature_snapshots.panel.columns])
    trained: dict[str, TrainedFamily] = {}
    rows = []
    for family in config.families:
        settings = _family_config(family, config, str(state.path("checkpoints", family, ".keep").parent))
        extra = {"prices": prices} if family == "gnn" else {}

        def make_model(family=family, settings=settings, extra=extra):
            return build_model(family, features, settings, **extra)

        def make_final(result, family=family, settings=settings, make_model=make_model):
            # the full-history refit trains for the folds' median best epoch (no slice left to stop on)
            epochs = max(1, int(np.median([m.best_epoch_ for m in result.models])))
            return make_model(settings={**settings, "max_epochs": epochs})

        family_trained, fold_table = train_and_register(
            context, family, make_model, make_final, settings, targets, folds, mlflow,
            inner_valid_days=config.inner_valid_days)
        trained[family] = family_trained
        overall = fold_table.filter(pl.col("fold") == "overall").row(0, named=True)
        rows.append({"family": family, "oos_rank_ic_mean": overall["rank_ic_mean"],
                     "oos_rank_icir": overall["rank_icir"], "p_hac": overall["p_hac"],
                     "model_uri": family_trained.model_uri})
    table = pl.DataFrame(rows) if rows else pl.DataFrame({"family": []}, schema={"family": pl.String})
    return dg.Output(trained, metadata={"families": markdown_table(table), "n_families": len(trained)})
