"""Per-epoch training checkpoints that make a killed run resume to the identical result.

A checkpoint holds everything the next epoch depends on: weights, optimizer and scheduler
state, the gradient scaler, every random number generator (Python, NumPy, torch CPU and CUDA,
and the trainer's batch-order generator), the epoch counter, the early-stopping state (best
score, best epoch, epochs without improvement, best weights) and the history. Files are written
atomically (temporary file + ``os.replace``), so a kill during a write leaves the previous
epoch's checkpoint intact. They load with ``torch.load(weights_only=True)``: tensors and plain
containers only, no pickled code.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "CHECKPOINT_FORMAT",
    "capture_rng_state",
    "checkpoint_path",
    "load_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = 1


def checkpoint_path(checkpoint_dir: str | os.PathLike, run_key: str) -> Path:
    """``<checkpoint_dir>/<run_key>/checkpoint.pt``: one folder per (data, config) fingerprint."""
    if not run_key or any(c in run_key for c in "/\\."):
        raise ValueError(
            f"run_key must be a non-empty name without '/', '\\' or '.', got {run_key!r}"
        )
    return Path(checkpoint_dir) / run_key / "checkpoint.pt"


def capture_rng_state(batch_generator: torch.Generator) -> dict[str, Any]:
    """Every generator a training epoch draws from, as tensors and plain values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "batch": batch_generator.get_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any], batch_generator: torch.Generator) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    batch_generator.set_state(state["batch"])
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["kind"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached"],
        )
    )
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically; the previous file survives a kill mid-write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)
    os.replace(tmp, path)


def load_checkpoint(
    path: str | os.PathLike, run_key: str, map_location: torch.device | str = "cpu"
) -> dict[str, Any] | None:
    """Return the checkpoint at ``path``, ``None`` if there is none.

    Raises ``ValueError`` when the file belongs to another run (its ``run_key`` differs) or
    another format version, rather than silently resuming the wrong training.
    """
    path = Path(path)
    if not path.exists():
        return None
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"checkpoint {path} has format {payload.get('format')!r}, expected {CHECKPOINT_FORMAT}"
        )
    if payload.get("run_key") != run_key:
        raise ValueError(
            f"checkpoint {path} belongs to run {payload.get('run_key')!r}, not {run_key!r}; "
            "delete it or use another checkpoint_dir"
        )
    return payload
