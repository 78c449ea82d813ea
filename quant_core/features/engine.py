"""Evaluate registered features on a panel: asset-major passes, small batches, date-major out.

Rolling features are time series per asset, but a panel is stored date-major. The engine
gathers the inputs once into asset-major order (a stable sort by asset code keeps each asset's
dates in order), adds each row's position within its asset and a sorted group key, and evaluates
the features a batch at a time: the batch's helper columns first (level by level), then its
features, cast to the output dtype and scattered back to date-major order before the next batch
starts. Peak memory is the output plus one batch's intermediates.

Two ways to evaluate an expression (helper or feature):

- ``warmup_rows=None``: per asset, ``expr.over(group)``. Always correct; the only safe choice for
  running sums (rolling mean, sum, var, std, covariance), whose floating-point state would
  otherwise carry bits of the previous asset's rows into the next asset.
- ``warmup_rows=k``: over the whole asset-major column at once, then rows with fewer than ``k``
  earlier rows of their own asset are blanked. Bitwise identical to the per-asset result for
  expressions whose value depends only on the last ``k + 1`` rows through exact operations
  (shifts, arithmetic, rolling max/min/quantile, the rank and arg-max kernels), and faster.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from quant_core.features.operators import POSITION

#: Sorted per-asset group key of the asset-major frame (``over`` on it is cheap).
GROUP = "__qf_group"


def _is_sorted_by_date_asset(panel: pl.DataFrame) -> bool:
    date, asset = pl.col("date"), pl.col("asset")
    ordered = (date > date.shift(1)) | ((date == date.shift(1)) & (asset > asset.shift(1)))
    return bool(panel.select(ordered.slice(1).all()).item()) if panel.height > 1 else True


def _asset_major(panel: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row order grouping each asset's rows (dates ascending), its inverse, each row's position
    within its asset and a group number that increases along the order."""
    codes = panel.select(pl.col("asset").cast(pl.Categorical).to_physical()).to_series()
    order = pl.DataFrame({"c": codes}).select(
        pl.arg_sort_by("c", maintain_order=True)).to_series().to_numpy()
    sorted_codes = codes.to_numpy()[order]
    new_group = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    starts = np.flatnonzero(new_group)
    lengths = np.diff(np.r_[starts, sorted_codes.size])
    position = np.arange(sorted_codes.size, dtype=np.int64) - np.repeat(starts, lengths)
    group = np.cumsum(new_group, dtype=np.uint32)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size, dtype=order.dtype)
    return order, inverse, position, group


def evaluated(expr: pl.Expr, warmup_rows: int | None) -> pl.Expr:
    """``expr`` as evaluated on the asset-major frame (see the module docstring)."""
    if warmup_rows is None:
        return expr.over(GROUP)
    if warmup_rows > 0:
        return pl.when(pl.col(POSITION) >= warmup_rows).then(expr)
    return expr


def _with_helpers(work: pl.DataFrame, batch: list) -> pl.DataFrame:
    """``work`` plus the batch's helper columns, computed level by level."""
    helpers = {name: (expr, level, warmup)
               for spec in batch for name, expr, level, warmup in spec.helpers}
    for level in sorted({lvl for _, lvl, _ in helpers.values()}):
        work = work.with_columns(
            evaluated(expr, warmup).alias(name)
            for name, (expr, lvl, warmup) in helpers.items() if lvl == level)
    return work


def _finite(name: str) -> pl.Expr:
    value = pl.col(name)
    return pl.when(value.is_finite()).then(value)


def evaluate(panel: pl.DataFrame, specs: Sequence, dtype: pl.DataType) -> pl.DataFrame:
    """``panel`` sorted by ``(date, asset)`` with one column per spec (see module docstring).

    ``specs`` are :class:`~quant_core.features.registry.FeatureSpec`; specs with the same
    ``batch`` are evaluated together; the columns come out in the order of ``specs``.
    Non-finite results become missing.
    """
    if not _is_sorted_by_date_asset(panel):
        panel = panel.sort(["date", "asset"])
    if panel.height == 0 or not specs:
        return panel.with_columns(pl.lit(None, dtype).alias(s.name) for s in specs)
    inputs = list(dict.fromkeys(c for s in specs for c in s.inputs))
    schema = panel.schema
    order, inverse, position, group = _asset_major(panel)
    work = panel.select(
        pl.col(c).cast(pl.Float64).fill_nan(None) if schema[c].is_numeric() else pl.col(c)
        for c in inputs
    )[order].with_columns(pl.Series(POSITION, position),
                          pl.Series(GROUP, group).set_sorted())
    del order, position, group
    batches: dict[str, list] = {}
    for spec in specs:
        batches.setdefault(spec.batch or spec.name, []).append(spec)
    columns: dict[str, pl.Series] = {}
    for batch in batches.values():
        frame = _with_helpers(work, batch)
        raw = frame.select(evaluated(s.expr, s.warmup_rows).cast(dtype).alias(s.name)
                           for s in batch)
        del frame
        result = raw.select(_finite(s.name) for s in batch)[inverse]
        columns.update((c.name, c) for c in result.get_columns())
        del raw, result
    return panel.hstack([columns[s.name] for s in specs])
