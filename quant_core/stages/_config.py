"""A described default for the fields of the stages' config dataclasses."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def described(default: Any, description: str) -> Any:
    """A dataclass field with a default and the description the UI shows."""
    return field(default=default, metadata={"description": description})
