"""Daily monitors of the champion: Evidently drift against its training reference, realised Rank IC.

Both are daily-partitioned and run right after ``live_scores``; ``drift_ic_sensor`` reads the
flags they record in their metadata (``dataset_drift``, ``prediction_drift``, ``ic_decayed``).
"""

import dagster as dg
import polars as pl

from dagster_project.assets.lifecycle.live import LIVE_PARTITIONS, read_scores
from dagster_project.config import core
from dagster_project.metadata import markdown_table
from dagster_project.resources import MlflowTracker, ModelRegistry, ProjectState
from dagster_project.types import ChampionRef
from quant_core.data.landing import landed_files, read_landed_window
from quant_core.monitoring.evidently_drift import drift_report as evidently_drift_report
from quant_core.monitoring.realized_ic import ic_decay, realized_rank_ic
from quant_core.stages import DriftSpec, RealizedICSpec
from quant_registry.lineage import REFERENCE_ARTIFACT


class DriftConfig(dg.Config):
    window_days: int = core(DriftSpec, "window_days")
    drift_share: float = core(DriftSpec, "drift_share")
    method: str | None = core(DriftSpec, "method")
    threshold: float | None = core(DriftSpec, "threshold")
    keep_html: bool = core(DriftSpec, "keep_html")


@dg.asset(group_name="live", partitions_def=LIVE_PARTITIONS)
def drift_report(context: dg.AssetExecutionContext, config: DriftConfig, live_scores: pl.DataFrame,
                 champion_model: ChampionRef, registry: ModelRegistry, mlflow: MlflowTracker,
                 state: ProjectState) -> dg.Output:
    """Evidently data drift of the newest landed dates and prediction drift of the champion's scores."""
    day, champion = context.partition_key, champion_model
    try:
        reference = registry.read_parquet_artifact(champion.run_id, REFERENCE_ARTIFACT)
    except FileNotFoundError as exc:
        raise dg.Failure(f"champion {champion.model_uri} has no training reference: {exc}") from exc
    features = [c for c in reference.columns if c not in ("date", "asset", "score")]
    current = read_landed_window(state.landing_dir, day, config.window_days, ["date", "asset", *features])
    window_days = current["date"].unique().sort().cast(pl.String).to_list()
    scores = read_scores(state, window_days, model_version=champion.version)
    current = current.join(scores.select(["date", "asset", "score"]), on=["date", "asset"], how="left")
    html = state.reports_dir / "drift" / f"drift_{day}.html"
    result = evidently_drift_report(reference, current, features, prediction="score",
                                    drift_share=config.drift_share, method=config.method,
                                    threshold=config.threshold, html_path=html)
    full = len(window_days) >= config.window_days  # judge only a full window
    summary = {
        "dataset_drift": full and result.dataset_drift,
        "prediction_drift": full and bool(result.prediction_drift),
        "window_full": full,
        "verdict": ("judged on a full window" if full else
                    f"not judged: {len(window_days)} of {config.window_days} window dates have landed, so no "
                    f"drift is flagged yet (share drifted so far {result.share_drifted:.0%})"),
        "share_drifted": result.share_drifted,
        "n_drifted": result.n_drifted,
        "drifted_features": result.drifted_features,
        "prediction_drift_score": result.prediction_score,
        "champion_version": champion.version,
        "window": [window_days[0], window_days[-1]],
    }
    keep = config.keep_html or summary["dataset_drift"] or summary["prediction_drift"]
    if not keep:  # a 505-asset page is ~15 MB: kept for the days that need a look
        html.unlink(missing_ok=True)
    with mlflow.asset_run(context, champion.data_version,
                          {"quantflow.model_uri": champion.model_uri}) as run:
        if keep:
            run.log_artifact(html, "drift")
        run.log_metrics({k: float(v) for k, v in summary.items() if isinstance(v, (bool, int, float))})
        run.log_json({**summary, "columns": result.columns.to_dicts()}, f"drift/drift_{day}.json")
    return dg.Output(summary, metadata={
        "dataset_drift": summary["dataset_drift"],
        "prediction_drift": summary["prediction_drift"],
        "window_full": full,
        "verdict": summary["verdict"],
        "share_drifted": result.share_drifted,
        "drifted_features": ", ".join(result.drifted_features) or "none",
        "prediction_drift_score": result.prediction_score if result.prediction_score is not None else float("nan"),
        "champion_version": champion.version,
        "window": f"{window_days[0]} .. {window_days[-1]} ({len(window_days)} dates)",
        "columns": markdown_table(result.columns),
        "report": dg.MetadataValue.path(str(html)) if keep else "not kept: no drift flagged (keep_html keeps every day)",
    })


class RealizedICConfig(dg.Config):
    window_days: int = core(RealizedICSpec, "window_days")
    min_dates: int = core(RealizedICSpec, "min_dates")
    alpha: float = core(RealizedICSpec, "alpha")


@dg.asset(group_name="live", partitions_def=LIVE_PARTITIONS)
def realized_ic(context: dg.AssetExecutionContext, config: RealizedICConfig, live_scores: pl.DataFrame,
                champion_model: ChampionRef, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """The champion's live Rank IC as labels arrive, against its out-of-sample validation Rank IC."""
    day, champion = context.partition_key, champion_model
    n_days = config.window_days + champion.lag_days + champion.horizon_days
    days = [d for d in landed_files(state.landing_dir) if d <= day][-n_days:]
    closes = read_landed_window(state.landing_dir, day, n_days)
    if "close" not in closes.columns or closes["close"].null_count() == closes.height:
        ic = pl.DataFrame(schema={"date": pl.Date, "ic": pl.Float64, "n": pl.Int64})
        status = "no close prices in the landing files: realised IC unavailable"
    else:
        scores = read_scores(state, days, model_version=champion.version)
        ic = realized_rank_ic(scores, closes.select(["date", "asset", "close"]),
                              horizon_days=champion.horizon_days, lag_days=champion.lag_days)
        ic = ic.tail(config.window_days)
        status = "ok"
    decay = ic_decay(ic, champion.validation_rank_ic, horizon_days=champion.horizon_days,
                     alpha=config.alpha, min_dates=config.min_dates)
    summary = {**decay.to_dict(), "status": status, "champion_version": champion.version,
               "ic_decayed": decay.decayed, "per_date": ic.with_columns(pl.col("date").cast(pl.String)).to_dicts()}
    with mlflow.asset_run(context, champion.data_version, {"quantflow.model_uri": champion.model_uri}) as run:
        run.log_metrics({"live_rank_ic_mean": decay.live_rank_ic, "n_label_dates": decay.n_dates,
                         "validation_rank_ic": decay.validation_rank_ic, "p_value": decay.p_value,
                         "ic_decayed": float(decay.decayed)})
        run.log_json(summary, f"realized_ic/realized_ic_{day}.json")
    return dg.Output(summary, metadata={
        "ic_decayed": decay.decayed,
        "live_rank_ic_mean": decay.live_rank_ic,
        "validation_rank_ic": decay.validation_rank_ic,
        "n_label_dates": decay.n_dates,
        "p_value": decay.p_value,
        "reason": decay.reason if status == "ok" else status,
        "champion_version": champion.version,
        "per_date_ic": markdown_table(ic),
    })
