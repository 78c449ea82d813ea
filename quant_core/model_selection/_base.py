"""Shared splitter machinery: parameter checks, ``split``, ``describe``.

A concrete splitter only says which calendar positions are tested in each split and which may
train (``_plan``); purging, embargo and the date -> row mapping live in ``_purge`` / ``_calendar``.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

from ._calendar import Calendar, build_calendar
from ._purge import Fold, resolve_fold
from .describe import describe_splits

# (test blocks as inclusive (first, last) positions, train_lo, train_hi half-open)
Plan = list[tuple[list[tuple[int, int]], int, int]]


def check_int(name: str, value, minimum: int) -> int:
    """Return ``value`` as int; ``TypeError`` if not an int, ``ValueError`` if below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


class BaseSplitter(ABC):
    """Base class of the date-aware splitters.

    Subclasses set their parameters in ``__init__`` (validated there), list them in ``_params``
    implement ``_plan``, and override ``get_n_splits`` unless it equals ``n_splits``.
    """

    _params: tuple[str, ...] = ()
    embargo_days: int

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits (arguments are ignored; accepted for sklearn compatibility)."""
        return self.n_splits

    @abstractmethod
    def _plan(self, n_dates: int) -> Plan:
        """Test blocks and train range per split, on a calendar of ``n_dates`` unique dates."""

    def _folds(self, cal: Calendar) -> Iterator[Fold]:
        for blocks, train_lo, train_hi in self._plan(cal.n_dates):
            yield resolve_fold(cal, blocks, train_lo, train_hi, self.embargo_days)

    def split(self, dates, label_end) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` int64 row positions, both ascending.

        Parameters
        ----------
        dates : array-like of dates, one per row
            Observation date of each row (``frame["date"].to_numpy()``); rows need not be sorted.
        label_end : array-like of dates, one per row
            Last date of the return window the row's target is measured over (>= ``dates``).

        Input errors (lengths, ``label_end < dates``, too few dates) raise here, not on
        first iteration.
        """
        cal = build_calendar(dates, label_end)
        plan = self._plan(cal.n_dates)  # raises on too few dates before any iteration
        return self._iter_split(cal, plan)

    def _iter_split(self, cal: Calendar, plan: Plan) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for blocks, train_lo, train_hi in plan:
            fold = resolve_fold(cal, blocks, train_lo, train_hi, self.embargo_days)
            yield fold.train_idx, fold.test_idx

    def describe(self, dates, label_end):
        """Per-split date ranges and row counts as a polars DataFrame (see ``describe_splits``)."""
        return describe_splits(self, dates, label_end)

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"
