"""Gradient SHAP of the fitted torch panel families (MLP, LSTM, GRU, TCN, Transformer) on their rows.

Each row is explained through the exact input the network sees: its standardised trailing window
of ``seq_len`` observations. Attributions are summed over time steps, so a feature's value is its
contribution through today's and its recent values. Rows whose window is not full (an asset's
first days) are skipped: their padding mask would be part of the input.
"""

from typing import Any

import numpy as np
import polars as pl

from quant_core.explain.gradient_shap import gradient_shap

#: Families that score each row on its own; a graph network mixes assets within a date.
ROW_WISE_FAMILIES = ("mlp", "lstm", "gru", "tcn", "transformer")


def _windows(model: Any, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs (n, L, F), frame_rows (n,))`` for the rows of ``frame`` with a full window."""
    from quant_core.models.torch.data import prepend_context, sequence_windows, standardised_matrix

    seq_len = int(getattr(model, "seq_len", 1) or 1)
    combined, n_ctx = prepend_context(frame, model.context_, model.feature_names_, seq_len - 1)
    X = standardised_matrix(combined, model.feature_names_, model.feature_mean_, model.feature_scale_)
    X = np.vstack([np.zeros((1, X.shape[1]), dtype=np.float32), X])
    windows = sequence_windows(combined, seq_len)[n_ctx:] + 1  # 1-based: 0 is padding
    full = np.flatnonzero((windows > 0).all(axis=1))
    return X[windows[full]], full


def panel_gradient_shap(model: Any, frame: pl.DataFrame, *, max_rows: int = 500, n_background: int = 200,
                        n_samples: int = 100, seed: int = 0) -> tuple[np.ndarray, pl.DataFrame]:
    """Gradient SHAP values ``(n, F + 1)`` (last column: expected value) and the explained rows.

    ``frame`` holds ``date, asset`` and the model's features (e.g. a fold's test rows; the model's
    kept context supplies the first windows). The background is a random sample of the same
    rows' windows; rows explained are another random sample of at most ``max_rows``.
    """
    import torch

    if model.family not in ROW_WISE_FAMILIES:
        raise ValueError(f"panel_gradient_shap explains {ROW_WISE_FAMILIES}, got family {model.family!r}")
    inputs, rows = _windows(model, frame)
    if rows.size == 0:
        raise ValueError("no row of frame has a full input window to explain")
    rng = np.random.default_rng(seed)
    explain = np.sort(rng.choice(rows.size, size=min(max_rows, rows.size), replace=False))
    background = rng.choice(rows.size, size=min(n_background, rows.size), replace=False)

    class _FullWindow(torch.nn.Module):  # the network with its padding mask fixed to "all real"
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x, torch.ones(x.shape[:2], dtype=torch.bool, device=x.device))

    values = gradient_shap(_FullWindow(model.module_), inputs[explain], inputs[background],
                           feature_axis=-1, n_samples=n_samples, seed=seed)
    explained = frame[rows[explain]].select(["date", "asset"])
    return values, explained
