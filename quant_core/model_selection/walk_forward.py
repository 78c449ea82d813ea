"""Forward-only splitters: train strictly on the past, test on the next block of dates.

``Holdout`` is one in-sample / out-of-sample cut; ``WalkForward`` re-trains on an expanding
history before each test block; ``Rolling`` keeps a fixed-length training window. Training
dates always precede the test block, so the embargo (which drops dates *after* a test block)
never removes rows here; the parameter is accepted for a uniform interface. Purging still
matters: a training row whose label window reaches into the test block is dropped.
"""

from __future__ import annotations

import math

from ._base import BaseSplitter, Plan, check_int


def forward_test_blocks(
    n_dates: int, n_splits: int, min_train_days: int, test_days: int | None, owner: str
) -> list[tuple[int, int]]:
    """Inclusive calendar positions of ``n_splits`` consecutive test blocks ending at the last date.

    With ``test_days=None`` the dates after the first ``min_train_days`` are cut into
    ``n_splits`` equal blocks; any remainder (fewer than ``n_splits`` dates) joins the first
    training window.
    """
    available = n_dates - min_train_days
    if test_days is None:
        size = available // n_splits
        if size < 1:
            raise ValueError(
                f"{owner} needs at least min_train_days + n_splits = "
                f"{min_train_days + n_splits} unique dates, got {n_dates}"
            )
    else:
        size = test_days
        if size * n_splits > available:
            raise ValueError(
                f"{owner} needs at least min_train_days + n_splits * test_days = "
                f"{min_train_days + n_splits * size} unique dates, got {n_dates}"
            )
    first = n_dates - n_splits * size
    return [(first + i * size, first + (i + 1) * size - 1) for i in range(n_splits)]


class WalkForward(BaseSplitter):
    """Expanding-window walk-forward: each split trains on every date before its test block.

    Parameters
    ----------
    n_splits : int, default 5
        Number of consecutive test blocks.
    min_train_days : int, default 252
        Unique dates reserved for training before the first test block (about one trading year).
    embargo_days : int, default 0
        Unique dates after a test block that may not train (never bites here: see module doc).
    test_days : int or None, default None
        Unique dates per test block. ``None`` cuts the dates after ``min_train_days`` into
        ``n_splits`` equal blocks. Blocks are anchored at the last date, so the most recent data
        are always tested; extra early dates join the first training window.
    """

    _params = ("n_splits", "min_train_days", "embargo_days", "test_days")

    def __init__(
        self,
        n_splits: int = 5,
        min_train_days: int = 252,
        embargo_days: int = 0,
        test_days: int | None = None,
    ):
        self.n_splits = check_int("n_splits", n_splits, 1)
        self.min_train_days = check_int("min_train_days", min_train_days, 1)
        self.embargo_days = check_int("embargo_days", embargo_days, 0)
        self.test_days = None if test_days is None else check_int("test_days", test_days, 1)

    def _plan(self, n_dates: int) -> Plan:
        blocks = forward_test_blocks(
            n_dates, self.n_splits, self.min_train_days, self.test_days, repr(self)
        )
        return [([(first, last)], 0, first) for first, last in blocks]


class Rolling(BaseSplitter):
    """Rolling-window walk-forward: each split trains on the ``train_days`` dates before its test.

    A fixed window forgets old regimes at the cost of fewer training rows.

    Parameters
    ----------
    n_splits : int, default 5
    train_days : int, default 252
        Unique dates in every training window (before purging).
    embargo_days : int, default 0
        Accepted for a uniform interface; never bites (training precedes testing).
    test_days : int or None, default None
        Unique dates per test block; ``None`` cuts the dates after the first ``train_days`` into
        ``n_splits`` equal blocks, anchored at the last date.
    """

    _params = ("n_splits", "train_days", "embargo_days", "test_days")

    def __init__(
        self,
        n_splits: int = 5,
        train_days: int = 252,
        embargo_days: int = 0,
        test_days: int | None = None,
    ):
        self.n_splits = check_int("n_splits", n_splits, 1)
        self.train_days = check_int("train_days", train_days, 1)
        self.embargo_days = check_int("embargo_days", embargo_days, 0)
        self.test_days = None if test_days is None else check_int("test_days", test_days, 1)

    def _plan(self, n_dates: int) -> Plan:
        blocks = forward_test_blocks(
            n_dates, self.n_splits, self.train_days, self.test_days, repr(self)
        )
        return [([(first, last)], first - self.train_days, first) for first, last in blocks]


class Holdout(BaseSplitter):
    """One in-sample / out-of-sample cut: the last ``test_fraction`` of unique dates is tested.

    Parameters
    ----------
    test_fraction : float, default 0.2
        Share of unique dates held out, rounded up to whole dates (at least one date, and at
        least one date left to train on).
    embargo_days : int, default 0
        Accepted for a uniform interface; never bites (training precedes testing).
    """

    _params = ("test_fraction", "embargo_days")

    def __init__(self, test_fraction: float = 0.2, embargo_days: int = 0):
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)):
            raise TypeError(f"test_fraction must be a number, got {test_fraction!r}")
        if not 0.0 < float(test_fraction) < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        self.test_fraction = float(test_fraction)
        self.embargo_days = check_int("embargo_days", embargo_days, 0)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return 1

    def n_test_dates(self, n_dates: int) -> int:
        """Unique dates held out from a calendar of ``n_dates`` dates."""
        return max(1, math.ceil(self.test_fraction * n_dates - 1e-9))

    def _plan(self, n_dates: int) -> Plan:
        n_test = self.n_test_dates(n_dates)
        if n_test >= n_dates:
            raise ValueError(
                f"{self!r} leaves no training dates: {n_test} of {n_dates} unique dates tested"
            )
        first = n_dates - n_test
        return [([(first, n_dates - 1)], 0, first)]
