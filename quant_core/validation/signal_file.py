"""Validate any signal file against prices or returns: the engine of ``qf validate``.

A signal file holds one number per ``(date, asset)`` known at that date's close. The returns
side is either a prices file (``date, asset, close``) or a returns file (``date, asset,
return``, the simple return from the previous date's close to this date's close). The
forward return a signal dated t is judged against is entered ``lag_days`` dates later and
held ``horizon_days`` dates, on the returns file's own date calendar, exactly as
:func:`quant_core.targets.forward_returns` does for prices.

Bad input raises :class:`~quant_core.data.contracts.DataContractError` naming the file, the
column, the expectation and example rows; nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from quant_core.data.contracts import DataContractError, example_rows
from quant_core.data.readers import read_frame
from quant_core.files import write_atomic
from quant_core.targets import forward_returns
from quant_core.validation.ic import ic_series
from quant_core.validation.report import build_validation_report, write_html_report

__all__ = [
    "align_signal",
    "forward_returns_from_returns",
    "prices_from_returns",
    "read_returns_file",
    "read_signal_file",
    "validate_signal_file",
    "write_validation_outputs",
]

_KEYS = ["date", "asset"]


def _read_table(path: str | Path) -> tuple[pl.DataFrame, str]:
    """File-level checks and canonical dtypes via the panel reader, then "has rows"."""
    source = str(Path(path))
    frame = read_frame(path)
    if frame.height == 0:
        raise DataContractError(source, None, "the file has at least one row (it is empty)")
    return frame, source


def _keyed(frame: pl.DataFrame, source: str, value: str, required: Sequence[str]) -> pl.DataFrame:
    """Check keys and one numeric value column; return ``date, asset, value[, sector]``."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataContractError(
            source, missing[0],
            f"required columns {list(required)} are present (missing {missing}; "
            f"found {frame.columns[:12]})",
        )
    if frame.schema["asset"] != pl.String:
        frame = frame.with_columns(pl.col("asset").cast(pl.String))
    for column in _KEYS:
        nulls = pl.col(column).is_null()
        if frame.select(nulls.any()).item():
            raise DataContractError(source, column, "has no missing values",
                                    example_rows(frame, nulls, _KEYS))
    dtype = frame.schema[value]
    if not dtype.is_numeric():
        raise DataContractError(source, value, f"dtype is numeric (got {dtype})",
                                example_rows(frame, pl.lit(True), [*_KEYS, value], n=3))
    duplicated = pl.struct(_KEYS).is_duplicated()
    if frame.select(duplicated.any()).item():
        raise DataContractError(source, "date, asset", "(date, asset) pairs are unique",
                                example_rows(frame, duplicated, _KEYS))
    keep = [*_KEYS, value] + (["sector"] if "sector" in frame.columns else [])
    out = frame.select(keep).with_columns(pl.col(value).cast(pl.Float64))
    if "sector" in out.columns:
        out = out.with_columns(pl.col("sector").cast(pl.String))
    return out.sort(_KEYS)


def read_signal_file(path: str | Path, signal_col: str = "signal") -> pl.DataFrame:
    """Read and check a signal file: ``date, asset, <signal_col>`` (+ optional ``sector``).

    Returns ``date, asset, signal[, sector]`` sorted by ``(date, asset)``. Null or NaN signals
    are allowed (that asset is skipped that day); infinite ones are not.
    """
    frame, source = _read_table(path)
    out = _keyed(frame, source, signal_col, ["date", "asset", signal_col])
    bad = pl.col(signal_col).is_infinite()
    if out.select(bad.any()).item():
        raise DataContractError(source, signal_col, "values are finite (no inf)",
                                example_rows(out, bad, [*_KEYS, signal_col]))
    return out.rename({signal_col: "signal"})


def read_returns_file(path: str | Path) -> tuple[pl.DataFrame, str]:
    """Read and check a prices or returns file, telling which by its columns.

    A ``close`` column means prices (finite, > 0); otherwise a ``return`` column means simple
    daily returns (finite, > -1). Nulls mean "no observation". Returns ``(frame, kind)`` with
    ``frame`` = ``date, asset, close|return[, sector]`` and ``kind`` = ``"prices"`` or
    ``"returns"``.
    """
    frame, source = _read_table(path)
    if "close" in frame.columns:
        value, kind, floor = "close", "prices", 0.0
        expectation = "values are finite and > 0 (a price)"
    elif "return" in frame.columns:
        value, kind, floor = "return", "returns", -1.0
        expectation = "values are finite and > -1 (a simple return)"
    else:
        raise DataContractError(
            source, "close",
            f"a 'close' (prices) or 'return' (returns) column is present (found {frame.columns[:12]})",
        )
    out = _keyed(frame, source, value, ["date", "asset", value])
    c = pl.col(value)
    bad = c.is_not_null() & (~c.is_finite() | (c <= floor))
    if out.select(bad.any()).item():
        raise DataContractError(source, value, expectation,
                                example_rows(out, bad, [*_KEYS, value]))
    return out, kind


def _returns_grid(returns: pl.DataFrame) -> pl.DataFrame:
    """Every (asset, calendar position) with ``_lr = log(1 + r)`` summed and missing counted."""
    calendar = returns.select(pl.col("date").unique().sort()).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos")
    )
    grid = returns.select(pl.col("asset").unique()).join(calendar, how="cross")
    return (
        grid.join(returns.select(*_KEYS, "return"), on=_KEYS, how="left")
        .sort("asset", "_pos")
        .with_columns(
            pl.col("return").log1p().fill_null(0.0).cum_sum().over("asset").alias("_s"),
            pl.col("return").is_null().cast(pl.Int64).cum_sum().over("asset").alias("_m"),
        )
    )


