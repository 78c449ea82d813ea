"""Point-in-time windows, context kept from fit, and prepending it at prediction."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from quant_core.models.torch.data import (
    date_codes,
    prepend_context,
    sequence_windows,
    standardised_matrix,
    trailing_context,
)

D = [dt.date(2024, 1, d) for d in range(1, 8)]


def tiny() -> pl.DataFrame:
    """A has dates 1,2,3,5; B has 2,3; rows deliberately out of order."""
    return pl.DataFrame(
        {
            "date": [D[2], D[0], D[1], D[4], D[2], D[1]],
            "asset": ["A", "A", "B", "A", "B", "A"],
            "f": [3.0, 1.0, 20.0, 5.0, 30.0, 2.0],
        }
    )


def test_windows_exact_on_a_hand_made_frame():
    w = sequence_windows(tiny(), 3)
    # row 0 = A@3: A@1 (row 1), A@2 (row 5), itself; row 3 = A@5 skips the missing day 4
    want = [[1, 5, 0], [-1, -1, 1], [-1, -1, 2], [5, 0, 3], [-1, 2, 4], [-1, 1, 5]]
    np.testing.assert_array_equal(w, want)
    np.testing.assert_array_equal(sequence_windows(tiny(), 1), [[0], [1], [2], [3], [4], [5]])


def brute_force_windows(frame: pl.DataFrame, seq_len: int) -> np.ndarray:
    dates, assets = frame["date"].to_list(), frame["asset"].to_list()
    out = np.full((frame.height, seq_len), -1)
    for i in range(frame.height):
        past = sorted(
            (dates[j], j)
            for j in range(frame.height)
            if assets[j] == assets[i] and dates[j] <= dates[i]
        )
        rows = [j for _, j in past][-seq_len:]
        out[i, seq_len - len(rows) :] = rows
    return out


@pytest.mark.parametrize("seq_len", [1, 2, 5])
def test_windows_match_brute_force_on_a_shuffled_gappy_panel(seq_len):
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "date": np.repeat(np.arange(12), 5).astype("M8[D]"),
            "asset": [f"a{i}" for i in range(5)] * 12,
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    frame = frame.filter(pl.Series(rng.random(frame.height) > 0.25))
    frame = frame[rng.permutation(frame.height)]
    np.testing.assert_array_equal(
        sequence_windows(frame, seq_len), brute_force_windows(frame, seq_len)
    )


def test_windows_reject_duplicate_keys_and_bad_seq_len():
    frame = pl.concat([tiny(), tiny().head(1)])
    with pytest.raises(ValueError, match=r"2 rows with a repeated \(date, asset\)"):
        sequence_windows(frame, 2)
    with pytest.raises(ValueError, match="seq_len must be >= 1, got 0"):
        sequence_windows(tiny(), 0)


def test_date_codes_and_standardised_matrix():
    frame = tiny().with_columns(g=pl.Series([1.0, None, float("nan"), 4.0, 5.0, 6.0]))
    np.testing.assert_array_equal(date_codes(frame), [2, 0, 1, 3, 2, 1])
    Z = standardised_matrix(frame, ["f", "g"], np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:, 0], (frame["f"].to_numpy() - 1.0) / 2.0)
    np.testing.assert_allclose(Z[:, 1], [-0.25, 0.0, 0.0, 0.5, 0.75, 1.0])


def test_trailing_context_keeps_last_rows_per_asset():
    ctx = trailing_context(tiny(), ["f"], 2)
    assert ctx.columns == ["date", "asset", "f"]
    assert ctx.rows() == [(D[1], "B", 20.0), (D[2], "A", 3.0), (D[2], "B", 30.0), (D[4], "A", 5.0)]
    assert trailing_context(tiny(), ["f"], 0).height == 0


def test_prepend_context_adds_only_each_assets_past():
    ctx = trailing_context(tiny(), ["f"], 3)  # A@2,3,5 ; B@2,3
    frame = pl.DataFrame(
        {"date": [D[5], D[3], D[6]], "asset": ["A", "B", "C"], "f": [6.0, 40.0, 7.0]}
    )
    combined, n_ctx = prepend_context(frame, ctx, ["f"], 2)
    # A's first frame date is 6 -> its last two earlier context rows (3, 5); B's is 4 -> 2, 3;
    # C has no context
    assert n_ctx == 4
    assert combined.head(n_ctx).rows() == [
        (D[1], "B", 20.0), (D[2], "A", 3.0), (D[2], "B", 30.0), (D[4], "A", 5.0),
    ]  # fmt: skip
    assert combined.tail(3).equals(frame)
    # context dated on or after the asset's first frame row is never used
    early = frame.with_columns(pl.lit(D[2]).alias("date"))
    combined, n_ctx = prepend_context(early, ctx, ["f"], 2)
    assert combined.head(n_ctx).rows() == [(D[1], "A", 2.0), (D[1], "B", 20.0)]
