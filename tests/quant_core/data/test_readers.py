"""Reading a user's panel: canonical layout on good input, DataContractError on bad input."""

import datetime as dt

import polars as pl
import pytest

from quant_core.data.contracts import DataContractError, check_panel, feature_columns
from quant_core.data.readers import read_panel
from quant_core.data.snapshot import content_hash


def _panel(n_dates=4, assets=("B", "A")):
    rows = [
        {"date": dt.date(2024, 1, 1) + dt.timedelta(days=d), "asset": a, "close": 10.0 + d + i,
         "volume": 100.0, "sector": "Tech", "f1": float(d - i)}
        for d in range(n_dates) for i, a in enumerate(assets)
    ]
    return pl.DataFrame(rows)


def test_csv_round_trip_parses_dates_sorts_and_finds_features(tmp_path):
    path = tmp_path / "p.csv"
    _panel().write_csv(path)
    panel = read_panel(path)
    assert panel.schema["date"] == pl.Date and panel.schema["asset"] == pl.String
    assert panel["asset"].to_list()[:2] == ["A", "B"]  # sorted by (date, asset)
    assert feature_columns(panel) == ["f1"]
    assert panel.height == 8


def test_other_date_formats_are_parsed(tmp_path):
    path = tmp_path / "p.csv"
    _panel().with_columns(pl.col("date").dt.strftime("%Y%m%d")).write_csv(path)
    assert read_panel(path)["date"].min() == dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    ("mutate", "column", "expectation"),
    [
        (lambda p: p.drop("close"), "close", "required columns"),
        (lambda p: pl.concat([p, p.head(1)]), "date, asset", "pairs are unique"),
        (lambda p: p.with_columns(pl.lit(float("inf")).alias("f1")), "f1", "finite"),
        (lambda p: p.with_columns((pl.col("close") * -1).alias("close")), "close", "> 0"),
        (lambda p: p.with_columns(pl.lit("x").alias("note")), "note", "numeric feature"),
        (lambda p: p.head(0), None, "at least one row"),
    ],
)
def test_contract_violations_name_file_column_and_examples(tmp_path, mutate, column, expectation):
    path = tmp_path / "bad.parquet"
    mutate(_panel()).write_parquet(path)
    with pytest.raises(DataContractError) as info:
        read_panel(path)
    err = info.value
    assert err.source == str(path) and err.column == column and expectation in err.expectation
    assert str(path) in str(err)


def test_example_rows_show_the_offending_row(tmp_path):
    bad = _panel().with_columns(
        pl.when(pl.col("f1") == 2.0).then(float("inf")).otherwise(pl.col("f1")).alias("f1"))
    with pytest.raises(DataContractError) as info:
        check_panel(bad, "mem")
    assert "inf" in info.value.examples and "2024-01-03" in info.value.examples


def test_unreadable_and_missing_files_raise_contract_errors(tmp_path):
    truncated = tmp_path / "t.parquet"
    _panel().write_parquet(truncated)
    truncated.write_bytes(truncated.read_bytes()[:40])
    with pytest.raises(DataContractError, match="readable"):
        read_panel(truncated)
    with pytest.raises(DataContractError, match="exists"):
        read_panel(tmp_path / "nope.parquet")
    with pytest.raises(DataContractError, match="one format"):
        path = tmp_path / "dates.csv"
        _panel().with_columns(pl.lit("not a date").alias("date")).write_csv(path)
        read_panel(path)


def test_content_hash_is_stable_and_sensitive_to_any_value():
    a = _panel()
    assert content_hash(a) == content_hash(_panel())
    b = a.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(99.0).otherwise(pl.col("f1")).alias("f1"))
    assert content_hash(a) != content_hash(b)
    assert len(content_hash(a)) == 16


def test_integer_and_datetime_dates_are_read_as_dates(tmp_path):
    ints = _panel().with_columns(pl.col("date").dt.strftime("%Y%m%d").cast(pl.Int64))
    ints.write_parquet(tmp_path / "ints.parquet")
    stamps = _panel().with_columns(pl.col("date").cast(pl.Datetime("us")))
    stamps.write_parquet(tmp_path / "stamps.parquet")
    expected = read_panel(_write(_panel(), tmp_path / "p.parquet"))
    assert read_panel(tmp_path / "ints.parquet").equals(expected)
    assert read_panel(tmp_path / "stamps.parquet").equals(expected)


def _write(frame, path):
    frame.write_parquet(path)
    return path


def test_nan_in_optional_columns_is_read_as_missing_but_not_in_close(tmp_path):
    panel = _panel().with_columns(
        pl.when(pl.col("f1") == 0.0).then(float("nan")).otherwise(pl.col("f1")).alias("f1"))
    read = read_panel(_write(panel, tmp_path / "p.parquet"))
    assert read["f1"].null_count() == 2 and not read["f1"].is_nan().any()
    bad = panel.with_columns(pl.lit(float("nan")).alias("close"))
    with pytest.raises(DataContractError) as info:
        read_panel(_write(bad, tmp_path / "bad.parquet"))
    assert info.value.column == "close" and "NaN" in info.value.examples


def test_availability_timestamps_are_allowed_and_paired_with_their_feature(tmp_path):
    from quant_core.data.contracts import availability_columns

    panel = _panel().with_columns(
        (pl.col("date").cast(pl.Datetime("us")) + pl.duration(hours=20)).alias("f1__available_at"))
    path = tmp_path / "p.csv"
    panel.write_csv(path)
    read = read_panel(path)
    assert read.schema["f1__available_at"] == pl.Datetime("us")
    assert availability_columns(read) == {"f1": "f1__available_at"}
    assert feature_columns(read) == ["f1"]


def test_future_dates_fail_relative_to_an_injected_today(tmp_path):
    path = _write(_panel(), tmp_path / "p.parquet")
    assert read_panel(path, today=dt.date(2024, 1, 4)).height == 8
    with pytest.raises(DataContractError, match=r"not in the future \(after 2024-01-03\)"):
        read_panel(path, today=dt.date(2024, 1, 3))
