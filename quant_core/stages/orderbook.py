"""Stage: order-book research. Snapshots from a file or the simulator, a time split per asset,
and DeepLOB judged on the latest events against the majority class of its training labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from quant_core.config_fields import described
from quant_core.data.orderbook_io import infer_levels, read_orderbook
from quant_core.data.orderbook_sim import OrderBookSimConfig, simulate_orderbook
from quant_core.models import build_model
from quant_core.models.torch.deeplob import classification_metrics
from quant_core.models.torch.lob_data import lob_feature_columns

__all__ = ["BookSource", "DeepLOBFit", "DeepLOBSpec", "load_book", "time_split", "train_deeplob"]


@dataclass(frozen=True)
class BookSource:
    book_path: str = described("", "Order-book file (canonical or ts_ms layout); empty = simulator")
    asset: str = described("BOOK", "Asset name for a one-asset ts_ms file")
    levels: int = described(10, "Book levels used")
    sim_events: int = described(6000, "Simulator: snapshots per asset")
    sim_seed: int = described(0, "Simulator: seed")


def load_book(source: BookSource) -> tuple[pl.DataFrame, str]:
    """Contract-checked snapshots ``timestamp, asset, ask_px_1, ask_sz_1, bid_px_1, ...`` and a
    description of where they came from."""
    if source.book_path:
        return read_orderbook(source.book_path, asset=source.asset, levels=source.levels), source.book_path
    book = simulate_orderbook(OrderBookSimConfig(n_events=source.sim_events, levels=source.levels,
                                                 seed=source.sim_seed)).book
    return book, f"simulator(n_events={source.sim_events}, seed={source.sim_seed})"


@dataclass(frozen=True)
class DeepLOBSpec:
    window_events: int = described(20, "Snapshots in each input window")
    horizon_events: int = described(10, "Label horizon k (smoothed mid change over k events)")
    threshold: float = described(2e-4, "Relative mid change that counts as up/down")
    conv_channels: int = described(8, "Channels of the convolution blocks (paper: 32)")
    inception_channels: int = described(16, "Channels per inception branch (paper: 64)")
    lstm_hidden: int = described(16, "LSTM units (paper: 64)")
    max_epochs: int = described(4, "Maximum epochs (early stopping on the validation slice)")
    valid_fraction: float = described(0.15, "Share of events (before the test tail) for early stopping")
    test_fraction: float = described(0.25, "Latest share of events held out for evaluation")
    seed: int = described(0, "Seed")

    def model_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("window_events", "horizon_events", "threshold", "conv_channels",
                                              "inception_channels", "lstm_hidden", "max_epochs", "seed")}


def time_split(book: pl.DataFrame, valid_fraction: float, test_fraction: float):
    """Per asset, the earliest events train, the next validate, the latest are the test tail."""
    if not (0 < test_fraction < 1 and 0 < valid_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError(f"valid_fraction + test_fraction must be in (0, 1), got {valid_fraction}, {test_fraction}")
    position = (pl.int_range(pl.len()) / pl.len()).over("asset")
    train_end, valid_end = 1 - test_fraction - valid_fraction, 1 - test_fraction
    ordered = book.sort(["asset", "timestamp"])
    return (ordered.filter(position < train_end), ordered.filter((position >= train_end) & (position < valid_end)),
            ordered.filter(position >= valid_end))


@dataclass(frozen=True)
class DeepLOBFit:
    """The fitted classifier, its test metrics (with the majority-class baseline) and split sizes."""

    model: Any
    features: tuple[str, ...]
    metrics: Mapping[str, float]
    params: Mapping[str, Any]
    n_train: int
    n_valid: int
    n_test: int


def train_deeplob(book: pl.DataFrame, spec: DeepLOBSpec = DeepLOBSpec()) -> DeepLOBFit:
    """DeepLOB on up/stationary/down labels; accuracy against always predicting the class most
    frequent in the training labels (a book signal must beat that to be worth anything)."""
    train, valid, test = time_split(book, spec.valid_fraction, spec.test_fraction)
    params = spec.model_params()
    features = lob_feature_columns(infer_levels(book.columns))
    model = build_model("deeplob", features, {**params, "progress": "off"}).fit(train, valid)
    labels = model.labels(test)
    proba = model.predict_proba(test)
    known = labels >= 0
    metrics = classification_metrics(labels[known], proba[known])
    train_labels = model.labels(train)
    majority = int(np.bincount(train_labels[train_labels >= 0], minlength=3).argmax())
    metrics["majority_class_accuracy"] = float(np.mean(labels[known] == majority))
    metrics["n_test_windows"] = int(known.sum())
    return DeepLOBFit(model=model, features=tuple(features), metrics=metrics, params=params,
                      n_train=train.height, n_valid=valid.height, n_test=test.height)
