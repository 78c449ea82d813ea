"""Stage: why the models predict what they do. Exact TreeSHAP of each LightGBM fold model on its
own test rows (importance, stability across folds, families, regimes, interactions), the drop in
out-of-sample Rank IC when a feature or family is shuffled within dates, and gradient SHAP of the
row-wise torch families. Plots and tables are written under ``out_dir``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from quant_core.config_fields import described
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

__all__ = [
    "DeepShapConfig",
    "DeepShapResult",
    "PermutationConfig",
    "PermutationResult",
    "ShapConfig",
    "ShapResult",
    "explain_deep_families",
    "explain_lightgbm",
    "permutation_importance",
]


@dataclass(frozen=True)
class ShapConfig:
    max_rows_per_fold: int = described(2000, "Test rows sampled per fold for SHAP")
    interaction_rows: int = described(300, "Rows of the last fold explained for interaction pairs")
    stability_threshold: float = described(0.5, "Flag importances whose mean fold-pair Spearman is lower")
    seed: int = described(0, "Sampling seed")


@dataclass(frozen=True)
class PermutationConfig:
    n_repeats: int = described(3, "Shuffles per feature (within each date)")
    seed: int = described(0, "Shuffle seed")
    n_boot: int = described(300, "Block-bootstrap draws of each importance's confidence interval")


@dataclass(frozen=True)
class DeepShapConfig:
    max_rows: int = described(500, "Test rows of the last fold explained per family")
    n_samples: int = described(100, "Expected-gradient draws per row")
    seed: int = described(0, "Sampling seed")


def _write(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_parquet(path)
    return path


@dataclass(frozen=True)
class ShapResult:
    """TreeSHAP tables (``tables``: name -> parquet path) and plots (``plots``: name -> PNG path)."""

    importance: pl.DataFrame
    by_fold: pl.DataFrame
    stability: Any  # quant_core.explain.ImportanceStability
    families: pl.DataFrame
    by_regime: pl.DataFrame
    interactions: pl.DataFrame
    n_rows_explained: int
    plots: Mapping[str, Path]
    tables: Mapping[str, Path]


def explain_lightgbm(models: Sequence[Any], frame: ModellingFrame, folds: FoldPlan, features: Sequence[str],
                     regimes: pl.DataFrame, out_dir: str | Path, config: ShapConfig = ShapConfig(),
                     family: str = "lightgbm") -> ShapResult:
    """TreeSHAP of each fold model on its own test rows: importance, stability, families, regimes,
    interaction pairs (of the last fold)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    features = list(features)
    shap_frame = fold_shap(list(models), frame.frame, folds.splits, features,
                           max_rows_per_fold=config.max_rows_per_fold, seed=config.seed)
    values = shap_frame.select(features).to_numpy()
    X = shap_frame.select(["date", "asset"]).join(  # feature values of the explained rows, same order
        frame.frame.select(["date", "asset", *features]), on=["date", "asset"], how="left").select(features)
    importance = mean_abs_shap(values, features)
    by_fold = mean_abs_shap_by_fold(shap_frame, features)
    stability = importance_stability(by_fold, threshold=config.stability_threshold)
    families = group_contributions(shap_frame, feature_groups(features))
    by_regime = shap_by_regime(shap_frame, regimes.select(["date", "regime"]), features)
    last_fold_rows = frame.frame[folds.splits[-1][1]]
    interaction_values, _ = tree_interactions(models[-1], last_fold_rows.select(features), features,
                                              max_rows=config.interaction_rows, seed=config.seed)
    interactions = top_interactions(interaction_values, features)
    plots = {
        "summary": shap_summary_plot(values, X, features, out / f"shap_{family}.png"),
        "dependence": shap_dependence_plot(values, X, features, out / f"shap_dependence_{family}.png"),
        "families": group_bar_plot(families, out / f"shap_families_{family}.png"),
        "regimes": regime_importance_plot(by_regime, out / f"shap_regimes_{family}.png"),
    }
    tables = {
        "mean_abs": _write(importance, out / "shap_mean_abs.parquet"),
        "by_fold": _write(by_fold, out / "shap_by_fold.parquet"),
        "families": _write(families, out / "shap_families.parquet"),
        "by_regime": _write(by_regime, out / "shap_by_regime.parquet"),
        "interactions": _write(interactions, out / "shap_interactions.parquet"),
    }
    return ShapResult(importance=importance, by_fold=by_fold, stability=stability, families=families,
                      by_regime=by_regime, interactions=interactions, n_rows_explained=int(values.shape[0]),
                      plots={k: Path(v) for k, v in plots.items()}, tables=tables)


