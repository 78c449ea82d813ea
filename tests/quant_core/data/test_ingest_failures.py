"""Every bad input raises its own DataContractError and leaves the snapshot store byte-identical."""

import datetime as dt

import polars as pl
import pytest

from quant_core.data.contracts import (
    EXPECT_FINITE,
    EXPECT_NOT_EMPTY,
    EXPECT_PRICE,
    EXPECT_UNIQUE_KEYS,
    DataContractError,
)
from quant_core.data.ingest import ingest_panel


def _parquet(frame, path):
    frame.write_parquet(path)
    return path


def _csv(frame, path):
    frame.write_csv(path)
    return path


def _with_row(panel, row: int, **values):
    mask = pl.int_range(pl.len()) == row
    return panel.with_columns(
        pl.when(mask).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items())


def missing_column(tmp, p):
    return _parquet(p.drop("close"), tmp / "bad.parquet")


def wrong_type(tmp, p):
    text = p.with_columns(pl.col("close").cast(pl.String))
    return _csv(_with_row(text, 4, close="12,5"), tmp / "bad.csv")


def duplicate_keys(tmp, p):
    return _parquet(pl.concat([p, p.slice(7, 1)]), tmp / "bad.parquet")


def nan_price(tmp, p):
    return _parquet(_with_row(p, 5, close=float("nan")), tmp / "bad.parquet")


def inf_feature(tmp, p):
    return _parquet(_with_row(p, 2, f1=float("inf")), tmp / "bad.parquet")


def negative_price(tmp, p):
    return _parquet(_with_row(p, 3, close=-11.0), tmp / "bad.parquet")


def future_date(tmp, p):
    return _parquet(_with_row(p, 8, date=dt.date(2031, 1, 2)), tmp / "bad.parquet")


def ancient_date(tmp, p):
    return _parquet(_with_row(p, 8, date=dt.date(1899, 12, 31)), tmp / "bad.parquet")


def empty_file(tmp, p):
    path = tmp / "bad.csv"
    path.write_bytes(b"")
    return path


def header_only(tmp, p):
    return _csv(p.head(0), tmp / "bad.csv")


def truncated_parquet(tmp, p):
    path = _parquet(p, tmp / "bad.parquet")
    path.write_bytes(path.read_bytes()[:300])
    return path


def broken_csv_row(tmp, p):
    path = _csv(p, tmp / "bad.csv")
    lines = path.read_text().splitlines()
    lines[3] += ",999"
    path.write_text("\n".join(lines) + "\n")
    return path


def mixed_date_formats(tmp, p):
    text = p.with_columns(pl.col("date").dt.strftime("%Y-%m-%d"))
    return _csv(_with_row(text, 6, date="03/01/2024"), tmp / "bad.csv")


def ambiguous_dates(tmp, p):
    return _csv(p.with_columns(pl.col("date").dt.strftime("%d/%m/%Y")), tmp / "bad.csv")


def sparse_feature(tmp, p):
    return _parquet(p.with_columns(pl.when(pl.col("date") > dt.date(2024, 1, 2))
                                   .then(None).otherwise(pl.col("f1")).alias("f1")),
                    tmp / "bad.parquet")


def half_missing_date(tmp, p):
    gap = pl.col("date") == dt.date(2024, 1, 4)
    return _parquet(p.with_columns(pl.when(gap).then(None).otherwise(pl.col(c)).alias(c)
                                   for c in ("volume", "f1")), tmp / "bad.parquet")


