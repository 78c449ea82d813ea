"""SHAP importance by market regime: which features drive the model in calm and in stress.

A model that leans on a momentum feature in calm markets and on a defensive one in stress has
a regime-dependent explanation; pooling all dates hides it. Attributions are cut by the
regime label of each row's date.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["shap_by_regime"]


def shap_by_regime(
    shap_frame: pl.DataFrame,
    regimes: pl.DataFrame,
    features: Sequence[str],
    regime_col: str = "regime",
    target: str = "target",
) -> pl.DataFrame:
    """Mean |SHAP| and mean SHAP of each feature within each regime.

    Parameters
    ----------
    shap_frame : pl.DataFrame
        A SHAP frame (``date`` plus one SHAP column per feature), e.g. from
        :func:`~quant_core.explain.fold_shap`.
    regimes : pl.DataFrame
        ``date, <regime_col>``: one label per date (the simulator's ``regimes``, or a
        point-in-time detector's output). Rows whose date has no label are left out.
    features : sequence of str
    regime_col : str, default "regime"
    target : str, default "target"

    Returns
    -------
    pl.DataFrame
        ``regime, feature, mean_abs_shap, mean_shap, share, rank, n_rows, contribution_rank_ic``
        sorted by regime then rank; ``share`` is the feature's part of the regime's total
        mean |SHAP|. ``contribution_rank_ic`` (null without a ``target`` column) is the mean
        per-date Spearman IC of the feature's SHAP values against the target on the regime's
        dates: a feature can carry the same weight in the model in both regimes (similar
        |SHAP|) yet pay only in one (IC), which is what a regime router exploits.
    """
    from quant_core.validation import ic_series

    features = list(features)
    missing = [c for c in ["date", *features] if c not in shap_frame.columns]
    if missing:
        raise ValueError(f"shap_frame is missing columns {missing}")
    for c in ("date", regime_col):
        if c not in regimes.columns:
            raise ValueError(f"regimes is missing column {c!r}; has {regimes.columns}")
    labels = regimes.select("date", pl.col(regime_col).cast(pl.String).alias("regime"))
    if labels.get_column("date").is_duplicated().any():
        raise ValueError("regimes must hold one row per date")
    joined = shap_frame.select("date", *features).join(labels, on="date", how="inner")
    joined = joined.filter(pl.col("regime").is_not_null())
    agg = joined.group_by("regime").agg(
        pl.len().cast(pl.Int64).alias("n_rows"),
        *[pl.col(f).abs().mean().alias(f"abs__{f}") for f in features],
        *[pl.col(f).mean().alias(f"mean__{f}") for f in features],
    )
    abs_long = agg.unpivot(
        index=["regime", "n_rows"],
        on=[f"abs__{f}" for f in features],
        variable_name="feature",
        value_name="mean_abs_shap",
    ).with_columns(pl.col("feature").str.strip_prefix("abs__"))
    mean_long = agg.unpivot(
        index="regime",
        on=[f"mean__{f}" for f in features],
        variable_name="feature",
        value_name="mean_shap",
    ).with_columns(pl.col("feature").str.strip_prefix("mean__"))
    total = pl.col("mean_abs_shap").sum().over("regime")
    ic_schema = {"regime": pl.String, "feature": pl.String, "contribution_rank_ic": pl.Float64}
    ic_rows = pl.DataFrame(schema=ic_schema)
    if target in shap_frame.columns:
        with_target = shap_frame.select("date", target, *features).join(labels, on="date")
        parts = []
        for f in features:
            ic = ic_series(with_target, f, target).join(labels, on="date")
            parts.append(
                ic.filter(pl.col("regime").is_not_null())
                .group_by("regime")
                .agg(pl.col("ic").mean().alias("contribution_rank_ic"))
                .with_columns(pl.lit(f).alias("feature"))
                .select(list(ic_schema))
            )
        ic_rows = pl.concat(parts)
    return (
        abs_long.join(mean_long, on=["regime", "feature"])
        .with_columns(
            pl.when(total > 0).then(pl.col("mean_abs_shap") / total).otherwise(0.0).alias("share"),
            pl.col("mean_abs_shap")
            .rank("ordinal", descending=True)
            .over("regime")
            .cast(pl.Int64)
            .alias("rank"),
        )
        .join(ic_rows, on=["regime", "feature"], how="left")
        .select(
            "regime",
            "feature",
            "mean_abs_shap",
            "mean_shap",
            "share",
            "rank",
            "n_rows",
            "contribution_rank_ic",
        )
        .sort(["regime", "rank"])
    )
