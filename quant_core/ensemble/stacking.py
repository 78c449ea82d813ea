"""Stacking: a meta-model learns how to combine out-of-fold member signals.

Where a blend fixes one weight per member, a stacked meta-model (ridge, or a shallow LightGBM)
regresses the cross-sectionally standardised target on the standardised member signals and
optional point-in-time regime features, so a member's weight can depend on the market state.
It is fitted on the earlier out-of-fold dates only and judged on later dates it never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from quant_core.ensemble.blend import _check, outer_split, zscore_by_date

__all__ = ["STACKING_META", "StackingResult", "fit_stacking", "stacking_design"]

STACKING_META = ("ridge", "lightgbm")

#: Shallow, heavily regularised trees: the meta-model should combine signals, not re-learn them.
_META_LGB_PARAMS: dict[str, Any] = {
    "num_leaves": 4,
    "max_depth": 2,
    "min_data_in_leaf": 200,
    "learning_rate": 0.05,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
    "lambda_l2": 10.0,
}


def _regime_columns(regime_features: pl.DataFrame | None) -> list[str]:
    if regime_features is None:
        return []
    if "date" not in regime_features.columns:
        raise ValueError(
            f"regime_features must have a 'date' column, got {regime_features.columns}"
        )
    cols = [c for c in regime_features.columns if c != "date"]
    bad = [c for c in cols if not regime_features.schema[c].is_numeric()]
    if bad or not cols:
        raise ValueError(f"regime_features needs numeric columns besides 'date', got {cols}")
    if regime_features.get_column("date").is_duplicated().any():
        raise ValueError("regime_features must hold one row per date")
    return cols


def stacking_design(
    frame: pl.DataFrame,
    members: Sequence[str],
    regime_features: pl.DataFrame | None = None,
    interactions: bool = True,
) -> tuple[pl.DataFrame, list[str]]:
    """Meta-model inputs: per-date z-scored members, regime features and their interactions.

    A regime feature is constant within a date, so on its own it cannot change a ranking;
    its product with a member (``<member>__x__<feature>``) lets a linear meta-model tilt that
    member's weight with the regime. Regime values missing for a date are set to 0.

    Returns
    -------
    (pl.DataFrame, list of str)
        ``frame`` with member columns z-scored and the design columns added, and the list of
        design column names in order.
    """
    members = list(members)
    _check(frame, members, ["date"])
    cols = _regime_columns(regime_features)
    out = zscore_by_date(frame, members)
    design = list(members)
    if cols:
        reg = regime_features.select("date", *[pl.col(c).cast(pl.Float64) for c in cols])
        out = out.join(reg, on="date", how="left", maintain_order="left").with_columns(
            [pl.col(c).fill_nan(None).fill_null(0.0) for c in cols]
        )
        design += cols
        if interactions:
            inter = [(m, c) for c in cols for m in members]
            out = out.with_columns(
                [(pl.col(m) * pl.col(c)).alias(f"{m}__x__{c}") for m, c in inter]
            )
            design += [f"{m}__x__{c}" for m, c in inter]
    return out, design


@dataclass
class StackingResult:
    """Fitted stacked ensemble.

    Attributes
    ----------
    meta_model : RidgeRegressor or LightGBMRegressor
        Fitted on the design columns of the fitting dates.
    meta : str
    members, regime_columns, design_columns : list of str
    interactions : bool
    fit_dates, eval_dates : tuple[date, date]
    eval_frame : pl.DataFrame
        ``date, asset, target, ensemble, <members>`` (members raw) on the evaluation dates.
    coefficients : dict[str, float]
        Ridge: coefficient per design column (standardised units); LightGBM: total gain.
    """

    meta_model: Any
    meta: str
    members: list[str]
    regime_columns: list[str]
    design_columns: list[str]
    interactions: bool
    fit_dates: tuple[Any, Any]
    eval_dates: tuple[Any, Any]
    eval_frame: pl.DataFrame
    coefficients: dict[str, float]

    def apply(
        self,
        frame: pl.DataFrame,
        regime_features: pl.DataFrame | None = None,
        output: str = "ensemble",
    ) -> pl.DataFrame:
        """Score ``frame`` (date, asset, <members>) with the meta-model."""
        if self.regime_columns and regime_features is None:
            raise ValueError(f"this stack uses regime features {self.regime_columns}; pass them")
        design, _ = stacking_design(
            frame, self.members, regime_features if self.regime_columns else None, self.interactions
        )
        score = self.meta_model.predict(design)
        return frame.with_columns(pl.Series(output, score, dtype=pl.Float64))


def fit_stacking(
    oof_wide: pl.DataFrame,
    members: Sequence[str],
    meta: str = "ridge",
    regime_features: pl.DataFrame | None = None,
    outer_test_fraction: float = 0.3,
    target: str = "target",
    alpha: float = 10.0,
    interactions: bool = True,
    num_boost_round: int = 100,
    seed: int = 0,
) -> StackingResult:
    """Fit a meta-model on the earliest out-of-fold dates; evaluate it on the rest.

    Parameters
    ----------
    oof_wide : pl.DataFrame
        ``date, asset, target`` and one out-of-fold prediction column per member.
    members : sequence of str
    meta : {"ridge", "lightgbm"}
        Ridge (``alpha``) on the design columns, or a shallow LightGBM (depth 2, 4 leaves,
        200 rows per leaf, ``num_boost_round`` trees, no early stopping).
    regime_features : pl.DataFrame, optional
        ``date`` plus numeric point-in-time regime columns (e.g. an HMM's filtered
        ``p_stressed``); values must be known at each date's close.
    outer_test_fraction : float, default 0.3
        Latest share of unique dates held out (same cut as :func:`fit_blend`).
    target : str, default "target"
        Regressed after a per-date z-score, so the meta-model learns the cross-section.
    alpha : float, default 10.0
        Ridge penalty.
    interactions : bool, default True
        Add member x regime-feature products (see :func:`stacking_design`).

    Returns
    -------
    StackingResult
    """
    from quant_core.models import LightGBMRegressor, RidgeRegressor

    if meta not in STACKING_META:
        raise ValueError(f"meta must be one of {STACKING_META}, got {meta!r}")
    members = list(members)
    _check(oof_wide, members, ["date", "asset", target])
    dates = oof_wide.get_column("date").unique().sort()
    last_fit = outer_split(dates, outer_test_fraction)
    # Only rows up to the last fitting date are read to fit the meta-model.
    fit = oof_wide.filter(
        (pl.col("date") <= last_fit) & pl.col(target).is_not_null() & pl.col(target).is_not_nan()
    )
    design, cols = stacking_design(fit, members, regime_features, interactions)
    design = zscore_by_date(design.with_columns(pl.col(target).cast(pl.Float64)), [target])
    if meta == "ridge":
        model: Any = RidgeRegressor(cols, target=target, alpha=alpha).fit(design)
        coefficients = {c: float(v) for c, v in zip(cols, model.coef_, strict=True)}
    else:
        model = LightGBMRegressor(
            cols,
            target=target,
            params=_META_LGB_PARAMS,
            num_boost_round=num_boost_round,
            early_stopping_rounds=None,
            seed=seed,
        ).fit(design)
        coefficients = dict(model.feature_importance_)
    result = StackingResult(
        meta_model=model,
        meta=meta,
        members=members,
        regime_columns=_regime_columns(regime_features),
        design_columns=cols,
        interactions=interactions,
        fit_dates=(dates[0], last_fit),
        eval_dates=(dates.filter(dates > last_fit)[0], dates[-1]),
        eval_frame=pl.DataFrame(),
        coefficients=coefficients,
    )
    evl = oof_wide.filter(pl.col("date") > last_fit).sort(["date", "asset"])
    scored = result.apply(evl, regime_features)
    result.eval_frame = scored.select(
        "date", "asset", pl.col(target).cast(pl.Float64).alias("target"), "ensemble", *members
    )
    return result
