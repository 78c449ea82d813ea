"""Feature families and their share of a model's cross-sectional signal and of its IC.

Researchers think in families (momentum, reversal, volatility, volume) rather than single
columns. Summing the SHAP values of a family's features gives the family's contribution to
each prediction; because SHAP values add up to the prediction, the family contributions
decompose both the cross-sectional variance of the score and its per-date Pearson IC exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

__all__ = [
    "DEFAULT_GROUP_PREFIXES",
    "feature_groups",
    "group_contributions",
    "group_shap",
]

#: Name prefix -> family, matched longest prefix first (so ``volume_`` beats ``vol_``).
DEFAULT_GROUP_PREFIXES: dict[str, str] = {
    "mom_": "momentum",
    "rev_": "reversal",
    "vol_": "volatility",
    "volume_": "volume",
    "hl_": "range",
    "ret_": "return",
    "sig_": "signal",
    "noise_": "noise",
}


def feature_groups(
    features: Sequence[str],
    groups: Mapping[str, Sequence[str]] | None = None,
    prefixes: Mapping[str, str] | None = None,
    other: str = "other",
) -> dict[str, list[str]]:
    """Assign every feature to exactly one family.

    Parameters
    ----------
    features : sequence of str
    groups : mapping family -> features, optional
        Explicit assignment; it wins over the prefix rule. A feature may appear once only.
    prefixes : mapping prefix -> family, optional
        Default :data:`DEFAULT_GROUP_PREFIXES`; the longest matching prefix decides.
    other : str, default "other"
        Family of features matched by neither.

    Returns
    -------
    dict[str, list[str]]
        Family -> features in ``features`` order; families ordered by first appearance.
    """
    features = list(features)
    if len(set(features)) != len(features):
        raise ValueError(f"features must be unique, got {features}")
    prefixes = DEFAULT_GROUP_PREFIXES if prefixes is None else dict(prefixes)
    explicit: dict[str, str] = {}
    for family, cols in (groups or {}).items():
        for c in cols:
            if c in explicit:
                raise ValueError(f"feature {c!r} is in groups {explicit[c]!r} and {family!r}")
            if c not in features:
                raise ValueError(f"groups name feature {c!r} that is not in features")
            explicit[c] = family
    ordered = sorted(prefixes, key=len, reverse=True)
    out: dict[str, list[str]] = {}
    for f in features:
        family = explicit.get(f)
        if family is None:
            family = next((prefixes[p] for p in ordered if f.startswith(p)), other)
        out.setdefault(family, []).append(f)
    return out


def _check_groups(shap_frame: pl.DataFrame, groups: Mapping[str, Sequence[str]]) -> None:
    if not groups:
        raise ValueError("groups must name at least one family, got {}")
    cols = [c for g in groups.values() for c in g]
    missing = [c for c in ["date", *cols] if c not in shap_frame.columns]
    if missing:
        raise ValueError(f"shap_frame is missing columns {missing}")
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise ValueError(f"features {dupes} belong to more than one group")


def group_shap(shap_frame: pl.DataFrame, groups: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Per-row family contributions: the sum of each family's SHAP values.

    Returns the SHAP frame's key columns (``date, asset, fold, target, base_value,
    prediction`` where present) plus one column per family.
    """
    _check_groups(shap_frame, groups)
    keys = [
        c
        for c in ("date", "asset", "fold", "target", "base_value", "prediction")
        if c in shap_frame.columns
    ]
    return shap_frame.select(
        *keys, *[pl.sum_horizontal(list(cols)).alias(g) for g, cols in groups.items()]
    )


