"""Containers passed between research stages: a modelling frame and a fold plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class ModellingFrame:
    """Features joined with their forward-return target; one row per ``(date, asset)``.

    ``frame`` holds ``date``, ``asset``, the feature columns, ``target``, ``label_start`` and
    ``label_end``: the label is the return from the close of ``label_start`` to the close of
    ``label_end``, both strictly after ``date`` when ``lag_days >= 1``.
    """

    frame: pl.DataFrame
    features: tuple[str, ...]
    horizon_days: int
    lag_days: int
    data_version: str
    target_kind: str = "raw"
    availability: dict[str, str] | None = None
    """``{feature: timestamp column}`` carried in ``frame`` when the panel supplied them."""

    def dates(self) -> np.ndarray:
        return self.frame["date"].to_numpy().astype("datetime64[D]")

    def label_end(self) -> np.ndarray:
        return self.frame["label_end"].to_numpy().astype("datetime64[D]")


@dataclass(frozen=True)
class FoldPlan:
    """Train/test row indices per fold over a :class:`ModellingFrame`, plus their description."""

    splits: tuple[tuple[np.ndarray, np.ndarray], ...]
    description: pl.DataFrame
    scheme: str
    embargo_days: int

    @property
    def n_splits(self) -> int:
        return len(self.splits)
