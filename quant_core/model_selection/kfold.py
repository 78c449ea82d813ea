"""Purged k-fold with embargo (López de Prado, AFML ch. 7).

Unique dates are cut into ``n_splits`` contiguous groups; each group is tested once while the
rest trains. Because training rows lie on both sides of the test block, rows whose labels
overlap the test labels are purged and rows just after the block are embargoed.
"""

from __future__ import annotations

import numpy as np

from ._base import BaseSplitter, Plan, check_int


def group_bounds(n_dates: int, n_groups: int, owner: str) -> np.ndarray:
    """Calendar positions where each of ``n_groups`` contiguous date groups starts (+ the end).

    Sizes follow ``sklearn.model_selection.KFold``: the first ``n_dates % n_groups`` groups get
    one extra date.
    """
    if n_dates < n_groups:
        raise ValueError(f"{owner} needs at least {n_groups} unique dates, got {n_dates}")
    sizes = np.full(n_groups, n_dates // n_groups, dtype=np.int64)
    sizes[: n_dates % n_groups] += 1
    return np.concatenate(([0], np.cumsum(sizes)))


class PurgedKFold(BaseSplitter):
    """K contiguous date folds; each is tested once, the others train after purge and embargo.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds (>= 2).
    embargo_days : int, default 0
        Unique dates after each test fold whose rows may not train (serial correlation guard).
    """

    _params = ("n_splits", "embargo_days")

    def __init__(self, n_splits: int = 5, embargo_days: int = 0):
        self.n_splits = check_int("n_splits", n_splits, 2)
        self.embargo_days = check_int("embargo_days", embargo_days, 0)

    def _plan(self, n_dates: int) -> Plan:
        bounds = group_bounds(n_dates, self.n_splits, repr(self))
        return [
            ([(int(bounds[g]), int(bounds[g + 1]) - 1)], 0, n_dates) for g in range(self.n_splits)
        ]
