"""Order-book snapshots: canonical layout, contract violations by name, the real BTC/USD book."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from quant_core.data.contracts import DataContractError
from quant_core.data.orderbook_io import (
    check_orderbook,
    from_ts_ms_layout,
    infer_levels,
    orderbook_columns,
    read_orderbook,
)

BTC_BOOK = (Path(__file__).resolve().parents[4] / "shared" / "data" / "lob"
            / "btcusd_bitstamp_2026-05-02_L10_100ms.csv.gz")


def _book() -> pl.DataFrame:
    """Two assets, interleaved snapshots, two levels; every contract rule holds."""
    t0 = dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.UTC)
    rows = []
    for i in range(3):
        for asset, mid in (("X", 100.0), ("Y", 50.0)):
            rows.append({
                "timestamp": t0 + dt.timedelta(milliseconds=100 * i), "asset": asset,
                "bid_px_1": mid - 0.5, "bid_sz_1": 3.0, "ask_px_1": mid + 0.5, "ask_sz_1": 2.0,
                "bid_px_2": mid - 1.0, "bid_sz_2": 0.0, "ask_px_2": mid + 1.0, "ask_sz_2": 4.0,
            })
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").dt.cast_time_unit("ms"))


def _set(book, row, **values):
    mask = pl.int_range(pl.len()) == row
    return book.with_columns(
        pl.when(mask).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in values.items())


def test_a_valid_book_passes_with_its_depth_inferred():
    report = check_orderbook(_book(), "book")
    assert (report.n_rows, report.n_assets, report.levels) == (6, 2, 2)
    assert infer_levels(["bid_px_1", "bid_sz_1", "ask_px_1", "ask_sz_1", "bid_px_2"]) == 1
    assert orderbook_columns(1) == ["timestamp", "asset", "bid_px_1", "bid_sz_1", "ask_px_1",
                                    "ask_sz_1"]


@pytest.mark.parametrize(("mutate", "column", "expectation"), [
    (lambda b: _set(b, 2, bid_px_1=100.5), "bid_px_1",
     "best bid < best ask (the book is not crossed or locked)"),
    (lambda b: _set(b, 3, bid_px_2=49.6), "bid_px_2",
     "bid prices fall with depth (bid_px_2 < bid_px_1)"),
    (lambda b: _set(b, 0, ask_px_2=100.2), "ask_px_2",
     "ask prices rise with depth (ask_px_2 > ask_px_1)"),
    (lambda b: _set(b, 4, ask_sz_2=-1.0), "ask_sz_2", "sizes are finite and >= 0"),
    (lambda b: _set(b, 1, bid_px_1=float("inf")), "bid_px_1", "prices are finite and > 0"),
    (lambda b: _set(b, 5, ask_px_1=None, ask_sz_1=None), "ask_px_1",
     "level 1 is never empty (price and size present)"),
    (lambda b: _set(b, 5, bid_sz_2=None), "bid_sz_2",
     "a level has both price and size or neither"),
    (lambda b: _set(b, 4, timestamp=dt.datetime(2024, 3, 1, 14, 30, tzinfo=dt.UTC)),
     "timestamp", "timestamps strictly increase per asset (in file order)"),
    (lambda b: b.drop("ask_sz_2").with_columns(pl.lit(1.0).alias("ask_sz_2x")), "bid_px_1",
     None),
])
def test_each_violation_names_its_column_and_expectation(mutate, column, expectation):
    book = mutate(_book())
    if expectation is None:  # a level-2 column missing: the book is read as one level deep
        assert check_orderbook(book).levels == 1
        return
    with pytest.raises(DataContractError) as info:
        check_orderbook(book, "book.parquet")
    assert (info.value.column, info.value.expectation) == (column, expectation)
    assert "timestamp" in info.value.examples


def test_thin_books_may_leave_deeper_levels_empty_but_not_skip_one():
    thin = _set(_book(), 2, bid_px_2=None, bid_sz_2=None)
    assert check_orderbook(thin).levels == 2
    holey = _book().with_columns((pl.col("bid_px_2") - 1).alias("bid_px_3"),
                                 pl.lit(1.0).alias("bid_sz_3"),
                                 (pl.col("ask_px_2") + 1).alias("ask_px_3"),
                                 pl.lit(1.0).alias("ask_sz_3"))
    holey = _set(holey, 1, bid_px_2=None, bid_sz_2=None)
    with pytest.raises(DataContractError, match="an empty level 2 has no deeper level behind it"):
        check_orderbook(holey)


def test_the_ts_ms_layout_is_adapted_to_the_canonical_one(tmp_path):
    wide = pl.DataFrame({"ts_ms": [1_700_000_000_000, 1_700_000_000_100],
                         "ask_px_1": [10.5, 10.6], "ask_sz_1": [1.0, 2.0],
                         "bid_px_1": [10.4, 10.5], "bid_sz_1": [3.0, 1.0]})
    book = from_ts_ms_layout(wide, "ZZ")
    assert book.columns == orderbook_columns(1)
    assert book["timestamp"].to_list()[1] == dt.datetime(2023, 11, 14, 22, 13, 20, 100_000,
                                                         tzinfo=dt.UTC)
    path = tmp_path / "book.csv"
    wide.write_csv(path)
    assert read_orderbook(path, asset="ZZ").equals(book)
    with pytest.raises(DataContractError, match="asset= is given"):
        read_orderbook(path)


@pytest.mark.realdata
@pytest.mark.skipif(not BTC_BOOK.exists(), reason=f"real order book not found at {BTC_BOOK} "
                    "(only in the dev/CI layout)")
def test_the_real_btcusd_ten_level_book_satisfies_the_contract():
    book = read_orderbook(BTC_BOOK, asset="BTC/USD")
    assert book.height == 17_999 and book.columns == orderbook_columns(10)
    assert book.schema["timestamp"] == pl.Datetime("ms", "UTC")
    assert book["timestamp"].diff().drop_nulls().dt.total_milliseconds().min() == 100
    spread = book["ask_px_1"] - book["bid_px_1"]
    assert spread.min() >= 1.0 and 1.0 <= spread.median() <= 3.0  # README: typically 1-3 USD
    assert book.select(pl.col("^.*_sz_.*$").min()).min_horizontal().item() >= 0
