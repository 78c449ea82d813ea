"""Stage: one model family trained fold-wise, its out-of-fold predictions, a final refit on every
row and the drift reference the registered model carries.

Each family's recipe (how a fold model and the final model are built) is here, once:

* LightGBM early-stops on a purged slice at the end of each training fold; the final model,
  which has no slice left to stop on, trains for the folds' median best iteration.
* The torch families do the same with epochs (median best epoch).
* Ridge has nothing to stop: the final model is the fold recipe on every row.

The inner slice is purged by ``horizon_days + lag_days`` dates, so no fitting row's label window
reaches into the slice early stopping judges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from quant_core.config_fields import described
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.models import (
    LightGBMConfig,
    LightGBMRegressor,
    RidgeConfig,
    build_model,
    train_foldwise,
)
from quant_core.models.training import FoldwiseResult
from quant_core.monitoring.evidently_drift import training_reference
from quant_core.validation import fold_ic_table

__all__ = [
    "PANEL_FAMILIES",
    "REFERENCE_DAYS",
    "DeepFamiliesConfig",
    "FamilyFit",
    "deep_family_settings",
    "family_prices",
    "inner_purge_days",
    "train_deep_families",
    "train_deep_family",
    "train_family",
    "train_lightgbm",
    "train_ridge",
]

REFERENCE_DAYS = 126  # newest training dates kept as the drift reference of a registered model
PANEL_FAMILIES = ("mlp", "lstm", "gru", "tcn", "transformer", "gnn")


@dataclass(frozen=True)
class FamilyFit:
    """One family trained fold-wise: what validation, ensembling and registration need.

    ``fold_table`` is :func:`~quant_core.validation.fold_ic_table` of the OOF predictions (one
    row per fold, then ``overall``); ``reference`` is the newest ``REFERENCE_DAYS`` training
    dates' features with the final model's ``score``; ``params`` the recipe as logged.
    """

    family: str
    result: FoldwiseResult
    fold_table: pl.DataFrame
    final_model: Any
    reference: pl.DataFrame
    features: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def overall(self) -> dict[str, Any]:
        """The ``overall`` row of the fold table (pooled out-of-sample numbers)."""
        return self.fold_table.filter(pl.col("fold") == "overall").row(0, named=True)

    def fold_row(self, fold: int) -> dict[str, Any]:
        return self.fold_table.filter(pl.col("fold") == str(fold)).row(0, named=True)


def inner_purge_days(frame: ModellingFrame, inner_valid_days: int) -> int:
    """Dates purged between a fold's fitting rows and its early-stopping slice (0 without one)."""
    return frame.horizon_days + frame.lag_days if inner_valid_days else 0


def train_family(family: str, frame: ModellingFrame, folds: FoldPlan, make_model: Callable[[], Any],
                 make_final: Callable[[FoldwiseResult], Any], *, inner_valid_days: int = 0,
                 params: Mapping[str, Any] | None = None) -> FamilyFit:
    """Fold-wise training, the fold IC table, a final refit on every row and its drift reference."""
    result = train_foldwise(frame.frame, list(folds.splits), make_model, inner_valid_days=inner_valid_days,
                            purge_days=inner_purge_days(frame, inner_valid_days))
    fold_table = fold_ic_table(result.oof, horizon_days=frame.horizon_days)
    final_model = make_final(result).fit(frame.frame)
    features = list(frame.features)
    reference = training_reference(frame.frame, features, REFERENCE_DAYS)
    reference = reference.with_columns(pl.Series("score", final_model.predict(reference), dtype=pl.Float64))
    return FamilyFit(family=family, result=result, fold_table=fold_table, final_model=final_model,
                     reference=reference, features=tuple(features), params=dict(params or {}))


def train_lightgbm(frame: ModellingFrame, folds: FoldPlan, config: LightGBMConfig | None = None) -> FamilyFit:
    """LightGBM per fold (early stopping on a purged inner slice); final model on the median best
    iteration."""
    config = config or LightGBMConfig()
    features = list(frame.features)
    kwargs = config.model_kwargs()

    def make_model():
        return LightGBMRegressor(features, **kwargs)

    def make_final(result: FoldwiseResult):
        rounds = int(np.median([m.best_iteration_ for m in result.models])) or config.num_boost_round
        return LightGBMRegressor(features, **{**kwargs, "num_boost_round": max(rounds, 1),
                                              "early_stopping_rounds": 0})

    params = {**kwargs["params"], "num_boost_round": config.num_boost_round, "seed": config.seed,
              "early_stopping_rounds": config.early_stopping_rounds,
              "inner_valid_days": config.inner_valid_days}
    return train_family("lightgbm", frame, folds, make_model, make_final,
                        inner_valid_days=config.inner_valid_days, params=params)


