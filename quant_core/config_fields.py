"""Described defaults for the fields of the config dataclasses, and a field copied from another.

Every config dataclass field carries its default and the description the UI shows
(:func:`described`). A config that gathers other configs' settings in one flat section takes
each field from its owner with :func:`same_as`, so a default still lives in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

__all__ = ["described", "same_as"]


def described(default: Any, description: str) -> Any:
    """A dataclass field with a default and the description the UI shows."""
    return field(default=default, metadata={"description": description})


def same_as(owner: type, name: str) -> Any:
    """A dataclass field with the default and description of ``owner``'s field ``name``."""
    source = {f.name: f for f in dataclasses.fields(owner)}[name]
    if source.default is dataclasses.MISSING:
        raise ValueError(f"{owner.__name__}.{name} has no default to share")
    return field(default=source.default, metadata=dict(source.metadata))
