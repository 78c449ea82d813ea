"""Read a user's daily panel (parquet or CSV) into the canonical polars layout.

Reading is where most bad input shows up first, so each failure here is a
:class:`~quant_core.data.contracts.DataContractError` naming the file and, where there is one, the
column and example rows: a missing or empty file, an unknown suffix, a CSV row with the wrong
number of fields, a truncated or corrupt parquet file, dates in no known format, in several
formats at once, or ambiguous between day-first and month-first.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl

from quant_core.data.contracts import (
    AVAILABILITY_SUFFIX,
    DataContractError,
    check_panel,
    format_rows,
)

_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y")
_TEXT_COLUMNS = ("date", "asset", "sector")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)
PANEL_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES


def _best_format(values: pl.Series) -> tuple[str, pl.Series]:
    parsed = {fmt: values.str.strptime(pl.Date, fmt, strict=False) for fmt in _DATE_FORMATS}
    best = max(_DATE_FORMATS, key=lambda fmt: parsed[fmt].is_not_null().sum())
    return best, parsed[best]


def _parse_text_dates(panel: pl.DataFrame, source: str) -> pl.DataFrame:
    values = panel["date"].str.strip_chars()
    present = values.is_not_null()
    complete: dict[str, pl.Series] = {}
    for fmt in _DATE_FORMATS:
        parsed = values.str.strptime(pl.Date, fmt, strict=False)
        if not (parsed.is_null() & present).any():
            complete[fmt] = parsed
    if not complete:
        best, parsed = _best_format(values)
        bad = panel.with_row_index("row").filter(parsed.is_null() & present)
        n_ok = int((parsed.is_not_null()).sum())
        expectation = (
            f"every value is a date in one format (tried {list(_DATE_FORMATS)}); "
            f"{bad.height} of {panel.height} values do not parse as '{best}', "
            f"the format of {n_ok} values"
        )
        keys = ["row", *[c for c in ("date", "asset") if c in bad.columns]]
        raise DataContractError(source, "date", expectation, format_rows(bad.select(keys).head(5)))
    formats = list(complete)
    first = complete[formats[0]]
    for other in formats[1:]:
        if not first.equals(complete[other]):
            differ = panel.with_row_index("row").filter(first != complete[other])
            raise DataContractError(
                source, "date",
                f"dates are unambiguous (they read both as '{formats[0]}' and as '{other}' "
                "with different results; write them as YYYY-MM-DD)",
                format_rows(differ.select(["row", "date"]).head(5)),
            )
    return panel.with_columns(first.alias("date"))


def _parse_dates(panel: pl.DataFrame, source: str) -> pl.DataFrame:
    dtype = panel.schema["date"]
    if dtype == pl.Date:
        return panel
    if isinstance(dtype, pl.Datetime):
        return panel.with_columns(pl.col("date").dt.date())
    if dtype.is_integer():  # 20240102 read as a number
        text = panel.with_columns(pl.col("date").cast(pl.String))
        return _parse_text_dates(text, source)
    if dtype != pl.String:
        raise DataContractError(source, "date", f"values are dates (got dtype {dtype})")
    return _parse_text_dates(panel, source)


def _check_csv_rows(path: Path, source: str, max_examples: int = 5) -> None:
    """Every CSV row has as many fields as the header (polars would pad or fail vaguely)."""
    bad: list[str] = []
    n_bad = 0
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        for row in reader:
            if row and len(row) != width:
                n_bad += 1
                if len(bad) < max_examples:
                    bad.append(f"line {reader.line_num}: {len(row)} fields: "
                               f"{','.join(row)[:120]}")
    if n_bad:
        raise DataContractError(
            source, None,
            f"every CSV row has {width} fields like the header ({n_bad} rows do not)",
            "\n".join(bad),
        )


def _read_raw(path: Path, source: str) -> pl.DataFrame:
    if not path.exists():
        raise DataContractError(source, None, "the file exists")
    if path.is_dir():
        raise DataContractError(source, None, "the path is a file (it is a directory)")
    suffix = path.suffix.lower()
    if suffix not in PANEL_SUFFIXES:
        raise DataContractError(source, None, f"the file is .parquet or .csv (got '{suffix}')")
    if path.stat().st_size == 0:
        raise DataContractError(source, None, "the file is not empty (it has 0 bytes)")
    try:
        if suffix in PARQUET_SUFFIXES:
            return pl.read_parquet(path)
        _check_csv_rows(path, source)
        header = pl.read_csv(path, n_rows=0).columns
        as_text = {c: pl.String for c in header
                   if c in _TEXT_COLUMNS or c.endswith(AVAILABILITY_SUFFIX)}
        return pl.read_csv(path, try_parse_dates=False, infer_schema_length=None,
                           schema_overrides=as_text)
    except DataContractError:
        raise
    except Exception as exc:  # polars/pyarrow raise many types for corrupt files
        first_line = (str(exc).splitlines() or [""])[0][:200]
        raise DataContractError(
            source, None, f"the file is readable ({type(exc).__name__}: {first_line})"
        ) from exc


def _normalise(panel: pl.DataFrame, source: str) -> pl.DataFrame:
    if "date" in panel.columns:
        panel = _parse_dates(panel, source)
    for column in ("asset", "sector"):
        if column in panel.columns and panel.schema[column] != pl.String:
            panel = panel.with_columns(pl.col(column).cast(pl.String))
    for column, dtype in panel.schema.items():
        if column.endswith(AVAILABILITY_SUFFIX) and dtype == pl.String:
            parsed = pl.col(column).str.to_datetime(strict=False)
            panel = panel.with_columns(parsed)
    # NaN is how pandas writes "missing": read it as missing, except in close, where a
    # missing price is itself a contract failure and the example rows should show the NaN.
    floats = [c for c, t in panel.schema.items() if t.is_float() and c != "close"]
    if floats:
        panel = panel.with_columns(pl.col(c).fill_nan(None) for c in floats)
    return panel


def read_frame(path: str | Path) -> pl.DataFrame:
    """Read a panel file into the canonical dtypes without checking the contract.

    Dates are parsed (``YYYY-MM-DD``, ``YYYYMMDD``, ``DD/MM/YYYY``, ``MM/DD/YYYY``), ``asset`` and
    ``sector`` become strings, NaN in optional float columns becomes null. File-level problems
    (missing, empty, unreadable, ragged CSV rows, unparseable dates) raise DataContractError.
    """
    path = Path(path)
    source = str(path)
    return _normalise(_read_raw(path, source), source)


def read_panel(path: str | Path, *, today: dt.date | None = None) -> pl.DataFrame:
    """Read and contract-check a daily long panel, returning it sorted by ``(date, asset)``.

    Parameters
    ----------
    path : parquet (``.parquet``/``.pq``) or CSV (``.csv``) file with columns ``date``,
        ``asset``, ``close`` and optional ``open``, ``high``, ``low``, ``volume``, ``sector``
        and numeric feature columns known at each date's close.
    today : dates after it fail the contract; defaults to the machine's date.

    Raises
    ------
    DataContractError
        When the file is missing, unreadable or violates the panel contract.
    """
    panel = read_frame(path)
    check_panel(panel, str(path), today=today)
    return panel.sort(["date", "asset"])
