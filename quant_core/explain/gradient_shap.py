"""Gradient SHAP (expected gradients) for torch signal models.

Neural networks have no exact SHAP algorithm; expected gradients approximate it: for a row x,
draw a reference row b from a background sample and a point on the straight line from b to
x, and average ``gradient(point) * (x - b)``. The attributions of a row sum, in expectation,
to ``f(x) - E[f(b)]`` (the prediction minus the average background prediction), with Monte
Carlo error that shrinks as ``1 / sqrt(n_samples)``. This is the algorithm of
``shap.GradientExplainer``; the default engine here is a batched torch implementation of it
(seeded with its own generator), and ``engine="shap"`` calls shap's explainer instead.

The interface is generic: any ``torch.nn.Module`` plus an *input builder* that turns the rows
to explain into the tensor the module takes ((n, F) for an MLP; (n, T, F) for a sequence
model, whose attributions are summed over time so each feature gets one number per row). The
module must score batch rows independently (no cross-row attention or batch statistics in
``eval()`` mode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

__all__ = ["GRADIENT_ENGINES", "expected_gradients", "gradient_shap"]

GRADIENT_ENGINES = ("torch", "shap")


def _default_builder(features: Sequence[str] | None) -> Callable[[Any], Any]:
    import torch

    def build(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return x.detach().to(torch.float32)
        if isinstance(x, pl.DataFrame):
            if features is None:
                raise ValueError("features must be given to explain a DataFrame")
            x = x.select(pl.col(list(features)).cast(pl.Float64)).to_numpy()
        return torch.as_tensor(np.asarray(x, dtype=np.float32))

    return build


def _column_output(module: Any, output_index: int | None) -> Any:
    """Wrap ``module`` so it returns shape (n, 1): what shap's explainer expects."""
    import torch

    class _Column(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.inner(x)
            out = out.reshape(out.shape[0], -1)
            if output_index is not None:
                out = out[:, output_index : output_index + 1]
            elif out.shape[1] != 1:
                raise ValueError(
                    f"module returns {out.shape[1]} outputs per row; pass output_index"
                )
            return out

    return _Column(module)


def expected_gradients(
    module: Any,
    inputs: Any,
    background: Any,
    n_samples: int = 200,
    seed: int = 0,
    batch_size: int = 8192,
) -> np.ndarray:
    """Expected-gradients attributions with the inputs' own shape.

    Parameters
    ----------
    module : torch.nn.Module
        Returns one score per row, shape (n,) or (n, 1).
    inputs, background : torch.Tensor
        Rows to explain and reference rows; same shape after the batch axis.
    n_samples : int, default 200
        (reference, path point) draws per row.
    seed : int, default 0
        Seed of a private ``torch.Generator``; the global RNGs are untouched.
    batch_size : int, default 8192
        Interpolated points per backward pass.

    Returns
    -------
    np.ndarray
        Same shape as ``inputs`` (float64).
    """
    import torch

    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x = inputs.detach().to(torch.float32)
    bg = background.detach().to(torch.float32)
    if x.shape[1:] != bg.shape[1:]:
        raise ValueError(f"inputs {tuple(x.shape)} and background {tuple(bg.shape)} differ")
    if bg.shape[0] == 0:
        raise ValueError("background must hold at least one row")
    gen = torch.Generator().manual_seed(int(seed))
    n = x.shape[0]
    ref = torch.randint(bg.shape[0], (n, n_samples), generator=gen)
    alpha = torch.rand((n, n_samples), generator=gen)
    out = np.zeros(tuple(x.shape), dtype=np.float64)
    rows_per_batch = max(1, batch_size // n_samples)
    extra = (1,) * (x.dim() - 1)
    for start in range(0, n, rows_per_batch):
        stop = min(n, start + rows_per_batch)
        xb = x[start:stop].unsqueeze(1)  # (b, 1, ...)
        bb = bg[ref[start:stop]]  # (b, S, ...)
        a = alpha[start:stop].reshape(stop - start, n_samples, *extra)
        delta = xb - bb
        points = (bb + a * delta).reshape(-1, *x.shape[1:]).requires_grad_(True)
        score = module(points).reshape(-1)
        (grad,) = torch.autograd.grad(score.sum(), points)
        phi = (grad.reshape(delta.shape) * delta).mean(dim=1)
        out[start:stop] = phi.detach().to(torch.float64).numpy()
    return out


def gradient_shap(
    module: Any,
    X: Any,
    background: Any,
    *,
    features: Sequence[str] | None = None,
    input_builder: Callable[[Any], Any] | None = None,
    feature_axis: int = -1,
    n_samples: int = 200,
    seed: int = 0,
    engine: str = "torch",
    output_index: int | None = None,
) -> np.ndarray:
    """Per-feature gradient SHAP values of a torch model, shaped like :func:`tree_shap`.

    Parameters
    ----------
    module : torch.nn.Module
        The fitted network (put in ``eval()`` mode for the call, then restored).
    X, background : Any
        Rows to explain and a reference sample (a few hundred training rows is typical),
        in whatever form ``input_builder`` accepts.
    features : sequence of str, optional
        Feature columns when the default builder receives a polars DataFrame.
    input_builder : callable, optional
        Maps ``X`` / ``background`` to the module's input tensor. Default: a DataFrame's
        ``features`` columns, or an array, as a float32 tensor.
    feature_axis : int, default -1
        Axis of the input tensor that indexes features; attributions are summed over every
        other non-batch axis (e.g. time steps).
    n_samples : int, default 200
    seed : int, default 0
    engine : {"torch", "shap"}, default "torch"
        ``"shap"`` uses ``shap.GradientExplainer`` (same algorithm, a per-row Python loop;
        the global numpy RNG state is saved and restored around it).
    output_index : int, optional
        Output to explain when the module returns several per row.

    Returns
    -------
    np.ndarray, shape (n_rows, n_features + 1)
        Attributions per feature; the last column is the expected value ``E[f(background)]``.
        Each row sums to the prediction up to Monte Carlo error.
    """
    import torch

    if engine not in GRADIENT_ENGINES:
        raise ValueError(f"engine must be one of {GRADIENT_ENGINES}, got {engine!r}")
    build = input_builder or _default_builder(features)
    x, bg = build(X), build(background)
    if x.dim() < 2:
        raise ValueError(f"the input tensor must have a batch axis and >= 1 more, got {x.dim()}")
    axis = feature_axis % x.dim()
    if axis == 0:
        raise ValueError("feature_axis must not be the batch axis 0")
    wrapped = _column_output(module, output_index)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            expected = float(wrapped(bg).mean())
        if engine == "torch":
            phi = expected_gradients(wrapped, x, bg, n_samples=n_samples, seed=seed)
        else:
            from quant_core.explain._shap import import_shap

            shap = import_shap()

            state = np.random.get_state()
            try:
                explainer = shap.GradientExplainer(wrapped, bg)
                phi = np.asarray(explainer.shap_values(x, nsamples=n_samples, rseed=seed))
            finally:
                np.random.set_state(state)
            if phi.ndim == x.dim() + 1 and phi.shape[-1] == 1:
                phi = phi[..., 0]
    finally:
        module.train(was_training)
    other = tuple(a for a in range(1, phi.ndim) if a != axis)
    per_feature = phi.sum(axis=other) if other else phi
    if features is not None and per_feature.shape[1] != len(features):
        raise ValueError(
            f"input has {per_feature.shape[1]} features on axis {feature_axis}, "
            f"features names {len(features)}"
        )
    base = np.full((per_feature.shape[0], 1), expected)
    return np.hstack([per_feature.astype(np.float64), base])
