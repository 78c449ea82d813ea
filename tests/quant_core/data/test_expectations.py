"""The whole contract as one result: polars checks, quality findings and the GX suite agree."""

import datetime as dt

import polars as pl
import pytest

from quant_core.data.contracts import DataContractError
from quant_core.data.expectations import build_suite, run_great_expectations, validate_panel
from quant_core.data.quality import QualityThresholds, duplicate_features, missing_share_by_date


def _row(panel, row, **values):
    mask = pl.int_range(pl.len()) == row
    return panel.with_columns(
        pl.when(mask).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items())


def test_a_clean_panel_passes_every_expectation_of_both_engines(make_panel, today):
    result = validate_panel(make_panel(), "p.parquet", today=today)
    assert result.passed and result.failures == () and result.warnings == ()
    table = result.table
    assert table.columns == ["expectation", "column", "severity", "success", "observed",
                             "unexpected_count", "examples", "engine"]
    assert set(table["engine"]) == {"polars", "great_expectations"}
    assert table["success"].all()
    gx_rows = table.filter(pl.col("engine") == "great_expectations")
    assert "expect_compound_columns_to_be_unique()" in gx_rows["expectation"].to_list()
    assert gx_rows.height == len(build_suite(make_panel().schema, today=today).expectations)


def test_gx_finds_the_same_bad_rows_as_the_polars_checks(make_panel, today):
    bad = _row(make_panel(), 4, close=-1.0)
    bad = _row(bad, 7, f1=float("inf"))
    bad = pl.concat([bad, bad.slice(2, 1)])
    outcomes = {(o.expectation.split("(")[0], o.column): o
                for o in run_great_expectations(bad, today=today)}
    prices = outcomes[("expect_column_values_to_be_between", "close")]
    assert not prices.success and prices.unexpected_count == 1
    assert "2024-01-02" in prices.examples and "B" in prices.examples  # row 4 = (Jan 2, B)
    assert not outcomes[("expect_column_values_to_be_between", "f1")].success
    assert outcomes[("expect_compound_columns_to_be_unique", "date, asset")].unexpected_count == 2
    result = validate_panel(bad, "bad.parquet", today=today)
    assert not result.passed
    assert result.failures[0] == "column 'date, asset': (date, asset) pairs are unique"
    with pytest.raises(DataContractError) as info:
        result.raise_if_failed()
    assert info.value.column == "date, asset"  # the precise polars message comes first


def test_future_dates_fail_in_both_engines(make_panel):
    panel = make_panel()
    result = validate_panel(panel, "p.csv", today=dt.date(2024, 1, 3))
    failed = result.table.filter(~pl.col("success"))
    assert set(failed["engine"]) == {"polars", "great_expectations"}
    assert failed.filter(pl.col("engine") == "polars")["expectation"].item() == \
        "dates are not in the future (after 2024-01-03)"
    gx = failed.filter(pl.col("engine") == "great_expectations")
    assert gx["column"].to_list() == ["date"] and gx["unexpected_count"].item() == 9


def test_survivorship_constant_and_duplicate_features_warn_but_pass(make_panel, today):
    panel = make_panel().with_columns(flat=pl.lit(1.0), f1_copy=pl.col("f1"))
    panel = panel.filter(~((pl.col("asset") == "C") & (pl.col("date") > dt.date(2024, 1, 4))))
    result = validate_panel(panel, "p.parquet", today=today)
    assert result.passed
    warned = result.table.filter((pl.col("severity") == "warning") & ~pl.col("success"))
    assert set(warned["expectation"]) == {
        "assets trade until the last date (survivorship hint)",
        "features are not constant",
        "features are not duplicates of each other",
        "expect_column_stdev_to_be_between(min_value=0.0, strict_min=True)",
    }
    survivors = warned.filter(pl.col("column") == "asset")
    assert survivors["observed"].item() == "1 of 3 assets stop early"
    assert "2024-01-04" in survivors["examples"].item()  # C's last date
    assert any("f1_copy == f1" in w for w in result.warnings)


def test_a_long_panel_where_no_asset_ever_leaves_gets_a_survivorship_warning(make_panel, today):
    result = validate_panel(make_panel(), "p.parquet", today=today,
                            thresholds=QualityThresholds(survivorship_min_dates=5),
                            use_great_expectations=False)
    assert result.passed
    assert result.warnings == (
        ("column 'asset': over 5+ dates some asset leaves (else the universe may be today's "
         "survivors) (observed 6 dates, 0 assets leave)"),)


def test_missing_share_by_date_counts_null_and_nan_cells(make_panel):
    panel = _row(_row(make_panel(), 0, f1=None), 1, f1=float("nan"))
    shares = missing_share_by_date(panel, ["close", "volume", "f1"])
    assert shares["missing_share"].to_list()[:2] == [pytest.approx(2 / 9), 0.0]
    assert duplicate_features(panel, ["f1", "close"]) == []


def test_a_structurally_broken_panel_still_gets_a_table(make_panel, today):
    result = validate_panel(make_panel().drop("close"), "p.parquet", today=today)
    assert not result.passed
    gx_exists = result.table.filter(
        (pl.col("expectation") == "expect_column_to_exist()") & (pl.col("column") == "close"))
    assert gx_exists["success"].to_list() == [False]


def test_thresholds_are_validated():
    with pytest.raises(ValueError, match=r"max_missing_share_date must lie in \[0, 1\], got 1.5"):
        QualityThresholds(max_missing_share_date=1.5)
