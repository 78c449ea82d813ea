"""Device choice, thread count, determinism flags and seeding for torch training.

A backtest is only evidence if it can be rerun: the same seed must give the same network.
These helpers set torch's process-wide switches for the duration of a fit or predict and
restore them afterwards, so a library call does not leave the caller's session changed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

__all__ = ["amp_enabled", "resolve_device", "seed_everything", "torch_runtime"]


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when ``torch.cuda.is_available()``, else CPU; others are checked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch.cuda.is_available() is False")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return resolved


def amp_enabled(device: torch.device, mixed_precision: bool) -> bool:
    """Mixed precision runs on CUDA only (CPU autocast is slower for these small nets)."""
    return bool(mixed_precision) and device.type == "cuda"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def torch_runtime(
    device: torch.device, num_threads: int = 0, deterministic: bool = True
) -> Iterator[None]:
    """Set threads and determinism for a block, then restore the caller's settings.

    Parameters
    ----------
    device : torch.device
        On CPU the intra-op thread pool gets ``num_threads`` threads (0 = ``os.cpu_count()``);
        on CUDA the thread count is left alone.
    num_threads : int, default 0
    deterministic : bool, default True
        ``torch.use_deterministic_algorithms(True)``: bit-identical results on CPU. On CUDA it
        is set with ``warn_only=True`` and cuDNN autotuning is off; exact GPU reproducibility
        also needs ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` in the environment, which the caller
        (not the library) sets.
    """
    if num_threads < 0:
        raise ValueError(f"num_threads must be >= 0, got {num_threads}")
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        if device.type == "cpu":
            torch.set_num_threads(num_threads or os.cpu_count() or 1)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        if torch.get_num_threads() != old_threads:
            torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn
