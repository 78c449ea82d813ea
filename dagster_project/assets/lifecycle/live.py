"""Live scoring on daily partitions: the day's landed snapshot, scored by exactly the pinned champion.

Scores are also written to ``<state_dir>/live/scores/YYYY-MM-DD.parquet`` (``date, asset, score,
model_name, model_version, model_run_id``), the store the monitors read their trailing windows
from; the Dagster value of each partition is the same frame.
"""

import os
from pathlib import Path

import dagster as dg
import polars as pl

from dagster_project.resources import MlflowTracker, ModelRegistry, ProjectState
from dagster_project.types import ChampionRef
from quant_core.data.contracts import DataContractError, feature_columns
from quant_core.data.landing import read_daily_file, require_features
from quant_core.data.snapshot import content_hash

#: Business-day partitions (weekends excluded); end_offset=1 makes today's date a valid key, so a
#: file landed after today's close is scored tonight.
LIVE_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2010-01-01", end_offset=1,
                                               exclusions=["0 0 * * 6,0"])


def scores_path(state: ProjectState, day: str) -> Path:
    return state.path("live", "scores", f"{day}.parquet")


def read_scores(state: ProjectState, days: list[str], model_version: str | None = None) -> pl.DataFrame:
    """Stored live scores of ``days`` (those that exist), optionally of one model version only."""
    frames = [pl.read_parquet(p) for d in days if (p := scores_path(state, d)).exists()]
    if not frames:
        return pl.DataFrame(schema={"date": pl.Date, "asset": pl.String, "score": pl.Float64,
                                    "model_name": pl.String, "model_version": pl.String,
                                    "model_run_id": pl.String})
    scores = pl.concat(frames)
    return scores if model_version is None else scores.filter(pl.col("model_version") == model_version)


@dg.asset(group_name="live", partitions_def=LIVE_PARTITIONS)
def daily_snapshot(context: dg.AssetExecutionContext, champion_model: ChampionRef, registry: ModelRegistry,
                   state: ProjectState) -> dg.Output:
    """One trading date's features from the landing folder (YYYY-MM-DD.parquet), contract-checked
    and checked to carry every feature the pinned champion needs."""
    day = context.partition_key
    path = state.landing_dir / f"{day}.parquet"
    if not path.exists():
        raise dg.Failure(f"no landing file for {day}: expected {path}")
    try:
        frame = read_daily_file(path)
        require_features(frame, registry.feature_names(champion_model), str(path))
    except DataContractError as exc:
        raise dg.Failure(str(exc)) from exc
    version = content_hash(frame)
    return dg.Output(frame, data_version=dg.DataVersion(version), metadata={
        "path": dg.MetadataValue.path(str(path)),
        "n_assets": frame.height,
        "n_features": len(feature_columns(frame)),  # prices and volume are not features
        "data_version": version,
    })


@dg.asset(group_name="live", partitions_def=LIVE_PARTITIONS)
def live_scores(context: dg.AssetExecutionContext, daily_snapshot: pl.DataFrame, champion_model: ChampionRef,
                registry: ModelRegistry, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """The day's scores from exactly the pinned champion version, with that version beside each score."""
    champion = champion_model
    model = registry.load_model(champion)
    predictions = model.predict(daily_snapshot.to_pandas())
    scores = daily_snapshot.select(["date", "asset"]).with_columns(
        pl.Series("score", predictions, dtype=pl.Float64),
        pl.lit(champion.model_name).alias("model_name"),
        pl.lit(champion.version).alias("model_version"),
        pl.lit(champion.run_id).alias("model_run_id"),
    )
    path = scores_path(state, context.partition_key)
    tmp = path.with_suffix(".tmp")
    scores.write_parquet(tmp)
    os.replace(tmp, path)
    summary = {"n_scored": scores.height, "score_mean": float(scores["score"].mean()),
               "score_std": float(scores["score"].std())}
    with mlflow.asset_run(context, content_hash(daily_snapshot),
                          {"quantflow.family": champion.family, "quantflow.model_uri": champion.model_uri}) as run:
        run.log_metrics(summary)
    return dg.Output(scores, metadata={
        "model_uri": champion.model_uri,
        "model_version": champion.version,
        "mlflow_model_run_id": champion.run_id,
        "path": dg.MetadataValue.path(str(path)),
        **summary,
    })
