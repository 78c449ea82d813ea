"""Row-wise correlations on a (dates x assets) matrix: the fast path behind ``ic_series``.

A long (date, asset) panel is laid out as one row per date, padded with NaN where a date has
fewer assets than the widest one. Every statistic is then a vectorised reduction along the
rows, computed in cache-sized blocks of dates that run on all cores (numpy releases the GIL
in its sort and arithmetic kernels). The ranking uses numpy's SIMD argsort (AVX-512/AVX2
where the CPU has it) and gives average ranks to ties, exactly like ``scipy.stats.rankdata``;
centred ranks are half-integers, so the Spearman sums are exact in float64.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["pad_rows", "row_correlations"]

_BLOCK_DATES = 256  # a block of 256 x 3,000 float64 is 6 MB: stays in cache while it is ranked


def pad_rows(values: list[np.ndarray], counts: np.ndarray) -> list[np.ndarray]:
    """Lay out each flat array (rows grouped by date, ``counts`` rows per date) as a
    ``(dates, max(counts))`` matrix; missing cells are NaN. A reshape, not a copy, when every
    date has the same number of rows."""
    n_dates, width = counts.size, int(counts.max())
    if np.all(counts == width):
        return [v.reshape(n_dates, width) for v in values]
    starts = np.zeros(n_dates, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    row = np.repeat(np.arange(n_dates), counts)
    col = np.arange(counts.sum()) - np.repeat(starts, counts)
    out = []
    for v in values:
        matrix = np.full((n_dates, width), np.nan)
        matrix[row, col] = v
        out.append(matrix)
    return out


def row_correlations(x: np.ndarray, y: np.ndarray, counts: np.ndarray, method: str) -> np.ndarray:
    """Pearson or Spearman correlation of ``x[i]`` with ``y[i]`` for every row ``i``.

    ``x`` and ``y`` are ``(dates, width)`` matrices from :func:`pad_rows` whose row ``i`` holds
    ``counts[i]`` finite values followed by NaN padding. A row whose ``x`` or ``y`` is constant
    gets NaN (the correlation is undefined), never a spurious +/-1.
    """
    out = np.empty(x.shape[0])
    kernel = _spearman_block if method == "spearman" else _pearson_block

    def run(start: int) -> None:
        stop = start + _BLOCK_DATES
        out[start:stop] = kernel(x[start:stop], y[start:stop], counts[start:stop])

    starts = range(0, x.shape[0], _BLOCK_DATES)
    workers = min(_cpu_count(), len(starts))
    if workers <= 1:
        for start in starts:
            run(start)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    return out


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _centred_ranks(v: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average-tie ranks minus their row mean ``(n+1)/2``; 0 in the padding."""
    n_rows, width = v.shape
    order = np.argsort(v, axis=1)  # NaN padding sorts last
    flat = order + (np.arange(n_rows, dtype=np.int64) * width)[:, None]
    ordered = v.ravel()[flat]
    position = np.arange(width, dtype=np.float64)
    tied = ordered[:, 1:] == ordered[:, :-1]  # NaN == NaN is False: padding never ties
    if tied.any():
        new_run = np.ones(ordered.shape, dtype=bool)
        np.logical_not(tied, out=new_run[:, 1:])
        run_start = np.where(new_run, position, 0.0)
        np.maximum.accumulate(run_start, axis=1, out=run_start)
        run_end = np.where(np.roll(new_run, -1, axis=1), position, width)
        run_end[:, -1] = width - 1
        run_end = np.minimum.accumulate(run_end[:, ::-1], axis=1)[:, ::-1]
        rank = (run_start + run_end) * 0.5
    else:
        rank = np.broadcast_to(position, ordered.shape)
    centred = rank - (counts[:, None] - 1) * 0.5  # 0-based rank minus (n-1)/2
    if np.any(counts < width):
        centred = np.where(position < counts[:, None], centred, 0.0)
    out = np.empty(v.shape)
    out.ravel()[flat.ravel()] = centred.ravel()
    return out


def _spearman_block(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    rx = _centred_ranks(x, counts)
    ry = _centred_ranks(y, counts)
    return _corr_centred(rx, ry)


def _pearson_block(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    dx = _demean(x, counts)
    dy = _demean(y, counts)
    return _corr_centred(dx, dy)


def _demean(v: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Deviations from the row mean, 0 in the padding; an exactly constant row gives exact 0
    (not rounding noise), so its correlation is 0/0 and dropped."""
    if np.any(counts < v.shape[1]):
        filled = np.where(np.isnan(v), 0.0, v)
        low = np.where(np.isnan(v), np.inf, v).min(axis=1)
        high = np.where(np.isnan(v), -np.inf, v).max(axis=1)
    else:
        filled, low, high = v, v.min(axis=1), v.max(axis=1)
    mean = filled.sum(axis=1) / counts
    dev = filled - mean[:, None]
    if filled is not v:
        dev[np.isnan(v)] = 0.0
    dev[low == high] = 0.0
    return dev


def _corr_centred(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    sxy = np.einsum("ij,ij->i", dx, dy)
    sxx = np.einsum("ij,ij->i", dx, dx)
    syy = np.einsum("ij,ij->i", dy, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sxy / np.sqrt(sxx * syy)
