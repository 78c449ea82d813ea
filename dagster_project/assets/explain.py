"""Why the models predict what they do: exact TreeSHAP per fold, by regime and family; permutation IC drops."""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import image, markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker, ProjectState
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.explain import (
    ROW_WISE_FAMILIES,
    feature_groups,
    fold_permutation_importance,
    fold_shap,
    group_bar_plot,
    group_contributions,
    importance_stability,
    mean_abs_shap,
    mean_abs_shap_by_fold,
    panel_gradient_shap,
    permutation_importance_plot,
    regime_importance_plot,
    shap_by_regime,
    shap_dependence_plot,
    shap_summary_plot,
    top_interactions,
    tree_interactions,
)


class ShapConfig(dg.Config):
    max_rows_per_fold: int = Field(default=2000, description="Test rows sampled per fold for SHAP")
    interaction_rows: int = Field(default=300, description="Rows of the last fold explained for interaction pairs")
    stability_threshold: float = Field(default=0.5, description="Flag importances whose mean fold-pair Spearman is lower")
    seed: int = Field(default=0, description="Sampling seed")


class PermutationConfig(dg.Config):
    n_repeats: int = Field(default=3, description="Shuffles per feature (within each date)")
    seed: int = Field(default=0, description="Shuffle seed")


def _write(frame: pl.DataFrame, path) -> str:
    frame.write_parquet(path)
    return str(path)


@dg.asset(group_name="research")
def shap_values(context: dg.AssetExecutionContext, config: ShapConfig, targets: ModellingFrame,
                folds: FoldPlan, lightgbm_model: TrainedFamily, regime_routing: dict,
                mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """TreeSHAP of each fold model on its own test rows: importance, stability, families, regimes, interactions."""
    features = list(lightgbm_model.features)
    models = lightgbm_model.result.models
    shap_frame = fold_shap(models, targets.frame, folds.splits, features,
                           max_rows_per_fold=config.max_rows_per_fold, seed=config.seed)
    values = shap_frame.select(features).to_numpy()
    X = shap_frame.select(["date", "asset"]).join(  # feature values of the explained rows, same order
        targets.frame.select(["date", "asset", *features]), on=["date", "asset"], how="left").select(features)
    importance = mean_abs_shap(values, features)
    by_fold = mean_abs_shap_by_fold(shap_frame, features)
    stability = importance_stability(by_fold, threshold=config.stability_threshold)
    groups = feature_groups(features)
    families = group_contributions(shap_frame, groups)
    regimes = regime_routing["regimes"].select(["date", "regime"])
    by_regime = shap_by_regime(shap_frame, regimes, features)
    last_fold_rows = targets.frame[folds.splits[-1][1]]
    interaction_values, _ = tree_interactions(models[-1], last_fold_rows.select(features), features,
                                              max_rows=config.interaction_rows, seed=config.seed)
    interactions = top_interactions(interaction_values, features)

    out = state.reports_dir
    pngs = {
        "summary": shap_summary_plot(values, X, features, out / "shap_lightgbm.png"),
        "dependence": shap_dependence_plot(values, X, features, out / "shap_dependence_lightgbm.png"),
        "families": group_bar_plot(families, out / "shap_families_lightgbm.png"),
        "regimes": regime_importance_plot(by_regime, out / "shap_regimes_lightgbm.png"),
    }
    tables = {
        "mean_abs": _write(importance, out / "shap_mean_abs.parquet"),
        "by_fold": _write(by_fold, out / "shap_by_fold.parquet"),
        "families": _write(families, out / "shap_families.parquet"),
        "by_regime": _write(by_regime, out / "shap_by_regime.parquet"),
        "interactions": _write(interactions, out / "shap_interactions.parquet"),
    }
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "lightgbm"}) as run:
        for path in [*pngs.values(), *tables.values()]:
            run.log_artifact(path, "explain")
        run.log_metrics({"importance_mean_spearman": stability.mean_spearman,
                         "importance_kendall_w": stability.kendall_w,
                         **{f"mean_abs_shap_{r['feature']}": r["mean_abs_shap"] for r in importance.iter_rows(named=True)}})
    if not stability.stable:
        context.log.warning(f"unstable importances across folds: {stability.message}")
    return dg.Output(importance, metadata={
        "mean_abs_shap": markdown_table(importance),
        "stability": stability.message,
        "importance_stable": stability.stable,
        "families": markdown_table(families),
        "top_interactions": markdown_table(interactions.head(5)),
        "summary_plot": image(pngs["summary"]),
        "family_plot": image(pngs["families"]),
        "regime_plot": image(pngs["regimes"]),
        "n_rows_explained": int(values.shape[0]),
    })


