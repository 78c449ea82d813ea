"""The matrix fast path of ``ic_series`` against scipy on layouts it has to survive: many
blocks (threads), ragged dates, ties, unsorted rows, non-date keys, the ragged fallback."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quant_core.validation import cross_section, ic_series
from quant_core.validation.cross_section import pad_rows, row_correlations


def _reference(frame, method, min_assets=5):
    f = stats.spearmanr if method == "spearman" else stats.pearsonr
    out = {}
    for (date,), part in frame.group_by("date"):
        x = part["s"].to_numpy().astype(float)
        y = part["target"].to_numpy().astype(float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if x.size < min_assets or np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        out[date] = (f(x, y)[0], x.size)
    return out


def _panel(n_dates, seed, ragged=True, ties=True):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 60, n_dates) if ragged else np.full(n_dates, 40)
    dates = np.repeat(np.arange(n_dates), sizes)
    s = rng.standard_normal(dates.size)
    if ties:
        s = np.round(s, 1)
    target = 0.2 * s + rng.standard_normal(dates.size)
    return pl.DataFrame(
        {"date": pl.Series(dates).cast(pl.Int32), "s": s, "target": target}
    ).with_columns((pl.lit(dt.date(2020, 1, 1)) + pl.duration(days=pl.col("date"))).alias("date"))


def _assert_matches(out, expected):
    assert out.columns == ["date", "ic", "n"]
    assert out["date"].to_list() == sorted(expected)
    for date, ic, n in out.iter_rows():
        assert ic == pytest.approx(expected[date][0], abs=1e-12)
        assert n == expected[date][1]


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_many_blocks_ragged_ties_match_scipy(method, monkeypatch):
    monkeypatch.setattr(cross_section, "_BLOCK_CELLS", 16 * 59)  # 16-date blocks, 2 threads
    frame = _panel(600, seed=1)
    _assert_matches(ic_series(frame, "s", method=method), _reference(frame, method))


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_unsorted_rows_give_the_same_series(method):
    frame = _panel(80, seed=2)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=7)
    got, want = ic_series(shuffled, "s", method=method), ic_series(frame, "s", method=method)
    assert got["date"].equals(want["date"]) and got["n"].equals(want["n"])
    np.testing.assert_allclose(got["ic"].to_numpy(), want["ic"].to_numpy(), rtol=0, atol=1e-13)
    _assert_matches(ic_series(shuffled, "s", method=method), _reference(frame, method))


def test_string_and_datetime_keys():
    frame = _panel(40, seed=3, ragged=False)
    for key in (pl.col("date").cast(pl.Datetime("us")), pl.col("date").cast(pl.String)):
        other = frame.with_columns(key.alias("date"))
        out = ic_series(other, "s")
        assert out["date"].dtype == other["date"].dtype
        np.testing.assert_array_equal(out["ic"].to_numpy(), ic_series(frame, "s")["ic"].to_numpy())


def test_very_ragged_panel_takes_the_group_by_path_with_equal_results(monkeypatch):
    wide = _panel(3, seed=4, ragged=False).with_columns(pl.lit(dt.date(2030, 1, 1)).alias("date"))
    frame = pl.concat([_panel(50, seed=5), wide.vstack(wide).vstack(wide)])
    calls = []
    original = cross_section.row_correlations
    monkeypatch.setattr(
        "quant_core.validation.ic.row_correlations",
        lambda *a, **k: calls.append(1) or original(*a, **k),
    )
    _assert_matches(ic_series(frame, "s"), _reference(frame, "spearman"))
    assert calls  # this one still fits the matrix
    monkeypatch.setattr("quant_core.validation.ic._MAX_PADDING_RATIO", 1)
    monkeypatch.setattr("quant_core.validation.ic._PADDING_SLACK_CELLS", 0)
    calls.clear()
    _assert_matches(ic_series(frame, "s"), _reference(frame, "spearman"))
    assert not calls


def test_empty_and_all_invalid_frames_give_empty_series():
    frame = _panel(5, seed=6).with_columns(pl.lit(None, dtype=pl.Float64).alias("s"))
    out = ic_series(frame, "s")
    assert out.height == 0 and out.columns == ["date", "ic", "n"]
    assert out.schema["ic"] == pl.Float64 and out.schema["n"] == pl.Int64


def test_constant_row_is_nan_not_one():
    x = np.array([[1.0, 1.0, 1.0, np.nan], [0.1, 0.1, 0.1, 0.1]])
    y = np.array([[1.0, 2.0, 3.0, np.nan], [3.0, 1.0, 2.0, 4.0]])
    counts = np.array([3, 4])
    for method in ("spearman", "pearson"):
        assert np.isnan(row_correlations(x, y, counts, method)).all()


def test_pad_rows_reshapes_dense_and_pads_ragged():
    v = np.arange(6.0)
    dense = pad_rows([v], np.array([3, 3]))[0]
    assert dense.base is v or np.shares_memory(dense, v)
    ragged = pad_rows([v], np.array([1, 3, 2]))[0]
    np.testing.assert_array_equal(ragged, [[0, np.nan, np.nan], [1, 2, 3], [4, 5, np.nan]])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.sampled_from([-2.0, -0.5, 0.0, 0.5, 1.0, 3.0, np.nan]), min_size=1, max_size=12
        ),
        min_size=1,
        max_size=8,
    ),
    seed=st.integers(0, 10_000),
)
def test_ranks_equal_scipy_rankdata(rows, seed):
    rng = np.random.default_rng(seed)
    ys = [list(rng.standard_normal(len(r))) for r in rows]
    # compact each row: finite values first, like ic_series hands them over
    xs = []
    for r, y in zip(rows, ys):
        keep = [i for i, v in enumerate(r) if np.isfinite(v)]
        xs.append(([r[i] for i in keep], [y[i] for i in keep]))
    counts = np.array([len(a) for a, _ in xs])
    if counts.min() == 0:
        return
    x_mat, y_mat = pad_rows(
        [np.concatenate([a for a, _ in xs]), np.concatenate([b for _, b in xs])], counts
    )
    got = row_correlations(x_mat, y_mat, counts, "spearman")
    for i, (a, b) in enumerate(xs):
        if len(a) < 2 or np.ptp(a) == 0:
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)


def test_values_closer_than_the_sort_key_resolution_are_ranked_exactly():
    """The packed int64 sort keys drop the lowest mantissa bits; neighbours that differ only
    there (one ulp apart), -0.0 against 0.0, and negative near-ties must still rank exactly
    like scipy, for rows that need the exact fallback and rows that do not, side by side."""
    up = np.nextafter
    near = [1.0, up(1.0, 2.0), up(up(1.0, 2.0), 2.0), -2.0, up(-2.0, -3.0), 0.0, -0.0, 5.0, 0.5, 0.25]
    rng = np.random.default_rng(9)
    rows = [near, list(rng.permutation(near)), list(rng.standard_normal(10)), [3.0] * 5 + [1.0] * 5]
    x = np.array(rows, dtype=float)
    y = rng.standard_normal(x.shape)
    got = row_correlations(x, y, np.full(len(rows), x.shape[1]), "spearman")
    for i in range(3):
        assert got[i] == pytest.approx(stats.spearmanr(x[i], y[i])[0], abs=1e-12)
    assert got[3] == pytest.approx(stats.spearmanr(x[3], y[3])[0], abs=1e-12)
