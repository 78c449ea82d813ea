"""Data contracts for user panels: the checks every panel passes before research starts.

A contract failure raises :class:`DataContractError`, whose message names the file, the column,
the failed expectation and a few example rows, so a user can fix the input without a debugger.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

KEY_COLUMNS = ("date", "asset")
REQUIRED_COLUMNS = ("date", "asset", "close")
PRICE_COLUMNS = ("open", "high", "low", "close")
RESERVED_COLUMNS = frozenset({"date", "asset", "open", "high", "low", "close", "volume", "sector"})


class DataContractError(ValueError):
    """Bad user data: names the file, column, failed expectation and example rows."""

    def __init__(self, source: str, column: str | None, expectation: str, examples: str = ""):
        self.source = source
        self.column = column
        self.expectation = expectation
        self.examples = examples
        where = f"column '{column}'" if column else "the file"
        message = f"{source}: {where} failed expectation: {expectation}"
        if examples:
            message += f"\nexample rows:\n{examples}"
        super().__init__(message)


@dataclass(frozen=True)
class ContractReport:
    """What a passed contract learnt about the panel (for metadata and summaries)."""

    n_rows: int
    n_dates: int
    n_assets: int
    features: tuple[str, ...]


def _examples(frame: pl.DataFrame, mask: pl.Expr, columns: list[str], n: int = 5) -> str:
    rows = frame.with_row_index("row").filter(mask).select(["row", *columns]).head(n)
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_formatting="ASCII_MARKDOWN"):
        return str(rows)


def feature_columns(panel: pl.DataFrame) -> list[str]:
    """Every numeric column that is not a key, price, volume or sector: a feature known at close."""
    return [
        name
        for name, dtype in panel.schema.items()
        if name not in RESERVED_COLUMNS and dtype.is_numeric() and not name.startswith("label_")
    ]


def check_panel(panel: pl.DataFrame, source: str = "<panel>") -> ContractReport:
    """Check the daily-panel contract; raise DataContractError on the first violation.

    Required: ``date`` (a date), ``asset`` (a string), ``close`` (numeric, finite, positive);
    ``(date, asset)`` unique; optional OHLV numeric and positive where present; feature
    columns numeric and free of infinities (nulls are allowed: a feature may be missing).
    """
    if panel.height == 0:
        raise DataContractError(source, None, "the panel has at least one row (it is empty)")
    missing = [c for c in REQUIRED_COLUMNS if c not in panel.columns]
    if missing:
        raise DataContractError(
            source, missing[0], f"required columns {list(REQUIRED_COLUMNS)} are present "
            f"(missing {missing}; found {panel.columns[:12]})"
        )
    if panel.schema["date"] != pl.Date:
        raise DataContractError(source, "date", f"dtype is a date (got {panel.schema['date']})")
    if panel.schema["asset"] != pl.String:
        raise DataContractError(source, "asset", f"dtype is a string (got {panel.schema['asset']})")
    for column in ("date", "asset"):
        nulls = pl.col(column).is_null()
        if panel.select(nulls.any()).item():
            raise DataContractError(source, column, "has no missing values",
                                    _examples(panel, nulls, list(KEY_COLUMNS)))
    duplicated = pl.struct(KEY_COLUMNS).is_duplicated()
    if panel.select(duplicated.any()).item():
        raise DataContractError(source, "date, asset", "(date, asset) pairs are unique",
                                _examples(panel, duplicated, list(KEY_COLUMNS)))
    numeric_checked = [c for c in ("open", "high", "low", "close", "volume") if c in panel.columns]
    for column in numeric_checked:
        dtype = panel.schema[column]
        if not dtype.is_numeric():
            raise DataContractError(source, column, f"dtype is numeric (got {dtype})",
                                    _examples(panel, pl.lit(True), [*KEY_COLUMNS, column]))
        value = pl.col(column).cast(pl.Float64)
        if column == "close":
            bad = value.is_null() | ~value.is_finite() | (value <= 0)
            expectation = "values are finite and > 0 (a price)"
        elif column == "volume":
            bad = value.is_not_null() & (~value.is_finite() | (value < 0))
            expectation = "values are finite and >= 0"
        else:
            bad = value.is_not_null() & (~value.is_finite() | (value <= 0))
            expectation = "values are finite and > 0 (a price)"
        if panel.select(bad.any()).item():
            raise DataContractError(source, column, expectation,
                                    _examples(panel, bad, [*KEY_COLUMNS, column]))
    features = feature_columns(panel)
    non_numeric = [
        c for c, t in panel.schema.items()
        if c not in RESERVED_COLUMNS and not t.is_numeric() and not c.startswith("label_")
    ]
    if non_numeric:
        column = non_numeric[0]
        raise DataContractError(
            source, column, f"every extra column is a numeric feature (got {panel.schema[column]})",
            _examples(panel, pl.lit(True), [*KEY_COLUMNS, column], n=3),
        )
    for column in features:
        bad = pl.col(column).cast(pl.Float64).is_infinite()
        if panel.select(bad.any()).item():
            raise DataContractError(source, column, "values are finite (no inf)",
                                    _examples(panel, bad, [*KEY_COLUMNS, column]))
    return ContractReport(
        n_rows=panel.height,
        n_dates=panel["date"].n_unique(),
        n_assets=panel["asset"].n_unique(),
        features=tuple(features),
    )
