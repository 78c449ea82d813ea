"""Lineage of a registered model: the artifacts every signal model's run carries, the code
version and the configuration hash its tags record."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# artifacts every registered signal model carries on its run (the lifecycle reads them back)
OOF_ARTIFACT = "lifecycle/oof_predictions.parquet"  # date, asset, fold, prediction, target
REFERENCE_ARTIFACT = "lifecycle/reference.parquet"  # newest training dates: features + score
MODEL_CARD_ARTIFACT = "model_card.md"
CURVES_ARTIFACT = "training_curves.json"  # every fold's full curves, round by round


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of this code (``<sha>`` or ``<sha>-dirty``), or ``"unknown"`` outside git.

    Read once per process: the code a process runs does not change under it.
    """
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def config_hash(config: Mapping[str, Any]) -> str:
    """A short hash of a training configuration (keys sorted), to tell recipes apart."""
    payload = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]



def lineage_tags(fit: Any, frame: Any, folds: Any, *, orchestration_run_id: str, job_name: str) -> dict[str, str]:
    """Model-version tags of a trained family: where the data, code and config came from, and its
    validation numbers. ``fit`` is a ``quant_core.stages.FamilyFit``, ``frame`` the
    ``ModellingFrame`` it was trained on and ``folds`` the ``FoldPlan``."""
    recipe = {"family": fit.family, "params": dict(fit.params), "features": list(frame.features),
              "scheme": folds.scheme, "n_splits": folds.n_splits, "embargo_days": folds.embargo_days,
              "horizon_days": frame.horizon_days, "lag_days": frame.lag_days,
              "target_kind": frame.target_kind}
    dates = frame.frame["date"]
    tags = {
        "data_version": frame.data_version,
        "code_version": code_version(),
        "config_hash": config_hash(recipe),
        "dagster.run_id": orchestration_run_id,
        "dagster.job": job_name,
        "quantflow.family": fit.family,
        "quantflow.horizon_days": frame.horizon_days,
        "quantflow.lag_days": frame.lag_days,
        "quantflow.target_kind": frame.target_kind,
        "quantflow.train_start": dates.min(),
        "quantflow.train_end": dates.max(),
        "quantflow.n_features": len(frame.features),
        **{f"validation.{k}": v for k, v in fit.overall.items() if k != "fold"},
    }
    return {k: str(v) for k, v in tags.items()}


def model_card(name: str, version: str, fit: Any, frame: Any, folds: Any, lineage: Mapping[str, str]):
    """The ``quant_core`` model card of a registered family version."""
    from quant_core.models.model_card import ModelCard, known_limitations

    data = frame.frame
    overall = fit.overall
    metrics = {k: v for k, v in overall.items() if k not in ("fold", "start", "end")}
    n_assets = data["asset"].n_unique()
    return ModelCard(
        name=name, version=version, family=fit.family, data_version=frame.data_version,
        code_version=lineage["code_version"], config_hash=lineage["config_hash"],
        dagster_run_id=lineage["dagster.run_id"], train_start=data["date"].min(),
        train_end=data["date"].max(), n_rows=data.height, n_dates=data["date"].n_unique(),
        n_assets=n_assets, horizon_days=frame.horizon_days, lag_days=frame.lag_days,
        target_kind=frame.target_kind, features=list(frame.features), params=dict(fit.params),
        fold_scheme=folds.scheme, embargo_days=folds.embargo_days, folds=fit.fold_table, metrics=metrics,
        limitations=known_limitations(metrics, horizon_days=frame.horizon_days,
                                      n_oos_dates=int(overall["n_dates"]), n_assets=n_assets,
                                      fold_scheme=folds.scheme),
    )