@dataclass(frozen=True)
class PermutationResult:
    """Per-feature (and per-family) Rank IC drops, the baseline Rank IC, the plot and the table file."""

    table: pl.DataFrame
    baseline_rank_ic: float
    plot: Path
    table_path: Path


def permutation_importance(models: Sequence[Any], frame: ModellingFrame, folds: FoldPlan,
                           features: Sequence[str], out_dir: str | Path,
                           config: PermutationConfig = PermutationConfig(),
                           family: str = "lightgbm") -> PermutationResult:
    """Drop in out-of-sample Rank IC when a feature (or a whole family of features) is shuffled
    across assets within each date, with block-bootstrap confidence intervals."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    features = list(features)
    models = list(models)
    kwargs = {"n_repeats": config.n_repeats, "seed": config.seed, "n_boot": config.n_boot}
    result = fold_permutation_importance(models, frame.frame, folds.splits, features, **kwargs)
    table = result.table
    families = {name: cols for name, cols in feature_groups(features).items() if len(cols) > 1}
    if len(families) > 1:  # whole families shuffled together, beside the single features
        grouped = fold_permutation_importance(models, frame.frame, folds.splits, groups=families, **kwargs)
        table = pl.concat([table, grouped.table], how="diagonal_relaxed")
    # the top 25 features, and the families beside them, not one bar per feature
    png = permutation_importance_plot(table, out / f"permutation_{family}.png")
    table_path = _write(table, out / f"permutation_{family}.parquet")
    return PermutationResult(table=table, baseline_rank_ic=float(result.baseline["ic"].mean()),
                             plot=Path(png), table_path=table_path)


@dataclass(frozen=True)
class DeepShapResult:
    """Mean |SHAP| per (family, feature) of the row-wise torch families, their plots, and the
    families skipped (graph networks score a whole cross-section at once)."""

    table: pl.DataFrame
    plots: tuple[Path, ...]
    skipped: tuple[str, ...]
    table_path: Path | None


def explain_deep_families(fits: Mapping[str, tuple[Any, Sequence[str]]], frame: ModellingFrame,
                          folds: FoldPlan, out_dir: str | Path,
                          config: DeepShapConfig = DeepShapConfig()) -> DeepShapResult:
    """Gradient SHAP of each row-wise family's last fold model on its own test rows.

    ``fits`` maps family to ``(last fold model, features)``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables, plots, skipped = [], [], []
    test_rows = frame.frame[folds.splits[-1][1]]
    for family, (model, features) in fits.items():
        if family not in ROW_WISE_FAMILIES:
            skipped.append(family)
            continue
        features = list(features)
        values, rows = panel_gradient_shap(model, test_rows, max_rows=config.max_rows,
                                           n_samples=config.n_samples, seed=config.seed)
        X = rows.join(test_rows.select(["date", "asset", *features]), on=["date", "asset"], how="left")
        tables.append(mean_abs_shap(values, features).with_columns(pl.lit(family).alias("family")))
        plots.append(Path(shap_summary_plot(values, X.select(features), features, out / f"shap_{family}.png")))
    table = (pl.concat(tables).select(["family", "feature", "mean_abs_shap"]) if tables
             else pl.DataFrame(schema={"family": pl.String, "feature": pl.String, "mean_abs_shap": pl.Float64}))
    table_path = _write(table, out / "shap_deep_models.parquet") if tables else None
    return DeepShapResult(table=table, plots=tuple(plots), skipped=tuple(skipped), table_path=table_path)
