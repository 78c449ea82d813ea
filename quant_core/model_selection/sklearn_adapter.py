"""Use a date-aware splitter as ``cv=`` in scikit-learn utilities.

scikit-learn calls ``cv.split(X, y, groups)`` with no notion of dates, so the adapter binds the
per-row dates and label ends of ``X`` up front.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._calendar import validate_dates


class SklearnSplitter:
    """Bind ``dates`` / ``label_end`` to a splitter so sklearn can call ``split(X, y, groups)``.

    Parameters
    ----------
    splitter : a splitter from ``quant_core.model_selection``
    dates, label_end : array-like of dates, one per row of the ``X`` that sklearn will split

    Examples
    --------
    >>> cv = SklearnSplitter(PurgedKFold(5, embargo_days=2), frame["date"], frame["label_end"])
    >>> cross_val_score(Ridge(), X, y, cv=cv)  # doctest: +SKIP
    """

    def __init__(self, splitter, dates, label_end):
        if not (hasattr(splitter, "split") and hasattr(splitter, "get_n_splits")):
            raise ValueError(f"splitter must have split() and get_n_splits(), got {splitter!r}")
        self.splitter = splitter
        self.dates, self.label_end = validate_dates(dates, label_end)

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` for the bound rows; ``X`` must have as many rows."""
        if X is not None:
            n = X.shape[0] if hasattr(X, "shape") else len(X)
            if n != self.dates.shape[0]:
                raise ValueError(
                    f"X has {n} rows but {self.dates.shape[0]} dates were bound to the splitter"
                )
        yield from self.splitter.split(self.dates, self.label_end)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.splitter.get_n_splits()

    def __repr__(self) -> str:
        return f"SklearnSplitter({self.splitter!r}, n_rows={self.dates.shape[0]})"
