"""Evidently drift reports: per-column scores checked against scipy, the dataset verdict, HTML."""

import numpy as np
import polars as pl
import pytest
from scipy import stats

from quant_core.monitoring.evidently_drift import drift_report


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    n_ref, n_cur = 3000, 400
    reference = pl.DataFrame({f"f{i}": rng.standard_normal(n_ref) for i in range(4)}).with_columns(
        pl.Series("score", rng.standard_normal(n_ref)))
    current = pl.DataFrame({f"f{i}": rng.standard_normal(n_cur) for i in range(4)}).with_columns(
        pl.Series("score", rng.standard_normal(n_cur)))
    shifted = current.with_columns(pl.col("f0") + 1.5, pl.col("f1") * 3.0, pl.col("score") + 1.0)
    return reference, current, shifted


FEATURES = ["f0", "f1", "f2", "f3"]


def test_ks_scores_are_scipy_p_values_and_the_share_decides_dataset_drift(frames):
    reference, _, shifted = frames
    result = drift_report(reference, shifted, FEATURES, method="ks", drift_share=0.5)
    expected = [stats.ks_2samp(reference[f].to_numpy(), shifted[f].to_numpy()).pvalue for f in FEATURES]
    assert result.columns["column"].to_list() == FEATURES
    np.testing.assert_allclose(result.columns["score"].to_numpy(), expected, rtol=1e-9)
    assert result.columns["drifted"].to_list() == [p < 0.05 for p in expected]
    assert result.drifted_features == ["f0", "f1"]
    assert (result.n_drifted, result.share_drifted) == (2, 0.5)
    assert result.dataset_drift  # 2 of 4 >= 0.5
    stricter = drift_report(reference, shifted, FEATURES, method="ks", drift_share=0.75)
    assert not stricter.dataset_drift


def test_default_method_on_a_large_reference_is_the_normed_wasserstein_distance(frames):
    reference, current, shifted = frames
    for frame, drifted in ((current, []), (shifted, ["f0", "f1"])):
        result = drift_report(reference, frame, FEATURES, prediction="score")
        expected = [stats.wasserstein_distance(reference[f].to_numpy(), frame[f].to_numpy())
                    / np.std(reference[f].to_numpy()) for f in FEATURES]
        np.testing.assert_allclose(result.columns["score"].to_numpy(), expected, rtol=1e-9)
        assert set(result.columns["method"].to_list()) == {"Wasserstein distance (normed)"}
        assert result.drifted_features == drifted
        assert result.prediction_drift is bool(drifted)
        assert result.prediction_score == pytest.approx(
            stats.wasserstein_distance(reference["score"].to_numpy(), frame["score"].to_numpy())
            / np.std(reference["score"].to_numpy()), rel=1e-9)
    assert not drift_report(reference, current, FEATURES).dataset_drift


def test_html_report_is_written(frames, tmp_path):
    reference, _, shifted = frames
    path = tmp_path / "reports" / "drift.html"
    result = drift_report(reference.head(500), shifted, FEATURES, html_path=path)
    assert result.html_path == path
    html = path.read_text()
    assert path.stat().st_size > 10_000 and html.lstrip().startswith("<!DOCTYPE html>")
    assert result.prediction_column is None and result.prediction_drift is None


def test_bad_inputs_are_named(frames):
    reference, current, _ = frames
    with pytest.raises(ValueError, match=r"current is missing columns \['zz'\]"):
        drift_report(reference.with_columns(pl.lit(1.0).alias("zz")), current, ["zz"])
    with pytest.raises(ValueError, match="current has 0 rows"):
        drift_report(reference, current.head(0), FEATURES)
    with pytest.raises(ValueError, match="drift_share must be in \\(0, 1\\], got 0"):
        drift_report(reference, current, FEATURES, drift_share=0)
