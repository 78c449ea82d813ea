"""LSTM and GRU over each asset's trailing feature sequence.

The window arrives zero-padded at the front for assets with a short history; an "observed"
channel (the mask) is appended to the features so the network can tell padding from a feature
that happens to be zero. The score is read from the hidden state after today's step.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["RecurrentNet"]

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentNet(nn.Module):
    """Recurrent encoder (``cell`` = ``"lstm"`` or ``"gru"``) + dropout + linear head."""

    def __init__(
        self,
        n_features: int,
        cell: str = "lstm",
        hidden_size: int = 16,
        n_layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if n_features < 1 or hidden_size < 1 or n_layers < 1:
            raise ValueError(
                f"need n_features, hidden_size, n_layers >= 1; got {n_features}, {hidden_size}, "
                f"{n_layers}"
            )
        self.rnn = _CELLS[cell](
            n_features + 1,
            hidden_size,
            num_layers=n_layers,
            batch_first=True,
            dropout=dropout if n_layers > 1 else 0.0,
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        z = torch.cat([x, mask.unsqueeze(-1).to(x.dtype)], dim=-1)
        out, _ = self.rnn(z)
        return self.head(out[:, -1]).squeeze(-1)
