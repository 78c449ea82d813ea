"""Combinatorial purged cross-validation (CPCV; López de Prado, AFML ch. 12).

Unique dates are cut into ``N`` contiguous groups; every choice of ``k`` test groups is one split,
so there are ``C(N, k)`` splits. Each group is tested in ``C(N-1, k-1)`` splits, which lets the
out-of-sample predictions be stitched into ``C(N, k) * k / N`` complete backtest paths: instead
of one walk-forward history we get a distribution of Sharpe ratios / ICs.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._base import BaseSplitter, Plan, check_int
from ._calendar import as_day_array
from .kfold import group_bounds


class CombinatorialPurgedKFold(BaseSplitter):
    """All ``C(n_splits, n_test_splits)`` choices of test groups, purged and embargoed.

    Parameters
    ----------
    n_splits : int, default 6
        Number of contiguous date groups ``N`` (>= 2).
    n_test_splits : int, default 2
        Groups tested per split ``k`` (1 <= k < N).
    embargo_days : int, default 0
        Unique dates after each contiguous test block whose rows may not train.

    Notes
    -----
    Splits are the combinations of groups in lexicographic order (``test_groups()``). Path ``j``
    takes group ``g``'s predictions from the ``j``-th split (in that order) that tests ``g``.
    """

    _params = ("n_splits", "n_test_splits", "embargo_days")

    def __init__(self, n_splits: int = 6, n_test_splits: int = 2, embargo_days: int = 0):
        self.n_splits = check_int("n_splits", n_splits, 2)
        self.n_test_splits = check_int("n_test_splits", n_test_splits, 1)
        if self.n_test_splits >= self.n_splits:
            raise ValueError(
                f"n_test_splits must be < n_splits={self.n_splits}, got {self.n_test_splits}"
            )
        self.embargo_days = check_int("embargo_days", embargo_days, 0)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return math.comb(self.n_splits, self.n_test_splits)

    @property
    def n_paths(self) -> int:
        """Number of backtest paths, ``C(N, k) * k / N = C(N-1, k-1)``."""
        return math.comb(self.n_splits - 1, self.n_test_splits - 1)

    def test_groups(self) -> list[tuple[int, ...]]:
        """Test groups of each split, in split order."""
        return list(itertools.combinations(range(self.n_splits), self.n_test_splits))

    def path_assignment(self) -> np.ndarray:
        """``(n_paths, n_splits)`` int64: entry ``[path, group]`` is the split whose out-of-sample
        predictions fill ``group`` on ``path``."""
        out = np.empty((self.n_paths, self.n_splits), dtype=np.int64)
        for group in range(self.n_splits):
            testing = [s for s, groups in enumerate(self.test_groups()) if group in groups]
            out[:, group] = testing
        return out

    def paths(self):
        """Long polars DataFrame ``path, group, split`` (one row per path and group)."""
        import polars as pl

        table = self.path_assignment()
        n_paths, n_groups = table.shape
        return pl.DataFrame(
            {
                "path": np.repeat(np.arange(n_paths), n_groups),
                "group": np.tile(np.arange(n_groups), n_paths),
                "split": table.ravel(),
            }
        )

    def group_ids(self, dates) -> np.ndarray:
        """Per-row group number (int64) of the contiguous date groups."""
        days = as_day_array(dates, "dates")
        unique, inverse = np.unique(days, return_inverse=True)
        bounds = group_bounds(unique.shape[0], self.n_splits, repr(self))
        return (np.searchsorted(bounds, np.arange(unique.shape[0]), side="right") - 1)[
            inverse
        ].astype(np.int64)

    def assemble_paths(self, predictions, dates) -> np.ndarray:
        """Stitch per-split out-of-sample predictions into one prediction array per path.

        Parameters
        ----------
        predictions : sequence of arrays, one per split
            ``predictions[s][i]`` is the prediction for row ``test_idx[i]`` of split ``s``, where
            ``test_idx`` is what ``split`` yields (ascending row numbers).
        dates : array-like of dates, one per row
            The same per-row dates given to ``split``.

        Returns
        -------
        np.ndarray, shape ``(n_paths, n_rows, *prediction_shape)``
            Row ``r`` of path ``p`` holds the prediction made for ``r`` by split
            ``path_assignment()[p, group(r)]``; every row is predicted on every path.
        """
        n_total = self.get_n_splits()
        if len(predictions) != n_total:
            raise ValueError(
                f"predictions must hold one array per split ({n_total}), got {len(predictions)}"
            )
        group_of_row = self.group_ids(dates)
        preds = [np.asarray(p) for p in predictions]
        dtype = np.result_type(np.float64, *[p.dtype for p in preds])
        out = np.full((self.n_paths, group_of_row.shape[0], *preds[0].shape[1:]), np.nan, dtype)
        assignment = self.path_assignment()
        for split, groups in enumerate(self.test_groups()):
            test_idx = np.flatnonzero(np.isin(group_of_row, groups))
            if preds[split].shape[0] != test_idx.shape[0]:
                raise ValueError(
                    f"predictions[{split}] must have one value per test row "
                    f"({test_idx.shape[0]}), got {preds[split].shape[0]}"
                )
            test_group = group_of_row[test_idx]
            for group in groups:
                path = int(np.flatnonzero(assignment[:, group] == split)[0])
                sel = test_group == group
                out[path, test_idx[sel]] = preds[split][sel]
        return out

    def _plan(self, n_dates: int) -> Plan:
        bounds = group_bounds(n_dates, self.n_splits, repr(self))
        plan: Plan = []
        for groups in self.test_groups():
            blocks: list[tuple[int, int]] = []
            for g in groups:  # ascending; adjacent groups merge into one contiguous block
                first, last = int(bounds[g]), int(bounds[g + 1]) - 1
                if blocks and blocks[-1][1] + 1 == first:
                    blocks[-1] = (blocks[-1][0], last)
                else:
                    blocks.append((first, last))
            plan.append((blocks, 0, n_dates))
        return plan
