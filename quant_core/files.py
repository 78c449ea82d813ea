"""Writing files the way every report and summary of the project is written: whole or not at all
(a temporary sibling, then a rename), readable as the umask says, and JSON without NaN."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["finite", "readable_mode", "write_atomic"]


def readable_mode() -> int:
    """The mode a new file gets under the process's umask (``mkstemp`` makes 0600 regardless)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | Path, payload: str | bytes) -> Path:
    """Write ``payload`` to ``path`` through a temporary sibling and a rename: a reader sees the
    old file or the new one, never half of one; a failure leaves no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload.encode("utf-8") if isinstance(payload, str) else payload)
        os.chmod(tmp, readable_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf), however nested, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
