"""Training losses for cross-sectional return forecasts.

A loss takes the network's output and the batch (``y`` and ``group``, the date of each row
within the batch, ``0..n_groups-1``) and returns the batch's mean loss; ``units(batch)`` is what
that mean is over (rows for MSE, dates for the IC loss), so the trainer's epoch loss is the exact
mean over the whole data however it is batched into whole dates.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["ICLoss", "MSELoss", "grouped_pearson", "make_loss"]

Batch = dict[str, Any]


def _group_sum(values: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
    return onehot @ values


def grouped_pearson(
    pred: torch.Tensor, y: torch.Tensor, group: torch.Tensor, n_groups: int, eps: float = 1e-8
) -> torch.Tensor:
    """Pearson correlation of ``pred`` and ``y`` within each group (date): shape ``(n_groups,)``.

    Group sums are a one-hot matrix product, which is deterministic on every device (scatter-add
    is not on CUDA). A group with a constant ``pred`` or ``y`` (or a single row) gets 0.
    """
    pred = pred.reshape(-1).float()
    y = y.reshape(-1).float()
    onehot = group.reshape(1, -1) == torch.arange(n_groups, device=group.device).reshape(-1, 1)
    onehot = onehot.to(pred.dtype)
    count = onehot.sum(dim=1).clamp_min(1.0)
    pc = pred - (_group_sum(pred, onehot) / count)[group]
    yc = y - (_group_sum(y, onehot) / count)[group]
    cov = _group_sum(pc * yc, onehot)
    var = _group_sum(pc * pc, onehot) * _group_sum(yc * yc, onehot)
    return cov / torch.sqrt(var + eps)


class MSELoss:
    """Mean squared error of the score against the (possibly per-date standardised) target."""

    name = "mse"

    def __call__(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        return torch.mean((output.reshape(-1).float() - batch["y"].float()) ** 2)

    def units(self, batch: Batch) -> int:
        return int(batch["y"].shape[0])


class ICLoss:
    """Minus the mean per-date Pearson IC: rewards ranking assets, ignores the score's level."""

    name = "ic"

    def __call__(self, output: torch.Tensor, batch: Batch) -> torch.Tensor:
        corr = grouped_pearson(output, batch["y"], batch["group"], int(batch["n_groups"]))
        return -corr.mean()

    def units(self, batch: Batch) -> int:
        return int(batch["n_groups"])


def make_loss(name: str) -> MSELoss | ICLoss:
    """``"mse"`` or ``"ic"``."""
    if name == "mse":
        return MSELoss()
    if name == "ic":
        return ICLoss()
    raise ValueError(f"loss must be 'mse' or 'ic', got {name!r}")