def forward_returns_from_returns(
    returns: pl.DataFrame, horizon_days: int = 1, lag_days: int = 1
) -> pl.DataFrame:
    """Compounded forward return of the ``horizon_days`` daily returns after the entry date.

    For a row dated t (calendar position p) the target is ``prod(1 + r[p+lag+1 .. p+lag+h]) - 1``,
    the same window as ``forward_returns`` on prices. A window with any missing daily return,
    or running past the data end, gives no row.

    Returns
    -------
    pl.DataFrame
        ``date, asset, target`` sorted by ``(date, asset)``.
    """
    if horizon_days < 1 or lag_days < 0:
        raise ValueError(f"need horizon_days >= 1 and lag_days >= 0, got {horizon_days}, {lag_days}")
    grid = _returns_grid(returns)
    start = grid.select("asset", (pl.col("_pos") - lag_days).alias("_pos"),
                        pl.col("_s").alias("_s0"), pl.col("_m").alias("_m0"))
    end = grid.select("asset", (pl.col("_pos") - lag_days - horizon_days).alias("_pos"),
                      pl.col("_s").alias("_s1"), pl.col("_m").alias("_m1"))
    return (
        grid.select("date", "asset", "_pos")
        .join(start, on=["asset", "_pos"], how="inner")
        .join(end, on=["asset", "_pos"], how="inner")
        .filter(pl.col("_m1") == pl.col("_m0"))
        .select("date", "asset", (pl.col("_s1") - pl.col("_s0")).exp().sub(1.0).alias("target"))
        .sort(_KEYS)
    )


def prices_from_returns(returns: pl.DataFrame) -> pl.DataFrame:
    """A price index per asset, ``exp(cumsum log(1 + r))``, null on dates without a return.

    Single-day returns recovered from it equal the input where both neighbouring prices
    exist; it feeds the IC decay curve of a returns file.
    """
    grid = _returns_grid(returns)
    return grid.select(
        "date", "asset",
        pl.when(pl.col("return").is_not_null()).then(pl.col("_s").exp()).alias("close"),
    ).sort(_KEYS)


def align_signal(
    signal: pl.DataFrame,
    market: pl.DataFrame,
    kind: str,
    horizon_days: int = 1,
    lag_days: int = 1,
    source: str = "<signal>",
    min_assets: int = 5,
) -> pl.DataFrame:
    """Join each signal row to its forward return: ``date, asset, signal, target[, sector]``.

    Raises
    ------
    DataContractError
        When fewer than 3 dates end up with ``min_assets`` signals that have a target.
    """
    if kind == "prices":
        fwd = forward_returns(market, horizon_days=horizon_days, lag_days=lag_days)
        fwd = fwd.select(*_KEYS, "target")
    elif kind == "returns":
        fwd = forward_returns_from_returns(market, horizon_days, lag_days)
    else:
        raise ValueError(f"kind must be 'prices' or 'returns', got {kind!r}")
    frame = signal.join(fwd, on=_KEYS, how="inner")
    if "sector" not in frame.columns and "sector" in market.columns:
        frame = frame.join(market.select(*_KEYS, "sector"), on=_KEYS, how="left")
    usable = frame.filter(pl.col("signal").is_not_null() & pl.col("signal").is_not_nan())
    dates = usable.group_by("date").len().filter(pl.col("len") >= min_assets).height
    if dates < 3:
        raise DataContractError(
            source, "date",
            f"at least 3 dates have >= {min_assets} assets with a signal and a {horizon_days}-day "
            f"forward return (entered {lag_days} date(s) later) in the {kind} file; found {dates}. "
            "Check that dates and asset names match between the two files",
            example_rows(signal, pl.lit(True), [*_KEYS, "signal"], n=3),
        )
    return frame.sort(_KEYS)


def validate_signal_file(
    signal_path: str | Path,
    returns_path: str | Path,
    horizon_days: int = 1,
    lag_days: int = 1,
    *,
    signal_col: str = "signal",
    name: str | None = None,
    decay_horizons: Sequence[int] = (1, 2, 3, 5, 10, 20),
    n_boot: int = 1000,
) -> tuple[dict, pl.DataFrame]:
    """Read, check and align both files, then build the full validation report.

    Returns
    -------
    (dict, pl.DataFrame)
        The report (see :func:`build_validation_report`, with ``inputs`` added) and the
        per-date Rank IC frame for plotting.
    """
    signal = read_signal_file(signal_path, signal_col)
    market, kind = read_returns_file(returns_path)
    frame = align_signal(signal, market, kind, horizon_days, lag_days, str(signal_path))
    prices = market if kind == "prices" else prices_from_returns(market)
    report = build_validation_report(
        name or Path(signal_path).stem,
        frame,
        horizon_days,
        signal="signal",
        target="target",
        n_boot=n_boot,
        prices=prices,
        decay_horizons=decay_horizons,
        lag_days=lag_days,
        sectors="sector" if "sector" in frame.columns else None,
    )
    report["inputs"] = {
        "signal_file": str(signal_path),
        "returns_file": str(returns_path),
        "returns_kind": kind,
        "lag_days": lag_days,
        "n_signal_rows": signal.height,
        "n_aligned_rows": frame.height,
    }
    return report, ic_series(frame, "signal", "target")


def write_validation_outputs(report: dict, ic_frame: pl.DataFrame, out_dir: str | Path) -> dict:
    """Write ``report.html`` and ``report.json`` into ``out_dir``, each atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path = write_html_report(report, ic_frame, out / "report.html")
    json_path = out / "report.json"
    write_atomic(json_path, json.dumps(report, indent=2, allow_nan=False))
    return {"html": html_path, "json": json_path}
