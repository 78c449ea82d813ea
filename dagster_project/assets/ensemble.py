"""Ensemble weights fitted on out-of-fold predictions, judged on later dates they never saw."""

from typing import Literal

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.assets.types import TrainedFamily
from dagster_project.resources import MlflowTracker
from quant_core.data.dataset import ModellingFrame
from quant_core.ensemble import fit_blend
from quant_core.validation import fold_ic_table


class EnsembleConfig(dg.Config):
    method: Literal["equal", "ic_weighted", "rank_average", "nnls"] = Field(
        default="ic_weighted", description="How member signals are weighted"
    )
    outer_test_fraction: float = Field(default=0.3, description="Latest share of OOF dates held out to judge the blend")


@dg.asset(group_name="research")
def ensemble_weights(context: dg.AssetExecutionContext, config: EnsembleConfig, targets: ModellingFrame,
                     lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                     mlflow: MlflowTracker) -> dg.Output:
    """Blend of the model families fitted on out-of-fold predictions only, with its held-out IC."""
    members = [lightgbm_model, ridge_model]
    wide = members[0].result.oof.select(["date", "asset", "target"])
    for trained in members:
        wide = wide.join(trained.result.oof.select(["date", "asset", pl.col("prediction").alias(trained.family)]),
                         on=["date", "asset"], how="inner")
    names = [m.family for m in members]
    blend = fit_blend(wide, names, method=config.method, outer_test_fraction=config.outer_test_fraction)
    scored = blend.eval_frame.with_columns(pl.lit(0).alias("fold"))
    table = pl.concat([
        fold_ic_table(scored, signal=name, horizon_days=targets.horizon_days)
        .filter(pl.col("fold") == "overall").with_columns(pl.lit(name).alias("fold"))
        for name in ["ensemble", *names]
    ]).rename({"fold": "signal"})
    ensemble_row = table.row(0, named=True)
    with mlflow.asset_run(context, targets.data_version) as run:
        run.log_params({"method": config.method, "outer_test_fraction": config.outer_test_fraction,
                        **{f"weight_{k}": v for k, v in blend.weights.items()}})
        run.log_metrics({f"eval_{r['signal']}_rank_ic_mean": r["rank_ic_mean"] for r in table.iter_rows(named=True)})
        run.log_json({"weights": blend.weights, "members": {m.family: m.model_uri for m in members},
                      "fit_dates": [str(d) for d in blend.fit_dates],
                      "eval_dates": [str(d) for d in blend.eval_dates]}, "ensemble/weights.json")
    summary = {
        "method": config.method,
        "weights": blend.weights,
        "members": {m.family: m.model_uri for m in members},
        "fit_dates": [str(d) for d in blend.fit_dates],
        "eval_dates": [str(d) for d in blend.eval_dates],
        "eval": {r["signal"]: r for r in table.iter_rows(named=True)},
        "oos_rank_ic_mean": ensemble_row["rank_ic_mean"],
        "oos_ic_mean": ensemble_row["ic_mean"],
        "oos_rank_icir": ensemble_row["rank_icir"],
    }
    return dg.Output(summary, metadata={
        "weights": markdown_table(pl.DataFrame({"member": list(blend.weights), "weight": list(blend.weights.values())})),
        "held_out_ic": markdown_table(table),
        "eval_dates": f"{blend.eval_dates[0]} .. {blend.eval_dates[1]}",
    })
