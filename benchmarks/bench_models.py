"""Training throughput of the torch families (samples per second) on CPU or CUDA.

Fits every family with one fixed small config on the synthetic market and prints one JSON
object per family::

    {"family", "device", "device_name", "torch_threads", "torch_version", "rows", "seq_len",
     "epochs", "dates_per_batch", "train_samples_per_second", "fit_seconds",
     "predict_rows_per_second", "n_parameters", "load_average_1min"}

``train_samples_per_second`` counts training rows processed per second of the training loop
(forward, backward, optimiser step), epoch 1 excluded as warm-up. ``fit_seconds`` is the whole
``fit`` (data preparation included). ``load_average_1min`` says how busy the machine was: on a
shared machine, compare runs only at similar load. The same script runs on a GPU machine:

    python benchmarks/bench_models.py                    # device auto: CUDA if present
    python benchmarks/bench_models.py --device cpu --threads 2
    python benchmarks/bench_models.py --n-assets 500 --n-days 1000 --epochs 4

``gnn`` is fitted with the market's ``close`` and ``sector`` as its graph's data (default
graph: sector peers plus 5 trailing-correlation neighbours per asset and date); ``deeplob`` on the simulated order book
(``quant_core.data.orderbook_sim``), ``--lob-events`` snapshots with the paper's network (T=100
events, 32/64/64 channels) unless ``--lob-tiny``; its ``rows`` are snapshots, ``seq_len`` the
window in events and ``dates_per_batch`` is null (it batches ``batch_size`` windows).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import polars as pl

FAMILIES = ("mlp", "lstm", "gru", "tcn", "transformer")
GRAPH_AND_LOB = ("gnn", "deeplob")


def modelling_frame(n_assets: int, n_days: int, seed: int) -> tuple[pl.DataFrame, list[str]]:
    """Synthetic panel joined with its 1-day forward return (lag 1)."""
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.targets import forward_returns

    market = simulate_market(SyntheticMarketConfig(n_assets=n_assets, n_days=n_days, seed=seed))
    features = list(market.feature_names)
    targets = forward_returns(market.panel, horizon_days=1, lag_days=1)
    frame = (
        market.panel.select("date", "asset", *features)
        .join(targets, on=["date", "asset"], how="inner")
        .sort(["date", "asset"])
    )
    return frame, features


def bench_family(
    family: str, frame: pl.DataFrame, features: list[str], args, extra: dict | None = None
) -> dict:
    """Fit ``family`` for ``args.epochs`` epochs (no early stopping) and time it.

    ``extra`` sets attributes on the built model before fitting (the gnn's ``prices``).
    """
    import torch

    from quant_core.models import build_model

    threads: list[int] = []
    config = {
        "max_epochs": args.epochs,
        "patience": 0,
        "device": args.device,
        "num_threads": args.threads,
        "dates_per_batch": args.dates_per_batch,
        "progress": "off",
    }
    model = build_model(family, features, config)
    for name, value in (extra or {}).items():
        setattr(model, name, value)
    model.callbacks = (lambda record: threads.append(torch.get_num_threads()),)
    started = time.perf_counter()
    model.fit(frame)
    fit_seconds = time.perf_counter() - started
    timed = model.history_[1:] or model.history_
    train_seconds = sum(h["train_seconds"] for h in timed)
    rows = sum(h["n_train_rows"] for h in timed)
    started = time.perf_counter()
    model.predict(frame)
    predict_seconds = time.perf_counter() - started
    return {
        "family": family,
        "device": model.device_,
        "device_name": (
            torch.cuda.get_device_name() if model.device_.startswith("cuda") else "cpu"
        ),
        "torch_threads": threads[-1],
        "torch_version": torch.__version__,
        "rows": frame.height,
        "seq_len": int(model.seq_len),
        "epochs": len(model.history_),
        "dates_per_batch": args.dates_per_batch,
        "train_samples_per_second": round(rows / train_seconds, 1),
        "fit_seconds": round(fit_seconds, 3),
        "predict_rows_per_second": round(frame.height / predict_seconds, 1),
        "n_parameters": sum(p.numel() for p in model.module_.parameters()),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def market_prices(n_assets: int, n_days: int, seed: int) -> pl.DataFrame:
    """The ``date, asset, close, sector`` panel behind :func:`modelling_frame` (same market)."""
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

    market = simulate_market(SyntheticMarketConfig(n_assets=n_assets, n_days=n_days, seed=seed))
    return market.panel.select("date", "asset", "close", "sector")


def bench_gnn(frame: pl.DataFrame, features: list[str], args) -> dict:
    """The graph attention family, its graph built from the market's closes and sectors."""
    prices = market_prices(args.n_assets, args.n_days, args.seed)
    return bench_family("gnn", frame, features, args, extra={"prices": prices})


def bench_deeplob(args) -> dict:
    """DeepLOB on the simulated order book: train windows per second (epoch 1 untimed)."""
    import torch

    from quant_core.data.orderbook_sim import OrderBookSimConfig, simulate_orderbook
    from quant_core.models import DeepLOBClassifier

    book = simulate_orderbook(OrderBookSimConfig(n_events=args.lob_events, seed=args.seed)).book
    sizes = (
        {"window_events": 20, "norm_window_events": 200, "conv_channels": 8,
         "inception_channels": 8, "lstm_hidden": 16}
        if args.lob_tiny
        else {"window_events": 100, "norm_window_events": 1000}
    )  # fmt: skip
    threads: list[int] = []
    trainer = {"max_epochs": args.epochs, "patience": 0, "device": args.device,
               "num_threads": args.threads, "progress": "off"}  # fmt: skip
    model = DeepLOBClassifier(batch_size=args.lob_batch_size, trainer=trainer, **sizes)
    model.callbacks = (lambda record: threads.append(torch.get_num_threads()),)
    started = time.perf_counter()
    model.fit(book)
    fit_seconds = time.perf_counter() - started
    timed = model.history_[1:] or model.history_
    rows = sum(h["n_train_rows"] for h in timed)
    started = time.perf_counter()
    model.predict_proba(book)
    predict_seconds = time.perf_counter() - started
    return {
        "family": "deeplob",
        "device": model.device_,
        "device_name": (
            torch.cuda.get_device_name() if model.device_.startswith("cuda") else "cpu"
        ),
        "torch_threads": threads[-1],
        "torch_version": torch.__version__,
        "rows": book.height,
        "seq_len": model.window_events,
        "epochs": len(model.history_),
        "dates_per_batch": None,
        "batch_size": model.batch_size,
        "train_windows": model.n_train_windows_,
        "train_samples_per_second": round(rows / sum(h["train_seconds"] for h in timed), 1),
        "fit_seconds": round(fit_seconds, 3),
        "predict_rows_per_second": round(book.height / predict_seconds, 1),
        "n_parameters": sum(p.numel() for p in model.module_.parameters()),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=200)
    parser.add_argument("--n-days", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3, help="epoch 1 is warm-up (untimed)")
    parser.add_argument("--dates-per-batch", type=int, default=16)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads, 0 = every core")
    parser.add_argument("--families", default=",".join(FAMILIES + GRAPH_AND_LOB))
    parser.add_argument("--lob-events", type=int, default=2000, help="deeplob: book snapshots")
    parser.add_argument("--lob-batch-size", type=int, default=64, help="deeplob: windows/batch")
    parser.add_argument("--lob-tiny", action="store_true", help="deeplob: the tests' tiny net")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    frame, features = modelling_frame(args.n_assets, args.n_days, args.seed)
    for family in (f.strip() for f in args.families.split(",")):
        if family == "gnn":
            record = bench_gnn(frame, features, args)
        elif family == "deeplob":
            record = bench_deeplob(args)
        else:
            record = bench_family(family, frame, features, args)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
