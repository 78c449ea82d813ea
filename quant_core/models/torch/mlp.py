"""Feed-forward network on the features of the row's own date (the tabular deep baseline)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MLPNet"]


class MLPNet(nn.Module):
    """``n_layers`` x (Linear -> ReLU -> Dropout), then a linear score.

    ``forward(x, mask)`` takes the sequence batch layout ``x (B, L, F)`` and reads only the last
    step (today's features), so the MLP shares the data path of the sequence models.
    """

    def __init__(
        self, n_features: int, hidden_size: int = 32, n_layers: int = 2, dropout: float = 0.1
    ):
        super().__init__()
        if n_features < 1 or hidden_size < 1 or n_layers < 0:
            raise ValueError(
                f"need n_features >= 1, hidden_size >= 1, n_layers >= 0; got {n_features}, "
                f"{hidden_size}, {n_layers}"
            )
        layers: list[nn.Module] = []
        width = n_features
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x[:, -1, :]).squeeze(-1)
