"""What lifecycle assets hand downstream: the challenger a run registered and the pinned champion."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class ChallengerRef:
    """The model version one training run registered, with the OOF predictions it is judged on."""

    family: str
    model_name: str
    version: str
    run_id: str
    model_uri: str
    horizon_days: int
    lag_days: int
    data_version: str
    oof: pl.DataFrame = field(repr=False)
    validation: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ChampionRef:
    """Exactly one registered model version: the one live scoring loads (never "the latest").

    ``run_id`` is the MLflow run that logged the model; scoring refuses a registry whose version
    now points at another run.
    """

    family: str
    model_name: str
    version: str
    run_id: str
    horizon_days: int
    lag_days: int
    data_version: str
    validation_rank_ic: float
    train_start: str | None = None
    train_end: str | None = None

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"
