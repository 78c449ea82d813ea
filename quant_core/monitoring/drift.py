"""Distribution drift between a reference window (training data) and current data.

A model is only as good as the resemblance between the data it scores and the data it was
fitted on; PSI and the Kolmogorov-Smirnov test flag features whose distribution has moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = ["PSI_EPS", "feature_drift", "psi"]

#: Floor applied to every bin proportion so empty bins give a finite PSI.
PSI_EPS = 1e-4


def _finite(values: Any) -> np.ndarray:
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64).drop_nulls().to_numpy()
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _clean(values: Any, name: str) -> np.ndarray:
    x = _finite(values)
    if x.size == 0:
        raise ValueError(f"{name} has no finite values")
    return x


def psi(reference: Any, current: Any, n_bins: int = 10, eps: float = PSI_EPS) -> float:
    """Population Stability Index of ``current`` against ``reference``.

    Bins are the ``n_bins`` quantile bins of the reference (duplicate edges from ties are
    merged; the outer bins are open-ended), so each holds about ``1/n_bins`` of the reference.
    With bin shares ``r_i`` (reference) and ``c_i`` (current), each floored at ``eps`` so an
    empty bin stays finite,

        PSI = sum_i (c_i - r_i) * ln(c_i / r_i).

    Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant shift.
    Nulls, NaN and infinities are dropped first.
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    ref = _clean(reference, "reference")
    cur = _clean(current, "current")
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    k = edges.size + 1
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=k) / ref.size
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=k) / cur.size
    r = np.maximum(ref_share, eps)
    c = np.maximum(cur_share, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def feature_drift(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    features: Sequence[str],
    n_bins: int = 10,
) -> pl.DataFrame:
    """Per-feature drift table: PSI plus the two-sample Kolmogorov-Smirnov test.

    Returns
    -------
    pl.DataFrame
        ``feature, psi, ks_stat, ks_pvalue, n_reference, n_current`` in ``features`` order;
        nulls (and NaN/inf) are dropped per feature before both statistics; a feature with no
        values left on either side gets null statistics.
    """
    from scipy.stats import ks_2samp

    features = list(features)
    for name, frame in (("reference", reference), ("current", current)):
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing feature columns {missing}")
    rows = []
    for f in features:
        ref = _finite(reference.get_column(f))
        cur = _finite(current.get_column(f))
        if ref.size == 0 or cur.size == 0:  # nothing to compare: report nulls, not a crash
            rows.append(
                {
                    "feature": f,
                    "psi": None,
                    "ks_stat": None,
                    "ks_pvalue": None,
                    "n_reference": int(ref.size),
                    "n_current": int(cur.size),
                }
            )
            continue
        ks = ks_2samp(ref, cur)
        rows.append(
            {
                "feature": f,
                "psi": psi(ref, cur, n_bins=n_bins),
                "ks_stat": float(ks.statistic),
                "ks_pvalue": float(ks.pvalue),
                "n_reference": int(ref.size),
                "n_current": int(cur.size),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "feature": pl.String,
            "psi": pl.Float64,
            "ks_stat": pl.Float64,
            "ks_pvalue": pl.Float64,
            "n_reference": pl.Int64,
            "n_current": pl.Int64,
        },
    )
