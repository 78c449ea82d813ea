"""Every value one asset hands another, as frozen dataclasses (no dicts with string keys).

Values that are a stage's result are the core dataclasses themselves (re-exported here so one
module lists them all); the ones defined here add what only the orchestration knows: the exact
model version a run registered in MLflow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.models.training import FoldwiseResult
from quant_core.stages import (
    EnsembleResult,
    FamilyFit,
    RevalidationResult,
    RoutingResult,
    ShapResult,
    TradingBooks,
    ValidationResult,
)
from quant_registry.registry import ChampionRef

__all__ = [
    "ChallengerRef",
    "ChampionRef",
    "DeepLOBModel",
    "EnsembleModel",
    "EnsembleResult",
    "FeatureSnapshot",
    "FoldPlan",
    "ModellingFrame",
    "RevalidationSummary",
    "RoutingResult",
    "ShapResult",
    "TradingBooks",
    "TrainedFamilies",
    "TrainedFamily",
    "ValidationResult",
]


@dataclass(frozen=True)
class TrainedFamily:
    """Fold-wise models of one family, their OOF predictions and the registered final model.

    ``model_uri`` (``models:/<name>/<version>``) is the version this run registered; downstream
    steps load exactly it, never "the latest".
    """

    family: str
    result: FoldwiseResult
    final_model: Any
    features: tuple[str, ...]
    model_uri: str
    model_version: str
    mlflow_run_id: str
    fold_table: pl.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_fit(cls, fit: FamilyFit, model_uri: str, model_version: str, mlflow_run_id: str) -> TrainedFamily:
        return cls(family=fit.family, result=fit.result, final_model=fit.final_model, features=fit.features,
                   model_uri=model_uri, model_version=model_version, mlflow_run_id=mlflow_run_id,
                   fold_table=fit.fold_table)


@dataclass(frozen=True)
class TrainedFamilies:
    """The torch families one ``deep_models`` run trained, in training order."""

    families: tuple[TrainedFamily, ...] = ()

    def __iter__(self) -> Iterator[TrainedFamily]:
        return iter(self.families)

    def __len__(self) -> int:
        return len(self.families)

    def by_name(self) -> dict[str, TrainedFamily]:
        return {f.family: f for f in self.families}


def oofs_of(*groups: TrainedFamily | TrainedFamilies) -> dict[str, pl.DataFrame]:
    """``{family: OOF predictions}`` of single families and groups of them, in the given order."""
    out: dict[str, pl.DataFrame] = {}
    for group in groups:
        for trained in (group if isinstance(group, TrainedFamilies) else (group,)):
            out[trained.family] = trained.result.oof
    return out


def members_of(*groups: TrainedFamily | TrainedFamilies) -> list[TrainedFamily]:
    """Single families and groups of them as one list, in the given order."""
    return [t for g in groups for t in (g if isinstance(g, TrainedFamilies) else (g,))]


@dataclass(frozen=True)
class EnsembleModel:
    """The routed ensemble registered as one model, and its scores of the newest snapshot date."""

    model_uri: str
    version: str
    date: Any
    regime: Any
    scores: pl.DataFrame
    members: Mapping[str, str]


@dataclass(frozen=True)
class DeepLOBModel:
    """The DeepLOB classifier a run trained and registered, with its test metrics."""

    model: Any
    metrics: Mapping[str, float]
    model_uri: str


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
    validation: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RevalidationSummary:
    """The champion's recipe re-fitted on every CPCV path: what the weekly check judges."""

    champion_version: str
    model_uri: str
    validation_rank_ic: float
    data_version: str
    result: RevalidationResult

    def numbers(self) -> dict[str, Any]:
        return {"champion_version": self.champion_version, **self.result.numbers(),
                "validation_rank_ic": self.validation_rank_ic, "data_version": self.data_version}
