"""Dagster run config takes its defaults and descriptions from the core config dataclasses.

Every ``dg.Config`` class of the graph declares its fields as ``name: type = core(CoreSpec, "name")``:
the default and the description shown in the launchpad come from the dataclass field of the
stage it configures, so there is one source of truth (a test asserts every field agrees), and
:func:`to_core` turns a run config back into that dataclass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import Field

T = TypeVar("T")


def core(spec: type, name: str, **overrides: Any) -> Any:
    """A pydantic ``Field`` with the default and description of ``spec``'s dataclass field ``name``."""
    fields = {f.name: f for f in dataclasses.fields(spec)}
    if name not in fields:
        raise AttributeError(f"{spec.__name__} has no field {name!r}")
    found = fields[name]
    default = found.default
    if default is dataclasses.MISSING:
        raise ValueError(f"{spec.__name__}.{name} has no default to share")
    if isinstance(default, tuple):  # Dagster config holds lists
        default = list(default)
    description = found.metadata.get("description", "")
    return Field(default=default, description=overrides.pop("description", description), **overrides)


def to_core(config: Any, spec: type[T], **extra: Any) -> T:
    """The core dataclass ``spec`` filled from the same-named fields of a Dagster ``config``."""
    values = {}
    for f in dataclasses.fields(spec):
        if hasattr(config, f.name):
            value = getattr(config, f.name)
            values[f.name] = tuple(value) if isinstance(f.default, tuple) else value
    return spec(**{**values, **extra})
