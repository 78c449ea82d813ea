"""The research graph without Dagster or MLflow: the same ``quant_core.stages`` calls the assets
and checks make, in the Dagster run's step order, with the same default configs.

Because both paths call the same stage functions there is no copy to keep in step; what the
orchestrated path adds is Dagster (IO manager, events, checks as steps, UI metadata) and MLflow
(runs, params/metrics, artifacts, model logging and registration). ``benchmarks.bench_pipeline``
times the two against each other.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from quant_core.data.synthetic import SyntheticMarketConfig
from quant_core.stages import (
    BlendConfig,
    ContractSpec,
    DeepFamiliesConfig,
    FoldSpec,
    TargetSpec,
    audit_folds,
    audit_targets,
    build_modelling_frame,
    check_snapshot_contract,
    explain_deep_families,
    explain_lightgbm,
    family_prices,
    fit_ensembles,
    load_feature_snapshot,
    permutation_importance,
    plan_folds,
    route_regimes,
    score_routed_ensemble,
    train_deep_family,
    train_lightgbm,
    train_ridge,
    validate_families,
)


class Laps:
    """Seconds per stage: ``laps("name")`` closes the stage that started at the previous call."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self._clock
        self._clock = now


def _data_stages(laps: Laps, n_assets: int, n_days: int, seed: int, reports: Path, use_ge: bool):
    snapshot = load_feature_snapshot(synthetic=SyntheticMarketConfig(n_assets=n_assets, n_days=n_days, seed=seed))
    laps("feature_snapshots")
    assert check_snapshot_contract(snapshot, ContractSpec(use_great_expectations=use_ge)).passed
    laps("contract_check")
    frame = build_modelling_frame(snapshot, TargetSpec())
    laps("targets")
    assert audit_targets(frame).passed
    laps("targets_leakage_audit")
    folds = plan_folds(frame, FoldSpec(), layout_png=reports / "fold_layout.png")
    laps("folds")
    assert audit_folds(frame, folds).passed
    laps("folds_leakage_audit")
    return snapshot, frame, folds


def direct_subset(n_assets: int, n_days: int, seed: int = 7) -> dict[str, float]:
    """Snapshots through the ensemble, torch families and Great Expectations off."""
    laps = Laps()
    with tempfile.TemporaryDirectory() as tmp:
        snapshot, frame, folds = _data_stages(laps, n_assets, n_days, seed, Path(tmp), use_ge=False)
        lgb = train_lightgbm(frame, folds)
        laps("lightgbm_model")
        ridge = train_ridge(frame, folds)
        laps("ridge_model")
        fit_ensembles(snapshot, frame, {f.family: f.result.oof for f in (lgb, ridge)}, BlendConfig())
        laps("ensemble_weights")
    return laps.timings


def direct_full(n_assets: int, n_days: int, seed: int = 7) -> dict[str, float]:
    """The whole ``research_job`` as ``qf demo`` runs it (default configs everywhere)."""
    laps = Laps()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        reports = state / "reports"
        reports.mkdir()
        snapshot, frame, folds = _data_stages(laps, n_assets, n_days, seed, reports, use_ge=True)
        deep_config = DeepFamiliesConfig()
        prices = family_prices(snapshot.panel, deep_config.families)
        deep = [train_deep_family(f, frame, folds, deep_config, prices, str(state / "checkpoints" / f))
                for f in deep_config.families]
        laps("deep_models")
        lgb = train_lightgbm(frame, folds)
        laps("lightgbm_model")
        ridge = train_ridge(frame, folds)
        laps("ridge_model")
        explain_deep_families({f.family: (f.result.models[-1], f.features) for f in deep}, frame, folds, reports)
        laps("deep_shap")
        permutation_importance(lgb.result.models, frame, folds, lgb.features, reports)
        laps("permutation_importance")
        oofs = {f.family: f.result.oof for f in (lgb, ridge, *deep)}
        fit_ensembles(snapshot, frame, oofs)
        laps("ensemble_weights")
        routing = route_regimes(snapshot, frame, oofs)
        routing.routing.write_parquet(reports / "routing.parquet")
        routing.regimes.write_parquet(reports / "regimes.parquet")
        laps("regime_routing")
        score_routed_ensemble(snapshot, frame.features, {f.family: f.final_model for f in (lgb, ridge, *deep)},
                              routing)
        laps("ensemble_model")
        explain_lightgbm(lgb.result.models, frame, folds, lgb.features, routing.regimes, reports)
        laps("shap_values")
        validate_families(snapshot, frame, oofs, routing.regimes, reports)
        laps("validation_report")
    return laps.timings


DIRECT = {"subset": direct_subset, "full": direct_full}
