"""DeepLOB (Zhang, Zohren & Roberts 2019) in torch, its window batcher and cross-entropy loss.

Architecture (input ``(B, T, 4L)``: ``T`` events x the ``L``-level book in ask price, ask size,
bid price, bid size order; see :mod:`~quant_core.models.torch.lob_data`):

1. ``Conv(1 x 2, stride 1 x 2)`` pairs each price with its size -> ``2L`` columns;
2. ``Conv(1 x 2, stride 1 x 2)`` pairs the ask with the bid of a level -> ``L`` columns;
3. ``Conv(1 x L)`` mixes all levels -> 1 column;
   each followed by two ``Conv(4 x 1)`` over time; every convolution by LeakyReLU(0.01) and
   batch norm (as in the authors' PyTorch release);
4. inception module: ``1x1 -> 3x1``, ``1x1 -> 5x1`` and ``maxpool 3x1 -> 1x1`` branches,
   concatenated;
5. LSTM over the ``T`` steps; its last state -> linear -> 3 logits (softmax = probabilities
   of down, stationary, up; the loss applies the log-softmax).

Time convolutions and the max-pool use the "same" padding of the authors' Keras code
(``(k - 1) // 2`` steps before, ``k // 2`` after, so every step of the window is kept); they see
only events inside the window, all at or before the prediction time. (A causal variant, padding
the past side only, was tried: 49-56% vs 66-69% accuracy on the simulator over three seeds.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["CrossEntropyLoss", "DeepLOBNet", "WindowBatches"]


def _act(channels: int, slope: float) -> list[nn.Module]:
    return [nn.LeakyReLU(slope), nn.BatchNorm2d(channels)]


def _same_pad(kernel_events: int, value: float = 0.0) -> nn.Module:
    """Keras/TensorFlow "same" padding in time: ``(k - 1) // 2`` steps before, ``k // 2`` after."""
    return nn.ConstantPad2d((0, 0, (kernel_events - 1) // 2, kernel_events // 2), value)


def _time_conv(in_ch: int, ch: int, kernel_events: int) -> nn.Sequential:
    return nn.Sequential(_same_pad(kernel_events), nn.Conv2d(in_ch, ch, (kernel_events, 1)))


def _conv_block(in_ch: int, ch: int, kernel: tuple[int, int], stride: tuple[int, int],
                slope: float) -> nn.Sequential:  # fmt: skip
    """Spatial convolution, then two (4 x 1) time convolutions."""
    return nn.Sequential(
        nn.Conv2d(in_ch, ch, kernel, stride=stride), *_act(ch, slope),
        _time_conv(ch, ch, 4), *_act(ch, slope),
        _time_conv(ch, ch, 4), *_act(ch, slope),
    )  # fmt: skip


class DeepLOBNet(nn.Module):
    """The DeepLOB network; the paper's sizes are ``conv_channels=32``,
    ``inception_channels=64``, ``lstm_hidden=64`` with ``L = 10`` levels."""

    def __init__(
        self, n_levels: int = 10, conv_channels: int = 32, inception_channels: int = 64,
        lstm_hidden: int = 64, n_classes: int = 3, leaky_slope: float = 0.01,
    ):  # fmt: skip
        super().__init__()
        if min(n_levels, conv_channels, inception_channels, lstm_hidden, n_classes) < 1:
            raise ValueError(
                f"sizes must be >= 1, got n_levels={n_levels}, conv_channels={conv_channels}, "
                f"inception_channels={inception_channels}, lstm_hidden={lstm_hidden}"
            )
        c, ic, s = conv_channels, inception_channels, leaky_slope
        self.n_levels = n_levels
        self.price_size = _conv_block(1, c, (1, 2), (1, 2), s)
        self.ask_bid = _conv_block(c, c, (1, 2), (1, 2), s)
        self.levels = _conv_block(c, c, (1, n_levels), (1, 1), s)
        self.inception_3 = nn.Sequential(
            nn.Conv2d(c, ic, 1), *_act(ic, s),
            _time_conv(ic, ic, 3), *_act(ic, s),
        )  # fmt: skip
        self.inception_5 = nn.Sequential(
            nn.Conv2d(c, ic, 1), *_act(ic, s),
            _time_conv(ic, ic, 5), *_act(ic, s),
        )  # fmt: skip
        self.inception_pool = nn.Sequential(
            _same_pad(3, float("-inf")),
            nn.MaxPool2d((3, 1), stride=1),
            nn.Conv2d(c, ic, 1),
            *_act(ic, s),
        )
        self.lstm = nn.LSTM(3 * ic, lstm_hidden, batch_first=True)
        self.head = nn.Linear(lstm_hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[-1] != 4 * self.n_levels:
            raise ValueError(
                f"expected input (batch, events, {4 * self.n_levels}), got {tuple(x.shape)}"
            )
        h = self.levels(self.ask_bid(self.price_size(x.unsqueeze(1))))  # (B, C, T, 1)
        h = torch.cat([self.inception_3(h), self.inception_5(h), self.inception_pool(h)], dim=1)
        out, _ = self.lstm(h.squeeze(-1).transpose(1, 2))  # (B, T, 3 * ic)
        return self.head(out[:, -1])


class WindowBatches:
    """Mini-batches of the last ``window_events`` snapshots before each sample row.

    Windows are gathered lazily from one normalised matrix (memory ``O(rows)``, not ``O(rows x
    T)``); a window never crosses into another asset (missing earlier events are zero rows).

    Parameters
    ----------
    X : torch.Tensor
        ``(n + 1, F)`` normalised snapshots sorted by ``(asset, timestamp)``; row 0 is zeros
        (padding), snapshot ``i`` is row ``i + 1``.
    rows : np.ndarray
        Sample positions (0-based snapshot indices) in the order of an unshuffled pass.
    asset_start : np.ndarray
        ``(n,)`` first snapshot index of each snapshot's asset.
    window_events : int
    batch_size : int
    y : torch.Tensor, optional
        ``(n,)`` int64 class of every snapshot (read at ``rows``).
    """

    def __init__(
        self, X: torch.Tensor, rows: np.ndarray, asset_start: np.ndarray, window_events: int,
        batch_size: int, y: torch.Tensor | None = None,
    ):  # fmt: skip
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        device = X.device
        self.X, self.y = X, y
        self.ordered_rows = np.asarray(rows, dtype=np.int64)
        self.n_rows = int(self.ordered_rows.size)
        self.batch_size = int(batch_size)
        self._rows = torch.as_tensor(self.ordered_rows, device=device)
        self._start = torch.as_tensor(np.asarray(asset_start, dtype=np.int64), device=device)
        self._offsets = torch.arange(-window_events + 1, 1, device=device)

    def __len__(self) -> int:
        return (self.n_rows + self.batch_size - 1) // self.batch_size

    def batches(self, generator: torch.Generator | None = None) -> Iterator[dict[str, Any]]:
        """Shuffled sample order when ``generator`` is given, else the given order."""
        if generator is None:
            order = torch.arange(self.n_rows)
        else:
            order = torch.randperm(self.n_rows, generator=generator)
        order = order.to(self._rows.device)
        for lo in range(0, self.n_rows, self.batch_size):
            rows = self._rows[order[lo : lo + self.batch_size]]
            idx = rows[:, None] + self._offsets[None, :]
            idx = torch.where(idx >= self._start[rows][:, None], idx + 1, 0)
            batch: dict[str, Any] = {"inputs": (self.X[idx],), "rows": rows}
            if self.y is not None:
                batch["y"] = self.y[rows]
            yield batch


class CrossEntropyLoss:
    """Mean cross-entropy of the 3-class logits against the labels (0 down, 1 flat, 2 up)."""

    name = "cross_entropy"

    def __call__(self, output: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        return F.cross_entropy(output.float(), batch["y"])

    def units(self, batch: dict[str, Any]) -> int:
        return int(batch["y"].shape[0])
