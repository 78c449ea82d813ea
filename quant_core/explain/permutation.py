"""Permutation importance measured in what a signal is paid for: out-of-sample Rank IC.

A feature matters if the model's cross-sectional ranking gets worse without it. Shuffling the
feature *across assets within each date* destroys exactly its cross-sectional information
while keeping its distribution on every date and any time-series pattern of that
distribution (shuffling across time would also move, e.g., a whole stressed period's values
into calm dates, and measure something else). Importance is the drop in mean per-date
Spearman IC, repeated ``n_repeats`` times, with a t-interval over repeats and a date-block
bootstrap interval over the per-date drops. A group of features is shuffled jointly (one
permutation for all its columns), so correlated family members cannot stand in for each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

__all__ = [
    "PermutationImportance",
    "fold_permutation_importance",
    "permutation_importance",
    "permute_within_dates",
]


def _within_date_order(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row order that shuffles rows among those sharing a date code, and nowhere else."""
    by_date = np.argsort(codes, kind="stable")
    shuffled = np.lexsort((rng.random(codes.size), codes))
    perm = np.empty_like(by_date)
    perm[by_date] = shuffled
    return perm


def permute_within_dates(
    frame: pl.DataFrame, columns: Sequence[str], rng: np.random.Generator | int
) -> pl.DataFrame:
    """Shuffle ``columns`` across assets inside each date, jointly (one permutation per date).

    Every date keeps the same multiset of values (and the same rows of ``columns`` stay
    together); only which asset carries them changes.
    """
    columns = list(columns)
    missing = [c for c in ["date", *columns] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing columns {missing}")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    codes = frame.get_column("date").rank("dense").to_numpy()
    perm = pl.Series(_within_date_order(codes, rng))
    return frame.with_columns([frame.get_column(c).gather(perm) for c in columns])


@dataclass
class PermutationImportance:
    """Result of :func:`permutation_importance`.

    Attributes
    ----------
    table : pl.DataFrame
        ``item, kind ("feature" | "group"), columns, baseline_rank_ic, permuted_rank_ic,
        importance, importance_std, t_ci_low, t_ci_high, boot_ci_low, boot_ci_high, n_repeats,
        n_dates, rank``, sorted by rank; ``importance`` is the mean drop in Rank IC.
    repeats : pl.DataFrame
        ``item, repeat, permuted_rank_ic, drop``: one row per permutation.
    baseline : pl.DataFrame
        ``date, ic``: the unpermuted per-date Rank IC.
    """

    table: pl.DataFrame
    repeats: pl.DataFrame
    baseline: pl.DataFrame


Part = tuple[Callable[[pl.DataFrame], np.ndarray], pl.DataFrame]


def _as_predict(model: Any) -> Callable[[pl.DataFrame], np.ndarray]:
    if callable(getattr(model, "predict", None)):
        return model.predict
    if callable(model):
        return model
    raise ValueError(f"model must have .predict(frame) or be callable, got {type(model)}")


def _rank_ic(parts: Sequence[Part], target: str, min_assets: int) -> pl.DataFrame:
    from quant_core.validation import ic_series

    ics = []
    for predict, rows in parts:
        scored = rows.select(
            "date",
            pl.col(target),
            pl.Series("_score", np.asarray(predict(rows), dtype=np.float64)),
        )
        ics.append(ic_series(scored, "_score", target, min_assets=min_assets).select("date", "ic"))
    # a date scored by several parts (combinatorial CV) counts once, parts averaged
    return pl.concat(ics).group_by("date").agg(pl.col("ic").mean()).sort("date")


def _run(
    parts: Sequence[Part],
    items: Mapping[str, Sequence[str]],
    kind: str,
    target: str,
    n_repeats: int,
    seed: int,
    ci_level: float,
    n_boot: int,
    block_days: int | None,
    min_assets: int,
) -> PermutationImportance:
    from quant_core.validation import block_bootstrap_mean_ci

    if n_repeats < 2:
        raise ValueError(f"n_repeats must be >= 2 for an interval, got {n_repeats}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
    for _, rows in parts:
        missing = [c for c in ["date", target] if c not in rows.columns]
        if missing:
            raise ValueError(f"frame is missing columns {missing}")
    baseline = _rank_ic(parts, target, min_assets)
    base_mean = float(baseline.get_column("ic").mean())
    rng = np.random.default_rng(seed)
    rows_out, rep_rows = [], []
    for item, cols in items.items():
        per_date, drops, permuted = [], [], []
        for r in range(n_repeats):
            shuffled = [(p, permute_within_dates(rows, cols, rng)) for p, rows in parts]
            ic = _rank_ic(shuffled, target, min_assets)
            joined = baseline.join(ic, on="date", how="inner", suffix="_perm")
            d = joined.get_column("ic") - joined.get_column("ic_perm")
            per_date.append(joined.select("date", d.alias(f"d{r}")))
            permuted.append(float(ic.get_column("ic").mean()))
            drops.append(base_mean - permuted[-1])
            rep_rows.append(
                {"item": item, "repeat": r, "permuted_rank_ic": permuted[-1], "drop": drops[-1]}
            )
        drops_arr = np.asarray(drops)
        mean, sd = float(drops_arr.mean()), float(drops_arr.std(ddof=1))
        half = float(stats.t.ppf(0.5 + ci_level / 2.0, n_repeats - 1)) * sd / np.sqrt(n_repeats)
        # per-date drop averaged over repeats; a block bootstrap keeps serial dependence
        wide = per_date[0]
        for extra in per_date[1:]:
            wide = wide.join(extra, on="date", how="inner")
        avg = wide.select(pl.mean_horizontal(pl.exclude("date"))).to_series().to_numpy()
        blk = block_days if block_days is not None else max(1, int(np.ceil(avg.size ** (1 / 3))))
        boot = block_bootstrap_mean_ci(avg, blk, n_boot=n_boot, seed=seed, level=ci_level)
        rows_out.append(
            {
                "item": item,
                "kind": kind,
                "columns": ",".join(cols),
                "baseline_rank_ic": base_mean,
                "permuted_rank_ic": float(np.mean(permuted)),
                "importance": mean,
                "importance_std": sd,
                "t_ci_low": mean - half,
                "t_ci_high": mean + half,
                "boot_ci_low": float(boot[0]),
                "boot_ci_high": float(boot[1]),
                "n_repeats": n_repeats,
                "n_dates": int(avg.size),
            }
        )
    table = (
        pl.DataFrame(rows_out)
        .sort("importance", descending=True, maintain_order=True)
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )
    table = table.select([c for c in table.columns if c != "rank"] + ["rank"])
    repeats = pl.DataFrame(
        rep_rows,
        schema={
            "item": pl.String,
            "repeat": pl.Int64,
            "permuted_rank_ic": pl.Float64,
            "drop": pl.Float64,
        },
    )
    return PermutationImportance(table=table, repeats=repeats, baseline=baseline)


def _items(
    features: Sequence[str] | None, groups: Mapping[str, Sequence[str]] | None
) -> tuple[dict[str, list[str]], str]:
    if groups is not None:
        if not groups:
            raise ValueError("groups must name at least one group, got {}")
        return {g: list(c) for g, c in groups.items()}, "group"
    if not features:
        raise ValueError(f"features must name at least one column, got {features}")
    return {f: [f] for f in features}, "feature"


def permutation_importance(
    model: Any,
    frame: pl.DataFrame,
    features: Sequence[str] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    *,
    target: str = "target",
    n_repeats: int = 5,
    seed: int = 0,
    ci_level: float = 0.95,
    n_boot: int = 1000,
    block_days: int | None = None,
    min_assets: int = 5,
) -> PermutationImportance:
    """Drop in Rank IC when each feature (or group) is shuffled within each date.

    Parameters
    ----------
    model : object with ``predict(frame)`` or a callable ``frame -> scores``
        Scored on ``frame``, which should be out of sample for it.
    frame : pl.DataFrame
        ``date``, the model's features and ``target``.
    features : sequence of str, optional
        Features to permute one at a time (default: ``model.features``).
    groups : mapping group -> columns, optional
        Permute each group's columns jointly instead (e.g. from
        :func:`~quant_core.explain.feature_groups`).
    n_repeats : int, default 5
        Independent permutations per item (>= 2).
    seed : int, default 0
    ci_level : float, default 0.95
        Level of both intervals: a t-interval over the repeats' drops (how much the estimate
        moves with the shuffle) and a stationary block bootstrap over dates of the per-date
        drop averaged over repeats (how much it moves with the sample of dates).
    n_boot : int, default 1000
        Bootstrap resamples (0 skips it: NaN bounds).
    block_days : int, optional
        Mean bootstrap block length; default ``ceil(n_dates ** (1/3))``.
    min_assets : int, default 5
        Dates with fewer scored assets are skipped in the IC.

    Returns
    -------
    PermutationImportance
    """
    if features is None and groups is None:
        features = list(getattr(model, "features", []) or [])
    items, kind = _items(features, groups)
    parts = [(_as_predict(model), frame)]
    return _run(
        parts, items, kind, target, n_repeats, seed, ci_level, n_boot, block_days, min_assets
    )


def fold_permutation_importance(
    models: Sequence[Any],
    frame: pl.DataFrame,
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
    features: Sequence[str] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    **kwargs: Any,
) -> PermutationImportance:
    """:func:`permutation_importance` of fold models, each on its own test rows, pooled.

    The per-date Rank IC pools every fold's test dates (the out-of-fold IC), before and after
    shuffling; keyword arguments are those of :func:`permutation_importance`.
    """
    splits = list(splits)
    if len(splits) != len(models) or not models:
        raise ValueError(
            f"need one model per split, got {len(models)} models, {len(splits)} splits"
        )
    if features is None and groups is None:
        features = list(getattr(models[0], "features", []) or [])
    items, kind = _items(features, groups)
    parts = [
        (_as_predict(m), frame[np.asarray(test, dtype=np.int64)])
        for m, (_, test) in zip(models, splits, strict=True)
    ]
    opts = {
        "target": "target",
        "n_repeats": 5,
        "seed": 0,
        "ci_level": 0.95,
        "n_boot": 1000,
        "block_days": None,
        "min_assets": 5,
    }
    unknown = set(kwargs) - set(opts)
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    opts.update(kwargs)
    return _run(parts, items, kind, **opts)
