"""Transformer encoder over the trailing window, read out at the last token (today).

Tokens are the window's observations (features + observed channel, linearly embedded) plus a
sinusoidal position encoding. Padding tokens are excluded from attention with a key padding
mask; today's token is never padding, so no query is left without keys. A causal mask is not
needed: the window holds only past and present rows, and only today's token is read.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["TransformerNet", "sinusoidal_positions"]


def sinusoidal_positions(seq_len: int, d_model: int) -> torch.Tensor:
    """``(seq_len, d_model)`` encoding of Vaswani et al. (2017)."""
    pos = torch.arange(seq_len, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(1e4) / d_model))
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: d_model // 2])
    return pe


class TransformerNet(nn.Module):
    """Pre-norm encoder layers, final LayerNorm on today's token, linear head."""

    def __init__(
        self,
        n_features: int,
        seq_len: int,
        d_model: int = 16,
        n_heads: int = 2,
        n_layers: int = 1,
        dim_feedforward: int = 32,
        dropout: float = 0.1,
    ):
        super().__init__()
        if min(n_features, seq_len, d_model, n_heads, n_layers, dim_feedforward) < 1:
            raise ValueError(
                "n_features, seq_len, d_model, n_heads, n_layers, dim_feedforward must be >= 1"
            )
        if d_model % n_heads:
            raise ValueError(
                f"n_heads must divide d_model, got d_model={d_model}, n_heads={n_heads}"
            )
        self.embed = nn.Linear(n_features + 1, d_model)
        self.register_buffer("positions", sinusoidal_positions(seq_len, d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.positions.shape[0]:
            raise ValueError(
                f"expected windows of {self.positions.shape[0]} steps, got {x.shape[1]}"
            )
        z = torch.cat([x, mask.unsqueeze(-1).to(x.dtype)], dim=-1)
        h = self.embed(z) + self.positions
        h = self.encoder(h, src_key_padding_mask=~mask)
        return self.head(self.norm(h[:, -1])).squeeze(-1)
