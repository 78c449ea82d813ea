"""Validation reports of every model family: IC, Rank IC, ICIR and HAC significance."""

import dagster as dg
import polars as pl

from dagster_project.assets.metadata import image, markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker, ProjectState
from quant_core.data.dataset import ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.validation import (
    build_validation_report,
    ic_plot_png,
    pooled_ic_series,
    write_html_report,
)
from quant_core.validation.oracle import oracle_ic_summary
from quant_core.validation.trials import trial_ic_matrix


def _overall(report: dict) -> dict:
    """The pooled out-of-sample numbers of one report, flat."""
    rank, pearson = report["rank_ic"], report["ic"]
    return {"ic_mean": pearson["mean"], "rank_ic_mean": rank["mean"], "rank_icir": rank["icir"],
            "t_hac": rank["t_hac"], "p_hac": rank["p_hac"], "n_dates": rank["n"]}


@dg.asset(group_name="research")
def validation_report(context: dg.AssetExecutionContext, feature_snapshots: FeatureSnapshot,
                      targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                      deep_models: dict, regime_routing: dict, mlflow: MlflowTracker,
                      state: ProjectState) -> dg.Output:
    """OOS IC, decay, stability, quantiles, diagnostics and multiple-testing per family, as HTML and JSON."""
    families = [lightgbm_model, ridge_model, *deep_models.values()]
    panel = feature_snapshots.panel
    # every configuration this run tried, as per-date OOS Rank IC: PBO and the deflated Sharpe use them
    trials = trial_ic_matrix({f.family: f.result.oof for f in families})
    context_kwargs = {
        "prices": panel.select(["date", "asset", "close"]),
        "lag_days": targets.lag_days,
        "regimes": regime_routing["regimes"].select(["date", "regime"]),
        "sectors": panel.select(["date", "asset", "sector"]) if "sector" in panel.columns else None,
        "trials": trials,
    }
    reports, rows, paths = {}, [], {}
    oracle = None
    oracle_applies = (targets.horizon_days, targets.lag_days, targets.target_kind) == (1, 1, "raw")
    if feature_snapshots.oracle is not None and oracle_applies:
        oracle = oracle_ic_summary(feature_snapshots.oracle, lightgbm_model.result.oof)
    with mlflow.asset_run(context, targets.data_version) as run:
        for trained in families:
            report = build_validation_report(trained.family, trained.result.oof, horizon_days=targets.horizon_days,
                                             selected_trial=trained.family, **context_kwargs)
            report["model_uri"] = trained.model_uri
            report["overall"] = _overall(report)
            if oracle is not None:
                report["oracle"] = oracle
            path = state.reports_dir / f"validation_{trained.family}.html"
            rank_ic = pooled_ic_series(trained.result.oof)
            png_bytes = ic_plot_png(rank_ic, title=f"{trained.family}: out-of-sample Rank IC")
            write_html_report(report, rank_ic, path, ic_png=png_bytes)
            png = state.reports_dir / f"rank_ic_{trained.family}.png"
            png.write_bytes(png_bytes)
            run.log_artifact(path, "reports")
            run.log_artifact(png, "reports")
            run.log_json(report, f"reports/validation_{trained.family}.json")
            reports[trained.family] = report
            paths[trained.family] = str(path)
            overall = report["overall"]
            rows.append({"model": trained.family, **{k: overall[k] for k in
                         ("ic_mean", "rank_ic_mean", "rank_icir", "t_hac", "p_hac", "n_dates")}})
        table = pl.DataFrame(rows)
        run.log_metrics({f"{r['model']}_rank_ic_mean": r["rank_ic_mean"] for r in rows})
    metadata = {"summary": markdown_table(table), **{f"report_{k}": dg.MetadataValue.path(v)
                                                      for k, v in paths.items()}}
    if oracle is not None:
        metadata["oracle_rank_ic_mean"] = float(oracle["rank_ic_mean"])
    metadata["rank_ic_lightgbm"] = image(state.reports_dir / "rank_ic_lightgbm.png")
    return dg.Output({"models": reports, "oracle": oracle, "paths": paths}, metadata=metadata)
