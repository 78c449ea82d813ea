"""Order-book research: snapshots (a file or the simulator) and a DeepLOB classifier judged on a later tail."""

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from dagster_project.assets.metadata import markdown_table
from dagster_project.resources import MlflowTracker
from quant_core.data.orderbook_io import infer_levels, read_orderbook
from quant_core.data.orderbook_sim import OrderBookSimConfig, simulate_orderbook
from quant_core.data.snapshot import content_hash
from quant_core.models import build_model
from quant_core.models.torch.deeplob import classification_metrics
from quant_core.models.torch.lob_data import lob_feature_columns


class OrderBookConfig(dg.Config):
    book_path: str = Field(default="", description="Order-book file (canonical or ts_ms layout); empty = simulator")
    asset: str = Field(default="BOOK", description="Asset name for a one-asset ts_ms file")
    levels: int = Field(default=10, description="Book levels used")
    sim_events: int = Field(default=6000, description="Simulator: snapshots per asset")
    sim_seed: int = Field(default=0, description="Simulator: seed")


class DeepLOBAssetConfig(dg.Config):
    window_events: int = Field(default=20, description="Snapshots in each input window")
    horizon_events: int = Field(default=10, description="Label horizon k (smoothed mid change over k events)")
    threshold: float = Field(default=2e-4, description="Relative mid change that counts as up/down")
    conv_channels: int = Field(default=8, description="Channels of the convolution blocks (paper: 32)")
    inception_channels: int = Field(default=16, description="Channels per inception branch (paper: 64)")
    lstm_hidden: int = Field(default=16, description="LSTM units (paper: 64)")
    max_epochs: int = Field(default=4, description="Maximum epochs (early stopping on the validation slice)")
    valid_fraction: float = Field(default=0.15, description="Share of events (before the test tail) for early stopping")
    test_fraction: float = Field(default=0.25, description="Latest share of events held out for evaluation")
    seed: int = Field(default=0, description="Seed")


@dg.asset(group_name="orderbook")
def orderbook_snapshots(config: OrderBookConfig) -> dg.Output:
    """Contract-checked order-book snapshots (timestamp, asset, L levels of prices and sizes)."""
    if config.book_path:
        book = read_orderbook(config.book_path, asset=config.asset, levels=config.levels)
        source = config.book_path
    else:
        book = simulate_orderbook(OrderBookSimConfig(n_events=config.sim_events, levels=config.levels,
                                                     seed=config.sim_seed)).book
        source = f"simulator(n_events={config.sim_events}, seed={config.sim_seed})"
    return dg.Output(book, metadata={"source": source, "n_rows": book.height, "levels": config.levels,
                                     "assets": book["asset"].n_unique(), "data_version": content_hash(book)})


def time_split(book: pl.DataFrame, valid_fraction: float, test_fraction: float):
    """Per asset, the earliest events train, the next validate, the latest are the test tail."""
    if not (0 < test_fraction < 1 and 0 < valid_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError(f"valid_fraction + test_fraction must be in (0, 1), got {valid_fraction}, {test_fraction}")
    position = (pl.int_range(pl.len()) / pl.len()).over("asset")
    train_end, valid_end = 1 - test_fraction - valid_fraction, 1 - test_fraction
    ordered = book.sort(["asset", "timestamp"])
    return (ordered.filter(position < train_end), ordered.filter((position >= train_end) & (position < valid_end)),
            ordered.filter(position >= valid_end))


@dg.asset(group_name="orderbook")
def deeplob_model(context: dg.AssetExecutionContext, config: DeepLOBAssetConfig, orderbook_snapshots: pl.DataFrame,
                  mlflow: MlflowTracker) -> dg.Output:
    """DeepLOB (conv + inception + LSTM) on up/stationary/down labels, scored on the latest events."""
    train, valid, test = time_split(orderbook_snapshots, config.valid_fraction, config.test_fraction)
    params = {k: getattr(config, k) for k in ("window_events", "horizon_events", "threshold", "conv_channels",
                                              "inception_channels", "lstm_hidden", "max_epochs", "seed")}
    levels = infer_levels(orderbook_snapshots.columns)
    model = build_model("deeplob", lob_feature_columns(levels), {**params, "progress": "off"}).fit(train, valid)
    labels = model.labels(test)
    proba = model.predict_proba(test)
    known = labels >= 0
    metrics = classification_metrics(labels[known], proba[known])
    train_labels = model.labels(train)
    majority = int(np.bincount(train_labels[train_labels >= 0], minlength=3).argmax())
    metrics["majority_class_accuracy"] = float(np.mean(labels[known] == majority))
    metrics["n_test_windows"] = int(known.sum())
    data_version = content_hash(orderbook_snapshots)
    with mlflow.asset_run(context, data_version, {"quantflow.family": "deeplob"}) as run:
        run.log_params({**params, "n_train": train.height, "n_valid": valid.height, "n_test": test.height})
        run.log_metrics(metrics)
        for name, values in (model.evals_result_ or {}).get("valid", {}).items():
            run.log_curve(f"valid_{name}", list(values))
        model_uri, _version = run.log_signal_model(model, lob_feature_columns(levels), mlflow.registered_name("deeplob"),
                                                  tags={"data_version": data_version})
    table = pl.DataFrame({"metric": list(metrics), "value": [float(v) for v in metrics.values()]})
    return dg.Output({"model": model, "metrics": metrics, "model_uri": model_uri}, metadata={
        "metrics": markdown_table(table),
        "beats_majority_by": metrics["accuracy"] - metrics["majority_class_accuracy"],
        "model_uri": model_uri,
    })