CASES = [
    (missing_column, "close", ("required columns ['date', 'asset', 'close'] are present "
                               "(missing ['close']; found ['date', 'asset', 'volume', 'f1'])"),
     "row"),
    (wrong_type, "close", "dtype is numeric (got String)", "12,5"),
    (duplicate_keys, "date, asset", EXPECT_UNIQUE_KEYS, "2024-01-03"),
    (nan_price, "close", EXPECT_PRICE, "NaN"),
    (inf_feature, "f1", EXPECT_FINITE, "inf"),
    (negative_price, "close", EXPECT_PRICE, "-11.0"),
    (future_date, "date", "dates are not in the future (after 2024-06-30)", "2031-01-02"),
    (ancient_date, "date", "dates are on or after 1900-01-01 (plausible)", "1899-12-31"),
    (empty_file, None, "the file is not empty (it has 0 bytes)", ""),
    (header_only, None, EXPECT_NOT_EMPTY, ""),
    (truncated_parquet, None, "the file is readable (", ""),
    (broken_csv_row, None, "every CSV row has 5 fields like the header (1 rows do not)",
     "line 4: 6 fields"),
    (mixed_date_formats, "date", "every value is a date in one format", "03/01/2024"),
    (ambiguous_dates, "date", ("dates are unambiguous (they read both as '%d/%m/%Y' and as "
                               "'%m/%d/%Y' with different results; write them as YYYY-MM-DD)"),
     "02/01/2024"),
    (sparse_feature, "f1", "missing share per column <= 0.5 (observed 0.667)", "2024-01-03"),
    (half_missing_date, "date", "missing share per date <= 0.5 (observed max 0.667)",
     "2024-01-04"),
]


@pytest.fixture
def store(tmp_path, make_panel, today):
    """A store that already holds one version, so 'unchanged' is a real claim."""
    good = tmp_path / "good.parquet"
    make_panel().write_parquet(good)
    ingest_panel(good, tmp_path / "store", today=today, use_great_expectations=False)
    return tmp_path / "store"


@pytest.mark.parametrize(("make_bad", "column", "expectation", "example"), CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_bad_input_raises_its_error_and_leaves_the_store_unchanged(
        tmp_path, store, make_panel, today, fingerprint, make_bad, column, expectation, example):
    path = make_bad(tmp_path, make_panel())
    before = fingerprint(store)
    with pytest.raises(DataContractError) as info:
        ingest_panel(path, store, today=today, use_great_expectations=False)
    err = info.value
    assert err.source == str(path)
    assert err.column == column
    if expectation.endswith("(") or expectation.startswith(("every value", "missing share")):
        assert err.expectation.startswith(expectation)  # the rest names counts and formats
    else:
        assert err.expectation == expectation
    assert example in err.examples
    message = str(err)
    assert message.startswith(f"{path}: ")
    assert (f"column '{column}'" if column else "the file") in message
    assert fingerprint(store) == before


def test_a_failed_ingest_into_a_new_store_creates_nothing(tmp_path, make_panel, today,
                                                          fingerprint):
    bad = negative_price(tmp_path, make_panel())
    with pytest.raises(DataContractError):
        ingest_panel(bad, tmp_path / "fresh", today=today)
    assert fingerprint(tmp_path / "fresh") == "absent"


def test_a_schema_change_is_refused_in_upsert_mode_and_allowed_in_replace_mode(
        tmp_path, store, make_panel, today, fingerprint):
    path = _parquet(make_panel().with_columns(f2=pl.col("f1") * 2), tmp_path / "wider.parquet")
    before = fingerprint(store)
    with pytest.raises(DataContractError) as info:
        ingest_panel(path, store, today=today, use_great_expectations=False)
    assert info.value.column == "f2"
    assert info.value.expectation.startswith(
        "columns and types match the store's current version (new ['f2'])")
    assert fingerprint(store) == before
    result = ingest_panel(path, store, today=today, mode="replace", use_great_expectations=False)
    assert result.changed and result.previous_version is not None


def test_the_missing_file_and_unknown_suffix_are_contract_errors(tmp_path, store, today):
    with pytest.raises(DataContractError, match="the file exists"):
        ingest_panel(tmp_path / "nope.parquet", store, today=today)
    odd = tmp_path / "panel.xlsx"
    odd.write_bytes(b"x")
    with pytest.raises(DataContractError, match=r"the file is \.parquet or \.csv \(got '\.xlsx'\)"):
        ingest_panel(odd, store, today=today)
