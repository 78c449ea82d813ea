"""Why the models predict what they do: exact TreeSHAP per fold, by regime and family; permutation IC drops."""

import dagster as dg

from dagster_project.config import core, to_core
from dagster_project.metadata import image, markdown_table
from dagster_project.resources import MlflowTracker, ProjectState
from dagster_project.types import (
    FoldPlan,
    ModellingFrame,
    RoutingResult,
    TrainedFamilies,
    TrainedFamily,
)
from quant_core.stages import (
    DeepShapConfig as DeepShapSpec,
)
from quant_core.stages import (
    PermutationConfig as PermutationSpec,
)
from quant_core.stages import (
    ShapConfig as ShapSpec,
)
from quant_core.stages import (
    explain_deep_families,
    explain_lightgbm,
)
from quant_core.stages import (
    permutation_importance as permutation_importance_stage,
)


class ShapConfig(dg.Config):
    max_rows_per_fold: int = core(ShapSpec, "max_rows_per_fold")
    interaction_rows: int = core(ShapSpec, "interaction_rows")
    stability_threshold: float = core(ShapSpec, "stability_threshold")
    seed: int = core(ShapSpec, "seed")


class PermutationConfig(dg.Config):
    n_repeats: int = core(PermutationSpec, "n_repeats")
    seed: int = core(PermutationSpec, "seed")
    n_boot: int = core(PermutationSpec, "n_boot")


class DeepShapConfig(dg.Config):
    max_rows: int = core(DeepShapSpec, "max_rows")
    n_samples: int = core(DeepShapSpec, "n_samples")
    seed: int = core(DeepShapSpec, "seed")


@dg.asset(group_name="research")
def shap_values(context: dg.AssetExecutionContext, config: ShapConfig, targets: ModellingFrame,
                folds: FoldPlan, lightgbm_model: TrainedFamily, regime_routing: RoutingResult,
                mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """TreeSHAP of each fold model on its own test rows: importance, stability, families, regimes, interactions."""
    result = explain_lightgbm(lightgbm_model.result.models, targets, folds, lightgbm_model.features,
                              regime_routing.regimes, state.reports_dir, to_core(config, ShapSpec))
    stability = result.stability
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "lightgbm"}) as run:
        for path in [*result.plots.values(), *result.tables.values()]:
            run.log_artifact(path, "explain")
        run.log_metrics({"importance_mean_spearman": stability.mean_spearman,
                         "importance_kendall_w": stability.kendall_w,
                         **{f"mean_abs_shap_{r['feature']}": r["mean_abs_shap"]
                            for r in result.importance.iter_rows(named=True)}})
    if not stability.stable:
        context.log.warning(f"unstable importances across folds: {stability.message}")
    return dg.Output(result.importance, metadata={
        "mean_abs_shap": markdown_table(result.importance),
        "stability": stability.message,
        "importance_stable": stability.stable,
        "families": markdown_table(result.families),
        "top_interactions": markdown_table(result.interactions.head(5)),
        "summary_plot": image(result.plots["summary"]),
        "family_plot": image(result.plots["families"]),
        "regime_plot": image(result.plots["regimes"]),
        "n_rows_explained": result.n_rows_explained,
    })


@dg.asset(group_name="research")
def permutation_importance(context: dg.AssetExecutionContext, config: PermutationConfig, targets: ModellingFrame,
                           folds: FoldPlan, lightgbm_model: TrainedFamily, mlflow: MlflowTracker,
                           state: ProjectState) -> dg.Output:
    """Drop in out-of-sample Rank IC when a feature (or family) is shuffled across assets within each date."""
    result = permutation_importance_stage(lightgbm_model.result.models, targets, folds, lightgbm_model.features,
                                          state.reports_dir, to_core(config, PermutationSpec))
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "lightgbm"}) as run:
        run.log_artifact(result.plot, "explain")
        run.log_artifact(result.table_path, "explain")
        run.log_metrics({f"perm_drop_{r['item']}": r["importance"] for r in result.table.iter_rows(named=True)})
    shown = result.table.select(["item", "kind", "importance", "boot_ci_low", "boot_ci_high", "rank"])
    return dg.Output(result.table, metadata={
        "importance": markdown_table(shown),
        "plot": image(result.plot),
        "baseline_rank_ic": result.baseline_rank_ic,
    })


@dg.asset(group_name="research")
def deep_shap(context: dg.AssetExecutionContext, config: DeepShapConfig, targets: ModellingFrame, folds: FoldPlan,
              deep_models: TrainedFamilies, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """Gradient SHAP of each row-wise torch family's last fold model on its own test rows."""
    fits = {t.family: (t.result.models[-1], t.features) for t in deep_models}
    result = explain_deep_families(fits, targets, folds, state.reports_dir, to_core(config, DeepShapSpec))
    for family in result.skipped:
        context.log.info(f"{family}: scores a whole cross-section at once; gradient SHAP per row does not apply")
    metadata = {"mean_abs_shap": markdown_table(result.table, max_rows=60)}
    if result.table_path is not None:
        with mlflow.asset_run(context, targets.data_version) as run:
            for path in [*result.plots, result.table_path]:
                run.log_artifact(path, "explain")
        metadata["summary_plot"] = image(result.plots[0])
    return dg.Output(result.table, metadata=metadata)
