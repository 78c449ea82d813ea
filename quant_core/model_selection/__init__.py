"""Date-aware cross-validation for panels: holdout, walk-forward, rolling, purged k-fold with
embargo and combinatorial purged CV.

Folds are cut on unique dates (all assets of a date share a fold); training rows whose label
window ``[date, label_end]`` overlaps a test label window are purged, and rows within
``embargo_days`` dates after a test block are embargoed.
"""

from ._base import BaseSplitter
from .combinatorial import CombinatorialPurgedKFold
from .describe import describe_splits
from .kfold import PurgedKFold
from .plot import plot_folds
from .sklearn_adapter import SklearnSplitter
from .walk_forward import Holdout, Rolling, WalkForward

__all__ = [
    "BaseSplitter",
    "CombinatorialPurgedKFold",
    "Holdout",
    "PurgedKFold",
    "Rolling",
    "SklearnSplitter",
    "WalkForward",
    "describe_splits",
    "plot_folds",
]
