"""Per-date normalisation against scipy, date by date."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.features import cross_sectional_normalize


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    n_assets = 9
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=d) for d in range(4)]
    x = rng.standard_t(3, size=len(dates) * n_assets)
    x[3] = 40.0  # an outlier on the first date
    x[10] = np.nan
    return pl.DataFrame({"date": [d for d in dates for _ in range(n_assets)],
                         "asset": list("ABCDEFGHI") * 4,
                         "x": x, "y": rng.normal(size=36).astype(np.float32)})


def _per_date(frame, column):
    return [(d, group[column].to_numpy().astype(float))
            for (d,), group in frame.group_by("date", maintain_order=True)]


def test_zscore_matches_scipy_on_every_date(frame):
    out = cross_sectional_normalize(frame, ["x", "y"], "zscore")
    assert out.schema["y"] == pl.Float32 and out["x"].null_count() == 1
    for (_, raw), (_, got) in zip(_per_date(frame, "x"), _per_date(out, "x"), strict=True):
        keep = ~np.isnan(raw)
        np.testing.assert_allclose(got[keep], stats.zscore(raw[keep], ddof=1), rtol=1e-12)


def test_rank_matches_scipy_rankdata_scaled_to_unit_interval(frame):
    out = cross_sectional_normalize(frame, ["x"], "rank")
    for (_, raw), (_, got) in zip(_per_date(frame, "x"), _per_date(out, "x"), strict=True):
        keep = ~np.isnan(raw)
        expected = (stats.rankdata(raw[keep]) - 1) / (keep.sum() - 1)
        np.testing.assert_allclose(got[keep], expected, rtol=1e-12)
        assert np.isnan(got[~keep]).all()


def test_robust_zscore_uses_median_and_mad_and_clips_outliers(frame):
    out = cross_sectional_normalize(frame, ["x"], "robust_zscore", clip=3.0)
    raw = _per_date(frame, "x")[0][1]
    # 1.4826: the rounded normal-consistency constant the project uses (scipy: 1.482602...)
    expected = (raw - np.median(raw)) / (1.4826 * stats.median_abs_deviation(raw))
    got = _per_date(out, "x")[0][1]
    np.testing.assert_allclose(got, np.clip(expected, -3, 3), rtol=1e-12)
    assert got[3] == 3.0 and expected[3] > 3.0  # the outlier is clipped, not the scale
    unclipped = cross_sectional_normalize(frame, ["x"], "robust_zscore", clip=None)
    np.testing.assert_allclose(_per_date(unclipped, "x")[0][1], expected, rtol=1e-12)


def test_lazy_frames_stay_lazy_and_bad_arguments_are_named(frame):
    lazy = cross_sectional_normalize(frame.lazy(), ["x"], "rank")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(cross_sectional_normalize(frame, ["x"], "rank"))
    with pytest.raises(ValueError, match="method must be one of"):
        cross_sectional_normalize(frame, ["x"], "minmax")
    with pytest.raises(ValueError, match=r"missing columns \['z'\]"):
        cross_sectional_normalize(frame, ["z"])
    with pytest.raises(ValueError, match="clip must be > 0 or None, got 0"):
        cross_sectional_normalize(frame, ["x"], "robust_zscore", clip=0)
