"""Mini-batches of whole dates, gathered on the training device.

Cross-sectional losses (the per-date IC) and graph networks need every asset of a date in the
same batch, so batches are sets of whole dates: ``dates_per_batch`` dates drawn in an order
given by a seeded ``torch.Generator`` (the job a DataLoader's seeded sampler does, without
worker processes: the tensors already sit on the device and a batch is one gather).

Any object with ``n_rows`` and ``batches(generator)`` can feed the
:class:`~quant_core.models.torch.trainer.Trainer`; :class:`DateBatches` is the standard one.
A batch is a dict: ``inputs`` (tuple of tensors for ``module(*inputs)``), ``y`` (targets, absent
at prediction), ``group`` (each row's date within the batch, ``0..n_groups-1``), ``n_groups``
and ``rows`` (the rows' positions in the source arrays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["DateBatches", "SequenceCollate"]

Batch = dict[str, Any]


class SequenceCollate:
    """Gather each row's trailing window: ``inputs = (x (B, L, F) float32, mask (B, L) bool)``.

    Parameters
    ----------
    X : torch.Tensor
        ``(n_rows + 1, n_features)`` standardised features; row 0 is all zeros (the padding).
    windows : torch.Tensor
        ``(n_rows, seq_len)`` int64 positions into ``X`` (1-based: 0 means padding).
    y : torch.Tensor, optional
        ``(n_rows,)`` training target.
    """

    def __init__(self, X: torch.Tensor, windows: torch.Tensor, y: torch.Tensor | None = None):
        if windows.ndim != 2 or X.ndim != 2 or X.shape[0] != windows.shape[0] + 1:
            raise ValueError(
                f"need X (n+1, F) and windows (n, L), got {tuple(X.shape)} and "
                f"{tuple(windows.shape)}"
            )
        self.X, self.windows, self.y = X, windows, y

    def __call__(self, rows: torch.Tensor, group: torch.Tensor | None = None) -> Batch:
        w = self.windows[rows]
        batch: Batch = {"inputs": (self.X[w], w > 0), "rows": rows}
        if self.y is not None:
            batch["y"] = self.y[rows]
        return batch


class DateBatches:
    """The rows ``rows`` of a sample set, batched by whole dates.

    Parameters
    ----------
    dates : np.ndarray
        Integer date code of *every* source row (e.g.
        :func:`~quant_core.models.torch.data.date_codes`).
    rows : np.ndarray
        Positions (into the source rows) of this set: the training rows, say.
    collate : callable
        ``collate(rows, group) -> batch dict``: ``rows`` are source positions and ``group`` each
        row's date within the batch (LongTensors on ``device``); a graph network builds its
        per-date adjacency from ``group``. The batcher adds ``group`` and ``n_groups``.
    dates_per_batch : int
    device : torch.device

    Attributes
    ----------
    ordered_rows : np.ndarray
        ``rows`` sorted by date (stable): the order of the concatenated outputs of an
        unshuffled pass, as :meth:`Trainer.predict` returns them.
    n_rows, n_dates : int
    """

    def __init__(
        self,
        dates: np.ndarray,
        rows: np.ndarray,
        collate: Callable[[torch.Tensor, torch.Tensor], Batch],
        dates_per_batch: int,
        device: torch.device,
    ):
        if dates_per_batch < 1:
            raise ValueError(f"dates_per_batch must be >= 1, got {dates_per_batch}")
        rows = np.asarray(rows, dtype=np.int64)
        row_dates = np.asarray(dates)[rows]
        order = np.argsort(row_dates, kind="stable")
        self.ordered_rows = rows[order]
        d = row_dates[order]
        cut = np.flatnonzero(d[1:] != d[:-1]) + 1
        self._offsets = np.r_[0, cut, d.size].astype(np.int64)
        self.n_rows = int(rows.size)
        self.n_dates = int(self._offsets.size - 1) if rows.size else 0
        self.dates_per_batch = int(dates_per_batch)
        self.device = device
        self.collate = collate
        self._rows_t = torch.as_tensor(self.ordered_rows, device=device)

    def __len__(self) -> int:
        return (self.n_dates + self.dates_per_batch - 1) // self.dates_per_batch

    def batches(self, generator: torch.Generator | None = None) -> Iterator[Batch]:
        """Yield batches; shuffled date order when ``generator`` is given, else by date."""
        if self.n_dates == 0:
            return
        if generator is None:
            date_order = np.arange(self.n_dates)
        else:
            date_order = torch.randperm(self.n_dates, generator=generator).numpy()
        for start in range(0, self.n_dates, self.dates_per_batch):
            chunk = date_order[start : start + self.dates_per_batch]
            lo, hi = self._offsets[chunk], self._offsets[chunk + 1]
            counts = hi - lo
            total = int(counts.sum())
            shift = np.repeat(lo - np.r_[0, np.cumsum(counts)[:-1]], counts)
            idx = torch.as_tensor(np.arange(total) + shift, device=self.device)
            group = torch.as_tensor(np.repeat(np.arange(chunk.size), counts), device=self.device)
            batch = self.collate(self._rows_t[idx], group)
            batch["group"] = group
            batch["n_groups"] = int(chunk.size)
            yield batch
