"""Stage: the champion's lifecycle checks. Re-validation of its recipe on combinatorial purged
CV paths, and the settings of the daily drift and realised-IC monitors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from quant_core.config_fields import described
from quant_core.data.dataset import ModellingFrame
from quant_core.model_selection import CombinatorialPurgedKFold
from quant_core.models import train_foldwise
from quant_core.monitoring.promotion import clone_unfitted, cpcv_path_rank_ic
from quant_core.targets.leakage import verify_splits

__all__ = ["DriftSpec", "RealizedICSpec", "RevalidationResult", "RevalidationSpec", "revalidate_recipe"]


@dataclass(frozen=True)
class DriftSpec:
    window_days: int = described(
        5, "Newest landed dates compared with the reference (one day of a small universe is too few "
        "rows for a stable per-column test); no drift is flagged before the window is full")
    drift_share: float = described(0.3, "Share of drifted features that counts as dataset drift")
    method: str | None = described(None, "Evidently stat test for every column; None = Evidently's choice")
    threshold: float | None = described(None, "Threshold of that test; None = its default")
    keep_html: bool = described(
        False, "Keep Evidently's HTML page (several MB for a wide universe) on every day; by default only on "
        "days that flag drift (the per-column numbers are logged as JSON every day)")


@dataclass(frozen=True)
class RealizedICSpec:
    window_days: int = described(20, "Newest labelled live dates judged")
    min_dates: int = described(10, "Fewest labelled dates before any verdict")
    alpha: float = described(0.05, "One-sided significance of 'live IC below validation IC'")


@dataclass(frozen=True)
class RevalidationSpec:
    n_splits: int = described(6, "Contiguous date groups N of the combinatorial purged CV")
    n_test_splits: int = described(2, "Groups tested per split k (C(N, k) splits, C(N-1, k-1) paths)")
    embargo_days: int | None = described(None, "Dates embargoed after each test block; None = horizon_days")


@dataclass(frozen=True)
class RevalidationResult:
    """Rank IC of every CPCV backtest path of one recipe re-fitted on the current data."""

    n_splits: int
    n_paths: int
    embargo_days: int
    median_path_rank_ic: float
    min_path_rank_ic: float
    max_path_rank_ic: float
    share_positive_paths: float
    paths: pl.DataFrame

    def numbers(self) -> dict[str, Any]:
        return {"n_splits": self.n_splits, "n_paths": self.n_paths,
                "median_path_rank_ic": self.median_path_rank_ic, "min_path_rank_ic": self.min_path_rank_ic,
                "max_path_rank_ic": self.max_path_rank_ic, "share_positive_paths": self.share_positive_paths}


def revalidate_recipe(model: Any, frame: ModellingFrame, spec: RevalidationSpec = RevalidationSpec()) -> RevalidationResult:
    """Re-fit ``model``'s recipe (a fresh unfitted clone) on every combinatorial purged CV split.

    Walk-forward validation gives one out-of-sample history; CPCV gives ``C(N-1, k-1)``
    complete ones. A recipe whose Rank IC is positive on every path earned its place; one that is
    good on a single path was lucky. Raises ``ValueError`` when the splits fail the leakage audit.
    """
    embargo_days = frame.horizon_days if spec.embargo_days is None else spec.embargo_days
    splitter = CombinatorialPurgedKFold(n_splits=spec.n_splits, n_test_splits=spec.n_test_splits,
                                        embargo_days=embargo_days)
    dates, label_end = frame.dates(), frame.label_end()
    splits = list(splitter.split(dates, label_end))
    audit = verify_splits(dates, label_end, splits, embargo_days)
    if not audit.passed:
        raise ValueError("CPCV splits failed the leakage audit: " + "; ".join(audit.problems))
    result = train_foldwise(frame.frame, splits, lambda: clone_unfitted(model))
    paths = cpcv_path_rank_ic(result.oof, splitter, horizon_days=frame.horizon_days)
    path_ic = paths["rank_ic_mean"].to_numpy()
    return RevalidationResult(n_splits=len(splits), n_paths=int(paths.height), embargo_days=embargo_days,
                              median_path_rank_ic=float(np.median(path_ic)), min_path_rank_ic=float(path_ic.min()),
                              max_path_rank_ic=float(path_ic.max()),
                              share_positive_paths=float(np.mean(path_ic > 0)), paths=paths)
