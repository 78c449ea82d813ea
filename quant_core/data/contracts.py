"""Data contracts for user panels: the checks every panel passes before research starts.

A contract failure raises :class:`DataContractError`, whose message names the file, the column,
the failed expectation and a few example rows, so a user can fix the input without a debugger.

:func:`check_panel` is the structural contract (keys, types, prices, plausible dates); it stops at
the first violation so the message is precise. Data-quality thresholds (missing shares, vanishing
assets, constant or duplicate features) live in :mod:`quant_core.data.quality`, and the Great
Expectations suite that reports every expectation at once in :mod:`quant_core.data.expectations`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from quant_core.data.snapshot import AVAILABILITY_SUFFIX, availability_map

KEY_COLUMNS = ("date", "asset")
REQUIRED_COLUMNS = ("date", "asset", "close")
PRICE_COLUMNS = ("open", "high", "low", "close")
RESERVED_COLUMNS = frozenset({"date", "asset", "open", "high", "low", "close", "volume", "sector"})

#: The earliest date a daily panel may hold: anything before is a parsing accident (e.g. 0001-01-01).
MIN_DATE = dt.date(1900, 1, 1)

# The expectation texts, shared by the checks and the tests that assert them.
EXPECT_NOT_EMPTY = "the panel has at least one row (it is empty)"
EXPECT_UNIQUE_KEYS = "(date, asset) pairs are unique"
EXPECT_NO_MISSING = "has no missing values"
EXPECT_PRICE = "values are finite and > 0 (a price)"
EXPECT_VOLUME = "values are finite and >= 0"
EXPECT_FINITE = "values are finite (no inf)"


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


def format_rows(rows: pl.DataFrame) -> str:
    """A small frame as an ASCII table for error messages (no shape line)."""
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_formatting="ASCII_MARKDOWN",
                   tbl_cols=12, fmt_str_lengths=60):
        return str(rows)


def example_rows(frame: pl.DataFrame, mask: pl.Expr, columns: list[str], n: int = 5) -> str:
    """The first ``n`` rows of ``frame`` where ``mask`` holds, as a table of their 0-based row
    number and ``columns`` (see :func:`format_rows`): the example rows of a contract error."""
    rows = frame.with_row_index("row").filter(mask).select(["row", *columns]).head(n)
    return format_rows(rows)


def feature_columns(panel: pl.DataFrame) -> list[str]:
    """Every numeric column that is not a key, price, volume or sector: a feature known at close."""
    return [
        name
        for name, dtype in panel.schema.items()
        if name not in RESERVED_COLUMNS and dtype.is_numeric() and not name.startswith("label_")
    ]


def availability_columns(panel: pl.DataFrame) -> dict[str, str]:
    """``{feature: timestamp column}`` for features that bring a ``<feature>__available_at``
    date or datetime column.

    An availability timestamp says when a value became known (e.g. a fundamental published after
    the close); the leakage audit compares it with the decision time.
    """
    found = availability_map(panel, feature_columns(panel))
    return {f: c for f, c in found.items() if panel.schema[c].is_temporal()}


def _present_keys(panel: pl.DataFrame) -> list[str]:
    return [c for c in KEY_COLUMNS if c in panel.columns]


def _check_keys(panel: pl.DataFrame, source: str) -> None:
    if panel.schema["date"] != pl.Date:
        raise DataContractError(source, "date", f"dtype is a date (got {panel.schema['date']})",
                                example_rows(panel, pl.lit(True), list(KEY_COLUMNS), n=3))
    if panel.schema["asset"] != pl.String:
        raise DataContractError(source, "asset",
                                f"dtype is a string (got {panel.schema['asset']})",
                                example_rows(panel, pl.lit(True), list(KEY_COLUMNS), n=3))
    for column in ("date", "asset"):
        nulls = pl.col(column).is_null()
        if panel.select(nulls.any()).item():
            raise DataContractError(source, column, EXPECT_NO_MISSING,
                                    example_rows(panel, nulls, list(KEY_COLUMNS)))
    duplicated = pl.struct(KEY_COLUMNS).is_duplicated()
    if panel.select(duplicated.any()).item():
        raise DataContractError(source, "date, asset", EXPECT_UNIQUE_KEYS,
                                example_rows(panel, duplicated, list(KEY_COLUMNS)))


def _check_dates(panel: pl.DataFrame, source: str, today: dt.date | None) -> None:
    today = today or dt.date.today()
    too_early = pl.col("date") < MIN_DATE
    if panel.select(too_early.any()).item():
        raise DataContractError(source, "date", f"dates are on or after {MIN_DATE} (plausible)",
                                example_rows(panel, too_early, list(KEY_COLUMNS)))
    future = pl.col("date") > today
    if panel.select(future.any()).item():
        raise DataContractError(source, "date", f"dates are not in the future (after {today})",
                                example_rows(panel, future, list(KEY_COLUMNS)))


def _not_numeric(column: str) -> pl.Expr:
    value = pl.col(column)
    return value.is_not_null() & value.cast(pl.Float64, strict=False).is_null()


def _check_prices(panel: pl.DataFrame, source: str) -> None:
    for column in ("open", "high", "low", "close", "volume"):
        if column not in panel.columns:
            continue
        dtype = panel.schema[column]
        if not dtype.is_numeric():
            mask = _not_numeric(column) if dtype == pl.String else pl.lit(True)
            raise DataContractError(source, column, f"dtype is numeric (got {dtype})",
                                    example_rows(panel, mask, [*KEY_COLUMNS, column]))
        value = pl.col(column).cast(pl.Float64)
        if column == "close":
            bad, expectation = value.is_null() | ~value.is_finite() | (value <= 0), EXPECT_PRICE
        elif column == "volume":
            bad = value.is_not_null() & (~value.is_finite() | (value < 0))
            expectation = EXPECT_VOLUME
        else:
            bad = value.is_not_null() & (~value.is_finite() | (value <= 0))
            expectation = EXPECT_PRICE
        if panel.select(bad.any()).item():
            raise DataContractError(source, column, expectation,
                                    example_rows(panel, bad, [*KEY_COLUMNS, column]))


def _check_extras(panel: pl.DataFrame, source: str) -> list[str]:
    extras = [c for c in panel.columns if c not in RESERVED_COLUMNS and not c.startswith("label_")]
    for column in extras:
        dtype = panel.schema[column]
        if dtype.is_numeric() or (column.endswith(AVAILABILITY_SUFFIX) and dtype.is_temporal()):
            continue
        mask = _not_numeric(column) if dtype == pl.String else pl.lit(True)
        raise DataContractError(
            source, column, f"every extra column is a numeric feature (got {dtype})",
            example_rows(panel, mask, [*KEY_COLUMNS, column], n=3),
        )
    features = feature_columns(panel)
    for column in features:
        bad = pl.col(column).cast(pl.Float64).is_infinite()
        if panel.select(bad.any()).item():
            raise DataContractError(source, column, EXPECT_FINITE,
                                    example_rows(panel, bad, [*KEY_COLUMNS, column]))
    return features


def check_panel(panel: pl.DataFrame, source: str = "<panel>", *,
                today: dt.date | None = None) -> ContractReport:
    """Check the daily-panel contract; raise DataContractError on the first violation.

    Required: ``date`` (a date between 1900-01-01 and ``today``), ``asset`` (a string),
    ``close`` (numeric, finite, positive); ``(date, asset)`` unique; optional OHL numeric and
    positive where present, ``volume`` >= 0; extra columns numeric features free of infinities
    (nulls and NaN are allowed: a feature may be missing) or ``<feature>__available_at``
    timestamps. Row order is not checked: readers sort by ``(date, asset)``.

    Parameters
    ----------
    panel : the long frame to check.
    source : the file name (or a label) quoted in error messages.
    today : the date after which a row is "in the future"; defaults to the machine's date.
    """
    if panel.height == 0:
        raise DataContractError(source, None, EXPECT_NOT_EMPTY)
    missing = [c for c in REQUIRED_COLUMNS if c not in panel.columns]
    if missing:
        raise DataContractError(
            source, missing[0], f"required columns {list(REQUIRED_COLUMNS)} are present "
            f"(missing {missing}; found {panel.columns[:12]})",
            example_rows(panel, pl.lit(True), _present_keys(panel) or panel.columns[:4], n=3),
        )
    _check_keys(panel, source)
    _check_dates(panel, source, today)
    _check_prices(panel, source)
    features = _check_extras(panel, source)
    return ContractReport(
        n_rows=panel.height,
        n_dates=panel["date"].n_unique(),
        n_assets=panel["asset"].n_unique(),
        features=tuple(features),
    )
