"""Feature snapshots: a checked panel, its feature list and a content hash (the data version)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

AVAILABILITY_SUFFIX = "__available_at"


def availability_map(panel: pl.DataFrame, features: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{feature: "<feature>__available_at"}`` for each feature whose timestamp column exists."""
    return {f: f + AVAILABILITY_SUFFIX for f in features if f + AVAILABILITY_SUFFIX in panel.columns}


def content_hash(panel: pl.DataFrame) -> str:
    """A short, order-sensitive hash of a panel's schema and values: its data version."""
    digest = hashlib.sha256()
    digest.update(repr(list(panel.schema.items())).encode())
    for name in panel.columns:
        column = panel[name]
        if column.dtype == pl.String:
            digest.update("\x1f".join(column.fill_null("\x00").to_list()).encode())
        else:
            if column.dtype.is_temporal():
                column = column.to_physical()
            digest.update(column.is_null().to_numpy().tobytes())
            digest.update(column.fill_null(0).to_numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class FeatureSnapshot:
    """A panel keyed by ``(date, asset)`` plus the names of its feature columns."""

    panel: pl.DataFrame
    features: tuple[str, ...]
    data_version: str
    source: str
    oracle: pl.DataFrame | None = None
    """Ground-truth expected return of the default label (date, asset, oracle_alpha), only when
    the market is simulated: the ceiling a model's IC is compared with."""
    availability: dict[str, str] | None = None
    """``{feature: column}`` for features whose panel supplies the time each value became known
    (a ``<feature>__available_at`` date or datetime column); audited against the decision time."""

    input_columns: tuple[str, ...] | None = None
    """The panel's columns as supplied (before any library-built features): what the contract judges."""

    @property
    def availability_columns(self) -> list[str]:
        return list((self.availability or {}).values())

    @property
    def n_dates(self) -> int:
        return self.panel["date"].n_unique()

    @property
    def n_assets(self) -> int:
        return self.panel["asset"].n_unique()
