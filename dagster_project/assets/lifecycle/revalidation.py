"""Weekly re-validation: the champion's exact recipe re-fitted on combinatorial purged CV splits.

The verdict is tagged on the champion's model version and shown by a (non-blocking) check,
``champion_revalidation_check`` in ``checks/revalidation.py``.
"""

import datetime as dt

import dagster as dg

from dagster_project.config import core, to_core
from dagster_project.metadata import markdown_table
from dagster_project.resources import MlflowTracker, ModelRegistry
from dagster_project.types import ChampionRef, ModellingFrame, RevalidationSummary
from quant_core.stages import RevalidationSpec, revalidate_recipe


class RevalidationConfig(dg.Config):
    n_splits: int = core(RevalidationSpec, "n_splits")
    n_test_splits: int = core(RevalidationSpec, "n_test_splits")
    embargo_days: int | None = core(RevalidationSpec, "embargo_days")


@dg.asset(group_name="revalidation")
def champion_revalidation(context: dg.AssetExecutionContext, config: RevalidationConfig, targets: ModellingFrame,
                          champion_model: ChampionRef, registry: ModelRegistry,
                          mlflow: MlflowTracker) -> dg.Output:
    """The champion's recipe re-fitted on every combinatorial purged CV split: Rank IC per backtest path."""
    champion = champion_model
    wrapper = registry.load_model(champion).unwrap_python_model()
    missing = sorted(set(wrapper.features) - set(targets.features))
    if missing:
        raise dg.Failure(f"{champion.model_uri} needs features {missing} that the current data lacks")
    try:
        result = revalidate_recipe(wrapper.model, targets, to_core(config, RevalidationSpec))
    except ValueError as exc:
        raise dg.Failure(str(exc)) from exc
    summary = RevalidationSummary(champion_version=champion.version, model_uri=champion.model_uri,
                                  validation_rank_ic=champion.validation_rank_ic,
                                  data_version=targets.data_version, result=result)
    numbers = summary.numbers()
    registry.tag_version(champion.model_name, champion.version, {
        f"quantflow.revalidation.{k}": v for k, v in numbers.items() if k != "champion_version"
    } | {"quantflow.revalidation.at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
         "quantflow.revalidation.dagster_run_id": context.run.run_id})
    with mlflow.asset_run(context, targets.data_version, {"quantflow.family": champion.family,
                                                          "quantflow.model_uri": champion.model_uri}) as run:
        run.log_params({"n_splits": config.n_splits, "n_test_splits": config.n_test_splits,
                        "embargo_days": result.embargo_days, "model_uri": champion.model_uri})
        run.log_metrics(numbers)
        run.log_json({"summary": numbers, "paths": result.paths.to_dicts()}, "revalidation/cpcv_paths.json")
    return dg.Output(summary, metadata={
        **{k: v for k, v in numbers.items() if k != "data_version"},
        "paths": markdown_table(result.paths),
        "model_uri": champion.model_uri,
    })
