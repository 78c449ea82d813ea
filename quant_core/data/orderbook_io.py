"""Intraday limit-order-book snapshots: the canonical layout, a reader and its contract.

Canonical layout, one row per ``(timestamp, asset)`` snapshot of the best ``L`` price levels::

    timestamp  pl.Datetime("ms", "UTC")   when the snapshot was taken
    asset      pl.String
    bid_px_k, bid_sz_k, ask_px_k, ask_sz_k   for k = 1..L (level 1 is the best quote)

The contract (:func:`check_orderbook`) is what a book must satisfy to be a book: the best bid is
below the best ask (a crossed or locked book is a feed error), bid prices fall and ask prices rise
with depth, sizes are finite and non-negative, and each asset's timestamps strictly increase
(a repeated or backwards timestamp means merged or reordered captures). Deeper levels may be
empty (price and size both missing) when the book is thin; level 1 may not.

Files in the ``ts_ms`` layout (epoch milliseconds, one asset per file, e.g. the Bitstamp BTC/USD
capture) are adapted with :func:`from_ts_ms_layout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from quant_core.data.contracts import DataContractError, example_rows

SIDES = ("bid_px", "bid_sz", "ask_px", "ask_sz")
_LEVEL = re.compile(r"^(bid_px|bid_sz|ask_px|ask_sz)_(\d+)$")
TIMESTAMP_DTYPE = pl.Datetime("ms", "UTC")


@dataclass(frozen=True)
class OrderBookReport:
    """What a passed order-book contract learnt about the frame."""

    n_rows: int
    n_assets: int
    levels: int
    first_timestamp: object
    last_timestamp: object


def orderbook_columns(levels: int) -> list[str]:
    """The canonical column order for ``levels`` levels (keys first)."""
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    return ["timestamp", "asset", *[f"{side}_{k}" for k in range(1, levels + 1) for side in SIDES]]


def infer_levels(columns: list[str]) -> int:
    """The depth ``L``: the largest k such that all four columns exist for every level 1..k."""
    present = {(m.group(1), int(m.group(2))) for c in columns if (m := _LEVEL.match(c))}
    levels = 0
    while all((side, levels + 1) in present for side in SIDES):
        levels += 1
    return levels


def from_ts_ms_layout(frame: pl.DataFrame, asset: str, ts_col: str = "ts_ms") -> pl.DataFrame:
    """Adapt a one-asset book with epoch-millisecond timestamps to the canonical layout."""
    if ts_col not in frame.columns:
        raise DataContractError("<orderbook>", ts_col, f"a '{ts_col}' column is present")
    levels = infer_levels(frame.columns)
    timestamp = pl.col(ts_col).cast(pl.Int64).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    return frame.select(
        timestamp.alias("timestamp"), pl.lit(asset, pl.String).alias("asset"),
        *[pl.col(c).cast(pl.Float64) for c in orderbook_columns(levels)[2:]],
    )


def _fail_if(frame, mask, source, column, expectation, columns):
    if frame.select(mask.any()).item():
        raise DataContractError(source, column, expectation,
                                example_rows(frame, mask, ["timestamp", "asset", *columns]))


def _check_keys(book: pl.DataFrame, source: str) -> None:
    if not isinstance(book.schema["timestamp"], pl.Datetime):
        raise DataContractError(source, "timestamp",
                                f"dtype is a datetime (got {book.schema['timestamp']})")
    if book.schema["asset"] != pl.String:
        raise DataContractError(source, "asset", f"dtype is a string (got {book.schema['asset']})")
    for column in ("timestamp", "asset"):
        _fail_if(book, pl.col(column).is_null(), source, column, "has no missing values", [])
    previous = pl.col("timestamp").shift(1).over("asset")
    not_increasing = previous.is_not_null() & (pl.col("timestamp") <= previous)
    _fail_if(book, not_increasing, source, "timestamp",
             "timestamps strictly increase per asset (in file order)", [])


def _check_levels(book: pl.DataFrame, source: str, levels: int) -> None:
    for k in range(1, levels + 1):
        for side in SIDES:
            column = f"{side}_{k}"
            if not book.schema[column].is_numeric():
                raise DataContractError(source, column,
                                        f"dtype is numeric (got {book.schema[column]})")
        for side in ("bid", "ask"):
            px, sz = pl.col(f"{side}_px_{k}"), pl.col(f"{side}_sz_{k}")
            if k == 1:
                _fail_if(book, px.is_null() | sz.is_null(), source, f"{side}_px_1",
                         "level 1 is never empty (price and size present)",
                         [f"{side}_px_1", f"{side}_sz_1"])
            _fail_if(book, px.is_null() != sz.is_null(), source, f"{side}_sz_{k}",
                     "a level has both price and size or neither", [f"{side}_px_{k}",
                                                                      f"{side}_sz_{k}"])
            _fail_if(book, px.is_not_null() & (~px.is_finite() | (px <= 0)), source,
                     f"{side}_px_{k}", "prices are finite and > 0", [f"{side}_px_{k}"])
            _fail_if(book, sz.is_not_null() & (~sz.is_finite() | (sz < 0)), source,
                     f"{side}_sz_{k}", "sizes are finite and >= 0", [f"{side}_sz_{k}"])
    _fail_if(book, pl.col("bid_px_1") >= pl.col("ask_px_1"), source, "bid_px_1",
             "best bid < best ask (the book is not crossed or locked)", ["bid_px_1", "ask_px_1"])
    for k in range(1, levels):
        shallow, deep = f"bid_px_{k}", f"bid_px_{k + 1}"
        _fail_if(book, (pl.col(deep) >= pl.col(shallow)).fill_null(False), source, deep,
                 f"bid prices fall with depth ({deep} < {shallow})", [shallow, deep])
        shallow, deep = f"ask_px_{k}", f"ask_px_{k + 1}"
        _fail_if(book, (pl.col(deep) <= pl.col(shallow)).fill_null(False), source, deep,
                 f"ask prices rise with depth ({deep} > {shallow})", [shallow, deep])
        for side in ("bid", "ask"):
            gap = pl.col(f"{side}_px_{k}").is_null() & pl.col(f"{side}_px_{k + 1}").is_not_null()
            _fail_if(book, gap, source, f"{side}_px_{k + 1}",
                     f"an empty level {k} has no deeper level behind it",
                     [f"{side}_px_{k}", f"{side}_px_{k + 1}"])


def check_orderbook(book: pl.DataFrame, source: str = "<orderbook>",
                    levels: int | None = None) -> OrderBookReport:
    """Check the order-book contract; raise DataContractError on the first violation.

    Parameters
    ----------
    book : a frame in the canonical layout (any extra columns are ignored).
    source : the file name (or a label) quoted in error messages.
    levels : the depth to check; inferred from the columns when None.
    """
    if book.height == 0:
        raise DataContractError(source, None, "the book has at least one snapshot (it is empty)")
    for column in ("timestamp", "asset"):
        if column not in book.columns:
            raise DataContractError(source, column,
                                    f"required columns ['timestamp', 'asset'] are present "
                                    f"(found {book.columns[:8]})")
    depth = infer_levels(book.columns) if levels is None else levels
    if depth < 1:
        raise DataContractError(source, "bid_px_1",
                                "level-1 columns bid_px_1, bid_sz_1, ask_px_1, ask_sz_1 exist")
    missing = [c for c in orderbook_columns(depth) if c not in book.columns]
    if missing:
        raise DataContractError(source, missing[0], f"columns for {depth} levels exist "
                                f"(missing {missing[:6]})")
    _check_keys(book, source)
    _check_levels(book, source, depth)
    return OrderBookReport(n_rows=book.height, n_assets=book["asset"].n_unique(), levels=depth,
                           first_timestamp=book["timestamp"].min(),
                           last_timestamp=book["timestamp"].max())


def _read_any(path: Path, source: str) -> pl.DataFrame:
    name = path.name.lower()
    if not path.exists():
        raise DataContractError(source, None, "the file exists")
    if path.stat().st_size == 0:
        raise DataContractError(source, None, "the file is not empty (it has 0 bytes)")
    try:
        if name.endswith((".parquet", ".pq")):
            return pl.read_parquet(path)
        if name.endswith((".csv", ".csv.gz")):
            return pl.read_csv(path, infer_schema_length=None,
                               schema_overrides={"asset": pl.String})
    except Exception as exc:  # polars raises many types for corrupt files
        first_line = (str(exc).splitlines() or [""])[0][:200]
        raise DataContractError(source, None,
                                f"the file is readable ({type(exc).__name__}: {first_line})"
                                ) from exc
    raise DataContractError(source, None, f"the file is .parquet, .csv or .csv.gz (got '{name}')")


def read_orderbook(path: str | Path, *, asset: str | None = None,
                   levels: int | None = None) -> pl.DataFrame:
    """Read and contract-check an order-book file into the canonical layout.

    Parameters
    ----------
    path : parquet, CSV or gzipped CSV; either canonical (``timestamp``, ``asset``, levels) or the
        ``ts_ms`` layout (epoch milliseconds, one asset), which needs ``asset``.
    asset : the asset of a one-asset file without an ``asset`` column.
    levels : keep and check only the best ``levels`` levels (default: all in the file).
    """
    path = Path(path)
    source = str(path)
    frame = _read_any(path, source)
    if "timestamp" not in frame.columns and "ts_ms" in frame.columns:
        if asset is None and "asset" not in frame.columns:
            raise DataContractError(source, "asset",
                                    "an 'asset' column is present or asset= is given")
        name = asset if asset is not None else frame["asset"][0]
        frame = from_ts_ms_layout(frame, name)
    elif "asset" not in frame.columns and asset is not None:
        frame = frame.with_columns(pl.lit(asset, pl.String).alias("asset"))
    if "timestamp" in frame.columns and frame.schema["timestamp"] == pl.String:
        frame = frame.with_columns(pl.col("timestamp").str.to_datetime(strict=False,
                                                                       time_zone="UTC"))
    report = check_orderbook(frame, source, levels)
    stamp = pl.col("timestamp")
    zone = frame.schema["timestamp"].time_zone
    stamp = stamp.dt.replace_time_zone("UTC") if zone is None else stamp.dt.convert_time_zone("UTC")
    return frame.select(orderbook_columns(report.levels)).with_columns(
        stamp.dt.cast_time_unit("ms"))