def train_ridge(frame: ModellingFrame, folds: FoldPlan, config: RidgeConfig | None = None) -> FamilyFit:
    """Ridge on standardised features per fold: the linear baseline."""
    config = config or RidgeConfig()
    features = list(frame.features)

    def make_model():
        return build_model("ridge", features, config)

    return train_family("ridge", frame, folds, make_model, lambda _result: make_model(),
                        params={"alpha": config.alpha})


@dataclass(frozen=True)
class DeepFamiliesConfig:
    """The torch families the research graph trains, and their shared knobs (kept tiny: the
    demo and CI run them on 2 CPU cores)."""

    families: tuple[str, ...] = described(
        ("mlp",), "Torch families to train, any of mlp, lstm, gru, tcn, transformer, gnn ([] = none)")
    max_epochs: int = described(8, "Maximum epochs per fold (early stopping on the inner slice)")
    patience: int = described(2, "Epochs without improvement before stopping")
    inner_valid_days: int = described(63, "Last training dates held out for early stopping")
    seq_len: int = described(10, "lstm/gru/tcn/transformer: trailing dates per sequence")
    hidden_size: int = described(16, "Width of the networks (mlp, lstm, gru, gnn)")
    seed: int = described(0, "Seed of weights, dropout and batch order")
    num_threads: int = described(0, "CPU threads for torch; 0 = every core (GPU used when present)")

    def __post_init__(self) -> None:
        unknown = sorted(set(self.families) - set(PANEL_FAMILIES))
        if unknown:
            raise ValueError(f"deep_models.families: unknown {unknown}; choose from {list(PANEL_FAMILIES)}")


def deep_family_settings(family: str, config: DeepFamiliesConfig, checkpoint_dir: str | None) -> dict[str, Any]:
    """The family config of one torch family: the trainer's knobs plus the shape knobs it has."""
    settings: dict[str, Any] = {"max_epochs": config.max_epochs, "patience": config.patience,
                                "seed": config.seed, "num_threads": config.num_threads, "progress": "off",
                                "checkpoint_dir": checkpoint_dir or ""}
    if family in ("mlp", "lstm", "gru", "gnn"):
        settings["hidden_size"] = config.hidden_size
    if family in ("lstm", "gru", "tcn", "transformer"):
        settings["seq_len"] = config.seq_len
    return settings


def train_deep_family(family: str, frame: ModellingFrame, folds: FoldPlan, config: DeepFamiliesConfig,
                      prices: pl.DataFrame | None = None, checkpoint_dir: str | None = None) -> FamilyFit:
    """One torch family fold-wise; the full-history refit trains for the folds' median best epoch.

    ``prices`` (``date, asset, close[, sector]``) is what the graph network builds its asset
    graph from; ``checkpoint_dir`` makes a killed run resume where it stopped.
    """
    settings = deep_family_settings(family, config, checkpoint_dir)
    features = list(frame.features)
    extra = {"prices": prices} if family == "gnn" else {}

    def make_model(settings: dict[str, Any] = settings):
        return build_model(family, features, settings, **extra)

    def make_final(result: FoldwiseResult):
        epochs = max(1, int(np.median([m.best_epoch_ for m in result.models])))
        return make_model(settings={**settings, "max_epochs": epochs})

    return train_family(family, frame, folds, make_model, make_final,
                        inner_valid_days=config.inner_valid_days, params=settings)


def train_deep_families(frame: ModellingFrame, folds: FoldPlan, config: DeepFamiliesConfig,
                        prices: pl.DataFrame | None = None,
                        checkpoint_dir: Callable[[str], str] | None = None) -> tuple[FamilyFit, ...]:
    """Every family of ``config`` in order; ``checkpoint_dir(family)`` names each one's folder."""
    return tuple(train_deep_family(f, frame, folds, config, prices,
                                   checkpoint_dir(f) if checkpoint_dir else None)
                 for f in config.families)


def family_prices(panel: pl.DataFrame, families: Sequence[str]) -> pl.DataFrame | None:
    """The price columns the graph network needs, when one of ``families`` is a graph network."""
    if "gnn" not in families:
        return None
    return panel.select([c for c in ("date", "asset", "close", "sector") if c in panel.columns])