@dg.asset(group_name="research")
def permutation_importance(context: dg.AssetExecutionContext, config: PermutationConfig, targets: ModellingFrame,
                           folds: FoldPlan, lightgbm_model: TrainedFamily, mlflow: MlflowTracker,
                           state: ProjectState) -> dg.Output:
    """Drop in out-of-sample Rank IC when a feature (or family) is shuffled across assets within each date."""
    features = list(lightgbm_model.features)
    models = lightgbm_model.result.models
    kwargs = {"n_repeats": config.n_repeats, "seed": config.seed, "n_boot": 300}
    result = fold_permutation_importance(models, targets.frame, folds.splits, features, **kwargs)
    table = result.table
    families = {name: cols for name, cols in feature_groups(features).items() if len(cols) > 1}
    if len(families) > 1:  # whole families shuffled together, beside the single features
        grouped = fold_permutation_importance(models, targets.frame, folds.splits, groups=families, **kwargs)
        table = pl.concat([table, grouped.table], how="diagonal_relaxed")
    png = permutation_importance_plot(result.table, state.reports_dir / "permutation_lightgbm.png")
    table_path = _write(table, state.reports_dir / "permutation_lightgbm.parquet")
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": "lightgbm"}) as run:
        run.log_artifact(png, "explain")
        run.log_artifact(table_path, "explain")
        run.log_metrics({f"perm_drop_{r['item']}": r["importance"] for r in table.iter_rows(named=True)})
    shown = table.select(["item", "kind", "importance", "boot_ci_low", "boot_ci_high", "rank"])
    return dg.Output(table, metadata={
        "importance": markdown_table(shown),
        "plot": image(png),
        "baseline_rank_ic": float(result.baseline["ic"].mean()),
    })


class DeepShapConfig(dg.Config):
    max_rows: int = Field(default=500, description="Test rows of the last fold explained per family")
    n_samples: int = Field(default=100, description="Expected-gradient draws per row")
    seed: int = Field(default=0, description="Sampling seed")


@dg.asset(group_name="research")
def deep_shap(context: dg.AssetExecutionContext, config: DeepShapConfig, targets: ModellingFrame, folds: FoldPlan,
              deep_models: dict, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """Gradient SHAP of each row-wise torch family's last fold model on its own test rows."""
    tables, pngs = [], []
    test_rows = targets.frame[folds.splits[-1][1]]
    for family, trained in deep_models.items():
        if family not in ROW_WISE_FAMILIES:
            context.log.info(f"{family}: scores a whole cross-section at once; gradient SHAP per row does not apply")
            continue
        features = list(trained.features)
        values, rows = panel_gradient_shap(trained.result.models[-1], test_rows, max_rows=config.max_rows,
                                           n_samples=config.n_samples, seed=config.seed)
        X = rows.join(test_rows.select(["date", "asset", *features]), on=["date", "asset"], how="left")
        tables.append(mean_abs_shap(values, features).with_columns(pl.lit(family).alias("family")))
        pngs.append(shap_summary_plot(values, X.select(features), features, state.reports_dir / f"shap_{family}.png"))
    table = (pl.concat(tables).select(["family", "feature", "mean_abs_shap"]) if tables
             else pl.DataFrame(schema={"family": pl.String, "feature": pl.String, "mean_abs_shap": pl.Float64}))
    metadata = {"mean_abs_shap": markdown_table(table, max_rows=60)}
    if tables:
        path = _write(table, state.reports_dir / "shap_deep_models.parquet")
        with mlflow.asset_run(context, targets.data_version) as run:
            for png in [*pngs, path]:
                run.log_artifact(png, "explain")
        metadata["summary_plot"] = image(pngs[0])
    return dg.Output(table, metadata=metadata)
