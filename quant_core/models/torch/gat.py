"""Graph attention (GAT, Velickovic et al. 2018) over each date's asset graph, in plain torch.

Attention is computed densely per date: a batch of ``D`` whole dates becomes node features
``(D, M, F)`` (``M`` = most assets on one of those dates; shorter dates are padded) and a boolean
adjacency ``(D, M, M)`` (``adj[d, i, j]``: asset ``i`` receives from ``j``; self-loops always
on). Masked softmax over ``j`` and a batched product replace the scatter operations of sparse
GAT libraries: no atomics, so results are deterministic on CUDA as on CPU, at a cost of
``O(M^2)`` per date (fine for universes of a few thousand assets at a few dates per batch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["GATNet", "GraphAttention", "GraphCollate"]


class GraphAttention(nn.Module):
    """One multi-head graph attention layer; heads are averaged.

    ``e_ij = LeakyReLU(a_dst . W h_i + a_src . W h_j)``, ``alpha_ij = softmax_j(e_ij)`` over the
    neighbours of ``i`` (itself included), output ``sum_j alpha_ij W h_j``.
    """

    def __init__(
        self, in_dim: int, out_dim: int, n_heads: int = 2, dropout: float = 0.0,
        negative_slope: float = 0.2,
    ):  # fmt: skip
        super().__init__()
        if in_dim < 1 or out_dim < 1 or n_heads < 1:
            raise ValueError(
                f"need in_dim, out_dim, n_heads >= 1; got {in_dim}, {out_dim}, {n_heads}"
            )
        self.n_heads, self.out_dim = n_heads, out_dim
        self.lin = nn.Linear(in_dim, n_heads * out_dim, bias=False)
        self.att_src = nn.Parameter(torch.empty(n_heads, out_dim))
        self.att_dst = nn.Parameter(torch.empty(n_heads, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.attn_dropout = nn.Dropout(dropout)
        self.negative_slope = negative_slope
        nn.init.xavier_uniform_(self.lin.weight)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)

    def forward(
        self, h: torch.Tensor, adj: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        D, M, _ = h.shape
        z = self.lin(h).view(D, M, self.n_heads, self.out_dim)
        s_src = (z * self.att_src).sum(-1)  # (D, M, H)
        s_dst = (z * self.att_dst).sum(-1)
        e = F.leaky_relu(s_dst.unsqueeze(2) + s_src.unsqueeze(1), self.negative_slope)
        e = e.masked_fill(~adj.unsqueeze(-1), float("-inf"))  # (D, M_i, M_j, H)
        alpha = torch.softmax(e.float(), dim=2).to(z.dtype)
        out = torch.einsum("dijh,djhc->dihc", self.attn_dropout(alpha), z)
        out = out.mean(dim=2) + self.bias
        return (out, alpha) if return_attention else out


class GATNet(nn.Module):
    """Encoder -> ``n_layers`` residual graph-attention layers -> linear score per asset.

    The residual path keeps each asset's own features, so the network is at least an MLP and
    the attention adds what neighbours say. ``forward(x, slot, adj)``: node features ``x (N,
    F)`` of the batch's rows, ``slot (N,)`` each row's flat position ``d * M + i`` in the
    dense ``(D, M)`` layout, ``adj (D, M, M)`` bool. Returns ``(N,)`` scores.
    """

    def __init__(
        self, n_features: int, hidden_size: int = 16, n_heads: int = 2, n_layers: int = 1,
        dropout: float = 0.1,
    ):  # fmt: skip
        super().__init__()
        if n_features < 1 or hidden_size < 1 or n_layers < 0:
            raise ValueError(
                f"need n_features >= 1, hidden_size >= 1, n_layers >= 0; got {n_features}, "
                f"{hidden_size}, {n_layers}"
            )
        self.encode = nn.Sequential(
            nn.Linear(n_features, hidden_size), nn.ELU(), nn.Dropout(dropout)
        )
        self.layers = nn.ModuleList(
            GraphAttention(hidden_size, hidden_size, n_heads, dropout) for _ in range(n_layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor, slot: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        D, M = adj.shape[0], adj.shape[1]
        h = self.encode(x)
        dense = h.new_zeros(D * M, h.shape[1]).index_copy(0, slot, h).view(D, M, -1)
        for layer in self.layers:
            dense = dense + self.dropout(F.elu(layer(dense, adj)))
        return self.head(dense).reshape(D * M)[slot]


class GraphCollate:
    """Build a batch of whole dates: node features, dense slots and each date's adjacency.

    Parameters
    ----------
    X : torch.Tensor
        ``(n_rows, n_features)`` standardised features of every source row.
    row_date : np.ndarray
        ``(n_rows,)`` int64 date code of every row (``0..n_dates-1``).
    edge_dst, edge_src : np.ndarray
        int64 row positions of each edge's receiving and sending asset (same date), sorted by
        the date code of the edge.
    y : torch.Tensor, optional
        ``(n_rows,)`` training target.
    """

    def __init__(
        self, X: torch.Tensor, row_date: np.ndarray, edge_dst: np.ndarray, edge_src: np.ndarray,
        y: torch.Tensor | None = None,
    ):  # fmt: skip
        row_date = np.asarray(row_date, dtype=np.int64)
        edge_date = row_date[edge_dst]
        if edge_date.size and np.any(np.diff(edge_date) < 0):
            raise ValueError("edges must be sorted by date")
        if not np.array_equal(edge_date, row_date[edge_src]):
            raise ValueError("an edge joins rows of different dates")
        n_dates = int(row_date.max()) + 1 if row_date.size else 0
        self.offsets = np.searchsorted(edge_date, np.arange(n_dates + 1))
        device = X.device
        self.X, self.y = X, y
        self.row_date = torch.as_tensor(row_date, device=device)
        self.edge_dst = torch.as_tensor(edge_dst, device=device)
        self.edge_src = torch.as_tensor(edge_src, device=device)

    def __call__(self, rows: torch.Tensor, group: torch.Tensor) -> dict[str, Any]:
        device = rows.device
        n_groups = int(group.max()) + 1
        counts = torch.bincount(group, minlength=n_groups)
        starts = torch.cumsum(counts, 0) - counts
        within = torch.arange(rows.numel(), device=device) - starts[group]
        M = int(counts.max())
        # the batch's edges: the slices of its dates, mapped to batch positions
        days = torch.unique(self.row_date[rows]).cpu().numpy()
        lo, hi = self.offsets[days], self.offsets[days + 1]
        n = hi - lo
        idx = np.arange(int(n.sum())) + np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n)
        idx_t = torch.as_tensor(idx, device=device, dtype=torch.long)
        pos = torch.full((self.X.shape[0],), -1, dtype=torch.long, device=device)
        pos[rows] = torch.arange(rows.numel(), device=device)
        dst, src = pos[self.edge_dst[idx_t]], pos[self.edge_src[idx_t]]
        keep = (dst >= 0) & (src >= 0)
        dst, src = dst[keep], src[keep]
        adj = torch.eye(M, dtype=torch.bool, device=device).repeat(n_groups, 1, 1)
        adj[group[dst], within[dst], within[src]] = True
        batch: dict[str, Any] = {"inputs": (self.X[rows], group * M + within, adj), "rows": rows}
        if self.y is not None:
            batch["y"] = self.y[rows]
        return batch
