"""Daily feature files in the landing folder: the reader behind ``daily_snapshot`` and the monitors.

Format (what an ingest job drops into ``ProjectState.landing_dir``), one file per trading date::

    <landing_dir>/YYYY-MM-DD.parquet
        date    Date (or a "YYYY-MM-DD" string); every row equals the date in the file name
        asset   String, unique within the file
        <f...>  numeric feature columns known at that date's close, named as in training
        close   optional; positive; needed to compute realised returns (realised-IC monitoring)
        open, high, low, volume, sector   optional, not features

Files whose name is not a date are ignored. A file that breaks these rules raises
``DataContractError`` naming the file, the column and example rows.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl

from quant_core.data.contracts import DataContractError, check_panel, feature_columns, format_rows

FILE_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")


def landed_files(landing_dir: str | Path) -> dict[str, Path]:
    """``{"YYYY-MM-DD": path}`` of every correctly named daily file, in date order."""
    found = {}
    for path in Path(landing_dir).glob("*.parquet"):
        match = FILE_PATTERN.match(path.name)
        if match:
            try:
                dt.date.fromisoformat(match.group(1))
            except ValueError:
                continue
            found[match.group(1)] = path
    return dict(sorted(found.items()))


def read_daily_file(path: str | Path) -> pl.DataFrame:
    """Read and check one daily file; returns it sorted by asset with ``date`` as ``pl.Date``."""
    path = Path(path)
    source = str(path)
    match = FILE_PATTERN.match(path.name)
    if not match:
        raise DataContractError(source, None, "the file is named YYYY-MM-DD.parquet")
    day = dt.date.fromisoformat(match.group(1))
    frame = pl.read_parquet(path)
    for column in ("date", "asset"):
        if column not in frame.columns:
            raise DataContractError(source, column, f"column '{column}' is present (found {frame.columns[:12]})")
    if frame.schema["date"] == pl.String:
        frame = frame.with_columns(pl.col("date").str.to_date("%Y-%m-%d", strict=False))
    elif frame.schema["date"] != pl.Date:
        frame = frame.with_columns(pl.col("date").cast(pl.Date, strict=False))
    wrong_date = pl.col("date").is_null() | (pl.col("date") != pl.lit(day))
    if frame.select(wrong_date.any()).item():
        raise DataContractError(source, "date", f"every row is dated {day} (the file name)",
                                format_rows(frame.filter(wrong_date).select(["date", "asset"]).head(5)))
    if not feature_columns(frame):
        raise DataContractError(source, None, "at least one numeric feature column is present")
    if "close" in frame.columns:
        check_panel(frame, source)
    else:
        check_panel(frame.with_columns(pl.lit(1.0).alias("close")), source)
    return frame.sort("asset")


def require_features(frame: pl.DataFrame, features: list[str] | tuple[str, ...], source: str) -> None:
    """Raise ``DataContractError`` naming ``source``, the missing columns and example rows when a
    landed day lacks a feature the model was trained on (checked before anything is scored)."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else "")
        raise DataContractError(source, missing[0],
                                f"every feature the champion was trained on is present; missing: {shown}",
                                format_rows(frame.select([c for c in ("date", "asset") if c in frame.columns]).head(3)))


def read_landed_window(landing_dir: str | Path, up_to: str, n_dates: int,
                       columns: list[str] | None = None) -> pl.DataFrame:
    """The newest ``n_dates`` daily files dated on or before ``up_to``, concatenated.

    ``columns`` restricts (and orders) the columns kept; files missing one of them raise.
    """
    if n_dates < 1:
        raise ValueError(f"n_dates must be >= 1, got {n_dates}")
    chosen = [p for day, p in landed_files(landing_dir).items() if day <= up_to][-n_dates:]
    frames = []
    for path in chosen:
        frame = read_daily_file(path)
        if columns is not None:
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise DataContractError(str(path), missing[0], f"columns {missing} are present")
            frame = frame.select(columns)
        frames.append(frame)
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
