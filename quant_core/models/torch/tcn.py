"""Temporal convolutional network: causal dilated 1-D convolutions over the trailing window.

Each residual block convolves with dilation ``2**k`` and pads on the left only, so the output at
step ``s`` sees steps ``<= s``; the score is read at the last step (today). The receptive field is
``1 + 2 * (kernel_size - 1) * (2**n_levels - 1)`` observations; choose ``seq_len`` near it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TCNNet", "receptive_field"]


def receptive_field(kernel_size: int, n_levels: int) -> int:
    """Observations one output step depends on (two convolutions per block)."""
    return 1 + 2 * (kernel_size - 1) * (2**n_levels - 1)


class _CausalConv(nn.Conv1d):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int):
        super().__init__(c_in, c_out, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            _CausalConv(c_in, c_out, kernel_size, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
            _CausalConv(c_out, c_out, kernel_size, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class TCNNet(nn.Module):
    """``n_levels`` causal residual blocks (features + observed channel in), linear head."""

    def __init__(
        self,
        n_features: int,
        channels: int = 16,
        n_levels: int = 3,
        kernel_size: int = 3,
        dropout: float = 0.1,
    ):
        super().__init__()
        if min(n_features, channels, n_levels) < 1 or kernel_size < 2:
            raise ValueError(
                f"need n_features, channels, n_levels >= 1 and kernel_size >= 2; got "
                f"{n_features}, {channels}, {n_levels}, {kernel_size}"
            )
        blocks = []
        c_in = n_features + 1
        for level in range(n_levels):
            blocks.append(_Block(c_in, channels, kernel_size, 2**level, dropout))
            c_in = channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        z = torch.cat([x, mask.unsqueeze(-1).to(x.dtype)], dim=-1).transpose(1, 2)
        h = self.blocks(z)
        return self.head(h[:, :, -1]).squeeze(-1)
