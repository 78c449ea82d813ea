"""Regime switching: per-regime blend weights and the routing table that scoring consumes.

Some signals only pay in one market state (a mean-reversion signal in calm markets, a
defensive one in stress). A routing table says, for each regime label, which member signals
are used and with what weight; live scoring looks up today's point-in-time regime and blends
the members with that row. Weights are fitted on out-of-fold predictions of the earlier dates
only and judged on later dates they never saw, like :func:`~quant_core.ensemble.fit_blend`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from quant_core.ensemble.blend import (
    _check,
    _mean_rank_ic,
    _transformed,
    blend_transform,
    blend_weights,
    outer_split,
)

__all__ = [
    "DEFAULT_REGIME",
    "ROUTING_SCHEMA",
    "RegimeBlendResult",
    "apply_routing",
    "fit_regime_blend",
    "ic_by_regime",
    "routing_table",
]

#: Routing-table regime label of the fallback weights: used on dates whose regime is null
#: (detector warm-up) or has no row of its own (too rare on the fitting dates, or unseen).
DEFAULT_REGIME = "*"

ROUTING_SCHEMA = {
    "regime": pl.String,
    "member": pl.String,
    "weight": pl.Float64,
    "used": pl.Boolean,
    "transform": pl.String,
    "n_fit_dates": pl.Int64,
    "fit_rank_ic": pl.Float64,
}


def routing_table(
    weights_by_regime: Mapping[str, Mapping[str, float]],
    transform: str = "zscore",
    n_fit_dates: Mapping[str, int] | None = None,
    fit_rank_ic: Mapping[str, Mapping[str, float]] | None = None,
) -> pl.DataFrame:
    """Build a routing table: one row per (regime, member).

    Parameters
    ----------
    weights_by_regime : mapping regime -> (member -> weight)
        Must contain :data:`DEFAULT_REGIME`; every regime must name the same members, with
        non-negative weights that sum to one.
    transform : {"zscore", "rank"}
        Per-date member transform before weighting (as in :func:`apply_blend`).
    n_fit_dates, fit_rank_ic : optional
        Bookkeeping columns: fitting dates per regime; member rank IC per regime.

    Returns
    -------
    pl.DataFrame
        ``regime, member, weight, used, transform, n_fit_dates, fit_rank_ic``
        (:data:`ROUTING_SCHEMA`); ``used`` is ``weight > 0``.
    """
    if DEFAULT_REGIME not in weights_by_regime:
        raise ValueError(
            f"weights_by_regime must hold the fallback regime {DEFAULT_REGIME!r}, "
            f"got {list(weights_by_regime)}"
        )
    if transform not in ("zscore", "rank"):
        raise ValueError(f"transform must be 'zscore' or 'rank', got {transform!r}")
    members = list(weights_by_regime[DEFAULT_REGIME])
    rows = []
    for regime, weights in weights_by_regime.items():
        if sorted(weights) != sorted(members):
            raise ValueError(f"regime {regime!r} names members {list(weights)}, expected {members}")
        w = np.array([float(weights[m]) for m in members])
        if (w < 0).any() or not np.isfinite(w).all() or abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights of regime {regime!r} must be >= 0 and sum to 1, got {w}")
        for m, x in zip(members, w, strict=True):
            rows.append(
                {
                    "regime": regime,
                    "member": m,
                    "weight": float(x),
                    "used": bool(x > 0),
                    "transform": transform,
                    "n_fit_dates": None if n_fit_dates is None else n_fit_dates.get(regime),
                    "fit_rank_ic": None
                    if fit_rank_ic is None
                    else fit_rank_ic.get(regime, {}).get(m),
                }
            )
    return pl.DataFrame(rows, schema=ROUTING_SCHEMA)


def _regime_lookup(regimes: pl.DataFrame, regime_col: str) -> pl.DataFrame:
    for c in ("date", regime_col):
        if c not in regimes.columns:
            raise ValueError(f"regimes is missing column {c!r}; has {regimes.columns}")
    lookup = regimes.select("date", pl.col(regime_col).cast(pl.String).alias("_regime"))
    if lookup.get_column("date").is_duplicated().any():
        raise ValueError("regimes must hold one row per date")
    return lookup


def apply_routing(
    frame: pl.DataFrame,
    routing: pl.DataFrame,
    regimes: pl.DataFrame,
    output: str = "ensemble",
    regime_col: str = "regime",
) -> pl.DataFrame:
    """Score ``frame`` with the routing row of each date's regime.

    Parameters
    ----------
    frame : pl.DataFrame
        ``date, asset`` and one column per member named in ``routing``.
    routing : pl.DataFrame
        A table from :func:`routing_table` / :func:`fit_regime_blend`.
    regimes : pl.DataFrame
        ``date, <regime_col>``: the point-in-time regime of each date. Dates absent from it,
        null regimes and regimes without a routing row use the :data:`DEFAULT_REGIME` row.

    Returns
    -------
    pl.DataFrame
        ``frame`` in its row order with ``output`` added: on each date, the sum over members of
        weight x the member's per-date z-score (after ranking if ``transform == "rank"``).
    """
    missing = [c for c in ROUTING_SCHEMA if c not in routing.columns]
    if missing:
        raise ValueError(f"routing is missing columns {missing}")
    transforms = routing.get_column("transform").unique().to_list()
    if len(transforms) != 1:
        raise ValueError(f"routing must use one transform, got {transforms}")
    wide = routing.pivot(on="member", index="regime", values="weight")
    members = [c for c in wide.columns if c != "regime"]
    if DEFAULT_REGIME not in wide.get_column("regime").to_list():
        raise ValueError(f"routing has no fallback row for regime {DEFAULT_REGIME!r}")
    _check(frame, members, ["date"])
    known = [r for r in wide.get_column("regime").to_list() if r != DEFAULT_REGIME]
    lookup = _regime_lookup(regimes, regime_col).with_columns(
        pl.when(pl.col("_regime").is_in(known))
        .then(pl.col("_regime"))
        .otherwise(pl.lit(DEFAULT_REGIME))
        .alias("_regime")
    )
    t = _transformed(frame.select(["date", *members]), members, transforms[0])
    w = (
        frame.select("date")
        .join(lookup, on="date", how="left", maintain_order="left")
        .with_columns(pl.col("_regime").fill_null(DEFAULT_REGIME))
        .join(
            wide.rename({m: f"_w_{m}" for m in members}),
            left_on="_regime",
            right_on="regime",
            how="left",
            maintain_order="left",
        )
    )
    score = np.zeros(frame.height, dtype=np.float64)
    for m in members:
        score += w.get_column(f"_w_{m}").to_numpy() * t.get_column(m).to_numpy()
    return frame.with_columns(pl.Series(output, score, dtype=pl.Float64))


@dataclass
class RegimeBlendResult:
    """Fitted regime-switching blend.

    Attributes
    ----------
    routing : pl.DataFrame
        The routing table (:data:`ROUTING_SCHEMA`); the :data:`DEFAULT_REGIME` rows hold the
        static blend fitted on all fitting dates.
    method : str
    fit_dates, eval_dates : tuple[date, date]
        Fitting and held-out evaluation periods; every eval date is after every fit date.
    eval_frame : pl.DataFrame
        ``date, asset, target, regime, ensemble, static, <members>`` on the eval dates;
        ``static`` is the default-row blend (the static benchmark).
    static_weights : dict[str, float]
    """

    routing: pl.DataFrame
    method: str
    fit_dates: tuple[Any, Any]
    eval_dates: tuple[Any, Any]
    eval_frame: pl.DataFrame
    static_weights: dict[str, float] = field(default_factory=dict)

    def apply(
        self, frame: pl.DataFrame, regimes: pl.DataFrame, output: str = "ensemble"
    ) -> pl.DataFrame:
        """Score ``frame`` (date, asset, <members>) with this routing table."""
        return apply_routing(frame, self.routing, regimes, output=output)


def fit_regime_blend(
    oof_wide: pl.DataFrame,
    members: Sequence[str],
    regimes: pl.DataFrame,
    method: str = "ic_weighted",
    outer_test_fraction: float = 0.3,
    min_regime_dates: int = 20,
    target: str = "target",
    regime_col: str = "regime",
) -> RegimeBlendResult:
    """Fit one blend per regime on the earlier out-of-fold dates; evaluate on the later ones.

    Parameters
    ----------
    oof_wide : pl.DataFrame
        ``date, asset, target`` and one out-of-fold prediction column per member.
    members : sequence of str
    regimes : pl.DataFrame
        ``date, <regime_col>``: a point-in-time label per date (e.g. from a detector fitted
        on the same fitting dates). A row dated t is routed by the regime at t.
    method : str, default "ic_weighted"
        A :data:`~quant_core.ensemble.BLEND_METHODS` method, used for every regime.
    outer_test_fraction : float, default 0.3
        Latest share of unique dates held out (the same cut as :func:`fit_blend`).
    min_regime_dates : int, default 20
        A regime with fewer fitting dates gets no row of its own (it uses the default row).

    Returns
    -------
    RegimeBlendResult
    """
    if min_regime_dates < 1:
        raise ValueError(f"min_regime_dates must be >= 1, got {min_regime_dates}")
    transform = blend_transform(method)
    members = list(members)
    _check(oof_wide, members, ["date", "asset", target])
    lookup = _regime_lookup(regimes, regime_col)
    dates = oof_wide.get_column("date").unique().sort()
    last_fit = outer_split(dates, outer_test_fraction)
    # Only rows up to the last fitting date are read to fit the routing.
    fit = oof_wide.filter(pl.col("date") <= last_fit).join(
        lookup, on="date", how="left", maintain_order="left"
    )
    static, static_ic = blend_weights(fit, members, method, target=target)
    weights: dict[str, dict[str, float]] = {DEFAULT_REGIME: static}
    n_dates = {DEFAULT_REGIME: int(fit.get_column("date").n_unique())}
    ics = {DEFAULT_REGIME: static_ic}
    labels = sorted(fit.get_column("_regime").drop_nulls().unique().to_list())
    for label in labels:
        part = fit.filter(pl.col("_regime") == label)
        n = int(part.get_column("date").n_unique())
        if n < min_regime_dates:
            continue
        weights[label], ics[label] = blend_weights(part, members, method, target=target)
        n_dates[label] = n
    routing = routing_table(weights, transform, n_dates, ics)

    evl = oof_wide.filter(pl.col("date") > last_fit).sort(["date", "asset"])
    scored = apply_routing(evl, routing, regimes, regime_col=regime_col)
    static_routing = routing.filter(pl.col("regime") == DEFAULT_REGIME)
    scored = apply_routing(scored, static_routing, regimes, output="static", regime_col=regime_col)
    eval_frame = scored.join(lookup, on="date", how="left", maintain_order="left").select(
        "date",
        "asset",
        pl.col(target).cast(pl.Float64).alias("target"),
        pl.col("_regime").alias("regime"),
        "ensemble",
        "static",
        *members,
    )
    return RegimeBlendResult(
        routing=routing,
        method=method,
        fit_dates=(dates[0], last_fit),
        eval_dates=(dates.filter(dates > last_fit)[0], dates[-1]),
        eval_frame=eval_frame,
        static_weights=static,
    )


def ic_by_regime(
    frame: pl.DataFrame,
    signals: Sequence[str],
    regimes: pl.DataFrame,
    target: str = "target",
    regime_col: str = "regime",
) -> pl.DataFrame:
    """Mean per-date Spearman rank IC of each signal within each regime (and overall).

    Returns
    -------
    pl.DataFrame
        ``regime, signal, rank_ic_mean, n_dates``; ``regime`` is null for dates without a
        label and ``DEFAULT_REGIME`` ("*") for the all-dates row.
    """
    signals = list(signals)
    _check(frame, signals, ["date", target])
    joined = frame.join(_regime_lookup(regimes, regime_col), on="date", how="left")
    rows = []
    groups = [(DEFAULT_REGIME, joined)] + [
        (key[0], part)
        for key, part in joined.sort("_regime", nulls_last=True).group_by(
            "_regime", maintain_order=True
        )
    ]
    for label, part in groups:
        ic = _mean_rank_ic(part, signals, target)
        n = int(part.get_column("date").n_unique())
        rows += [
            {"regime": label, "signal": s, "rank_ic_mean": ic[s], "n_dates": n} for s in signals
        ]
    return pl.DataFrame(
        rows,
        schema={
            "regime": pl.String,
            "signal": pl.String,
            "rank_ic_mean": pl.Float64,
            "n_dates": pl.Int64,
        },
    )
