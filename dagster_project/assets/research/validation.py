"""Validation reports of every model family: IC, Rank IC, ICIR and HAC significance."""

import dagster as dg

from dagster_project.metadata import image, markdown_table
from dagster_project.resources import MlflowTracker, ProjectState
from dagster_project.types import (
    FeatureSnapshot,
    ModellingFrame,
    RoutingResult,
    TradingBooks,
    TrainedFamilies,
    TrainedFamily,
    ValidationResult,
    members_of,
    oofs_of,
)
from quant_core.portfolio.report import trading_section
from quant_core.stages import validate_families


@dg.asset(group_name="research")
def validation_report(context: dg.AssetExecutionContext, feature_snapshots: FeatureSnapshot,
                      targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                      deep_models: TrainedFamilies, regime_routing: RoutingResult, pnl_attribution: TradingBooks,
                      mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """OOS IC, decay, stability, quantiles, diagnostics and multiple-testing per family, as HTML and JSON."""
    families = members_of(lightgbm_model, ridge_model, deep_models)
    result: ValidationResult = validate_families(
        feature_snapshots, targets, oofs_of(lightgbm_model, ridge_model, deep_models), regime_routing.regimes,
        state.reports_dir, model_uris={f.family: f.model_uri for f in families},
        trading_html={r.name: trading_section(r.name, r.summary(), {}) for r in pnl_attribution.results})
    table = result.summary_table()
    with mlflow.asset_run(context, targets.data_version) as run:
        for report in result.reports:
            run.log_artifact(report.html_path, "reports")
            run.log_artifact(report.png_path, "reports")
            run.log_artifact(report.json_path, "reports")
        run.log_metrics({f"{r.family}_rank_ic_mean": r.overall.rank_ic_mean for r in result.reports})
    metadata = {"summary": markdown_table(table.select(["model", "ic_mean", "rank_ic_mean", "rank_icir", "t_hac",
                                                        "p_hac", "n_dates"])),
                **{f"report_{r.family}": dg.MetadataValue.path(str(r.html_path)) for r in result.reports}}
    if result.oracle is not None:
        metadata["oracle_rank_ic_mean"] = float(result.oracle["rank_ic_mean"])
    metadata["rank_ic_lightgbm"] = image(result.by_family()["lightgbm"].png_path)
    return dg.Output(result, metadata=metadata)
