"""One trained family into MLflow: a nested run per fold, the family's params, metrics and lineage,
its OOF predictions and drift reference, the registered final model and its model card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quant_registry.lineage import (
    CURVES_ARTIFACT,
    MODEL_CARD_ARTIFACT,
    OOF_ARTIFACT,
    REFERENCE_ARTIFACT,
    model_card,
)
from quant_registry.runs import RunLogger


def training_curves(models: list[Any]) -> dict[str, dict[str, list[float]]]:
    """``{fold: {"<dataset>_<metric>": [...]}}`` from each fold model's ``evals_result_``."""
    return {str(i): {f"{dataset}_{metric}": [float(v) for v in values]
                     for dataset, by_metric in (getattr(model, "evals_result_", None) or {}).items()
                     for metric, values in by_metric.items()}
            for i, model in enumerate(models)}


def log_family(run: RunLogger, fit: Any, frame: Any, folds: Any, registered_name: str,
               lineage: Mapping[str, str]) -> tuple[str, str]:
    """Log ``fit`` (a ``quant_core.stages.FamilyFit``) into ``run`` and register its final model.

    Returns ``(model_uri, version)`` of the new registered version (alias ``challenger``).
    """
    result = fit.result
    curves = training_curves(result.models)
    for i in range(len(result.models)):
        fold_row = fit.fold_row(i)
        with run.child(f"fold {i}", {"quantflow.fold": str(i)}) as fold_run:
            fold_run.log(params=result.folds.filter(result.folds["fold"] == i).row(0, named=True),
                         metrics={k: v for k, v in fold_row.items() if k != "fold"}, curves=curves[str(i)])
    if any(curves.values()):
        run.log_json(curves, CURVES_ARTIFACT)
    run.log(params={**fit.params, "family": fit.family, "n_folds": folds.n_splits, "scheme": folds.scheme,
                    "embargo_days": folds.embargo_days, "horizon_days": frame.horizon_days,
                    "lag_days": frame.lag_days, "n_features": len(fit.features)},
            metrics={f"oos_{k}": v for k, v in fit.overall.items() if k != "fold"},
            tags={k: v for k, v in lineage.items() if not k.startswith("validation.")})
    run.log_parquet(result.oof, OOF_ARTIFACT)
    run.log_parquet(fit.reference, REFERENCE_ARTIFACT)
    model_uri, version = run.log_signal_model(fit.final_model, list(fit.features), registered_name, tags=lineage)
    card = model_card(registered_name, version, fit, frame, folds, lineage)
    run.log_text(card.to_markdown(), MODEL_CARD_ARTIFACT)
    return model_uri, version
