"""DeepLOB on order-book snapshots, judged on the latest events against the majority class."""

import dagster as dg
import polars as pl

from dagster_project.config import core, to_core
from dagster_project.metadata import markdown_table
from dagster_project.resources import MlflowTracker
from dagster_project.types import DeepLOBModel
from quant_core.data.snapshot import content_hash
from quant_core.stages import DeepLOBSpec, train_deeplob


class DeepLOBAssetConfig(dg.Config):
    window_events: int = core(DeepLOBSpec, "window_events")
    horizon_events: int = core(DeepLOBSpec, "horizon_events")
    threshold: float = core(DeepLOBSpec, "threshold")
    conv_channels: int = core(DeepLOBSpec, "conv_channels")
    inception_channels: int = core(DeepLOBSpec, "inception_channels")
    lstm_hidden: int = core(DeepLOBSpec, "lstm_hidden")
    max_epochs: int = core(DeepLOBSpec, "max_epochs")
    valid_fraction: float = core(DeepLOBSpec, "valid_fraction")
    test_fraction: float = core(DeepLOBSpec, "test_fraction")
    seed: int = core(DeepLOBSpec, "seed")


@dg.asset(group_name="orderbook")
def deeplob_model(context: dg.AssetExecutionContext, config: DeepLOBAssetConfig, orderbook_snapshots: pl.DataFrame,
                  mlflow: MlflowTracker) -> dg.Output:
    """DeepLOB (conv + inception + LSTM) on up/stationary/down labels, scored on the latest events."""
    fit = train_deeplob(orderbook_snapshots, to_core(config, DeepLOBSpec))
    metrics = dict(fit.metrics)
    data_version = content_hash(orderbook_snapshots)
    with mlflow.asset_run(context, data_version, {"quantflow.family": "deeplob"}) as run:
        run.log_params({**fit.params, "n_train": fit.n_train, "n_valid": fit.n_valid, "n_test": fit.n_test})
        run.log_metrics(metrics)
        for name, values in (fit.model.evals_result_ or {}).get("valid", {}).items():
            run.log_curve(f"valid_{name}", list(values))
        model_uri, _version = run.log_signal_model(fit.model, list(fit.features), mlflow.registered_name("deeplob"),
                                                   tags={"data_version": data_version})
    table = pl.DataFrame({"metric": list(metrics), "value": [float(v) for v in metrics.values()]})
    return dg.Output(DeepLOBModel(model=fit.model, metrics=metrics, model_uri=model_uri), metadata={
        "metrics": markdown_table(table),
        "beats_majority_by": metrics["accuracy"] - metrics["majority_class_accuracy"],
        "model_uri": model_uri,
    })