def group_contributions(
    shap_frame: pl.DataFrame, groups: Mapping[str, Sequence[str]], target: str = "target"
) -> pl.DataFrame:
    """Each family's share of the score's cross-sectional variance and of its IC.

    With ``C_g`` the family contribution and ``P`` the prediction, both demeaned within each
    date (only the cross-section matters for a ranking signal):

    * ``variance_share = sum C_g P / sum P^2`` over all rows: the shares add up to one when
      the groups cover every feature, and a family can have a negative share (it offsets the
      others).
    * ``ic_contribution`` = mean over dates of ``cov_d(C_g, y) / (sd_d(P) sd_d(y))``: the
      family's additive part of the score's per-date Pearson IC; the contributions add up to
      the mean Pearson IC of the prediction. ``ic_share`` divides by that total.
    * ``standalone_rank_ic``: mean per-date Spearman IC of ``C_g`` alone against the target.

    Returns
    -------
    pl.DataFrame
        ``group, n_features, features, mean_abs_contribution, variance_share,
        ic_contribution, ic_share, standalone_rank_ic`` sorted by ``mean_abs_contribution``
        descending. The IC columns are null when the frame has no ``target``.
    """
    from quant_core.validation import ic_series

    _check_groups(shap_frame, groups)
    if "prediction" not in shap_frame.columns:
        raise ValueError("shap_frame needs a 'prediction' column (see shap_to_frame)")
    names = list(groups)
    has_target = target in shap_frame.columns
    contrib = group_shap(shap_frame, groups)
    if has_target:
        contrib = contrib.filter(pl.col(target).is_not_null() & pl.col(target).is_not_nan())

    def dm(c: str) -> pl.Expr:
        return pl.col(c) - pl.col(c).mean().over("date")

    centred = contrib.select(
        "date",
        dm("prediction").alias("_p"),
        *[dm(g).alias(g) for g in names],
        *([dm(target).alias("_y")] if has_target else []),
    )
    var_p = float((centred.get_column("_p") ** 2).sum())
    abs_mean = contrib.select([pl.col(g).abs().mean() for g in names]).row(0)
    var_share = centred.select([(pl.col(g) * pl.col("_p")).sum() for g in names]).row(0)
    rows = []
    ic_total = None
    if has_target:
        n_d = pl.len().over("date")
        per_date = (
            centred.with_columns(
                (pl.col("_p").pow(2).sum().over("date") / n_d).sqrt().alias("_sp"),
                (pl.col("_y").pow(2).sum().over("date") / n_d).sqrt().alias("_sy"),
            )
            .group_by("date")
            .agg(
                [
                    (
                        (pl.col(g) * pl.col("_y")).mean() / (pl.col("_sp") * pl.col("_sy")).first()
                    ).alias(g)
                    for g in names
                ]
            )
        )
        per_date = per_date.filter(pl.all_horizontal([pl.col(g).is_finite() for g in names]))
        ic_parts = per_date.select([pl.col(g).mean() for g in names]).row(0)
        ic_total = float(sum(ic_parts))
    for j, g in enumerate(names):
        row = {
            "group": g,
            "n_features": len(groups[g]),
            "features": ",".join(groups[g]),
            "mean_abs_contribution": float(abs_mean[j]),
            "variance_share": float(var_share[j]) / var_p if var_p > 0 else None,
            "ic_contribution": None,
            "ic_share": None,
            "standalone_rank_ic": None,
        }
        if has_target:
            row["ic_contribution"] = float(ic_parts[j])
            row["ic_share"] = float(ic_parts[j]) / ic_total if ic_total else None
            ic = ic_series(contrib, g, target)
            row["standalone_rank_ic"] = float(ic.get_column("ic").mean()) if ic.height else None
        rows.append(row)
    schema = {
        "group": pl.String,
        "n_features": pl.Int64,
        "features": pl.String,
        **{
            c: pl.Float64
            for c in (
                "mean_abs_contribution",
                "variance_share",
                "ic_contribution",
                "ic_share",
                "standalone_rank_ic",
            )
        },
    }
    return pl.DataFrame(rows, schema=schema).sort(
        "mean_abs_contribution", descending=True, maintain_order=True
    )
