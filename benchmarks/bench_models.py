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
"""

from __future__ import annotations

import argparse
import json
import os
import time

import polars as pl

FAMILIES = ("mlp", "lstm", "gru", "tcn", "transformer")


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


def bench_family(family: str, frame: pl.DataFrame, features: list[str], args) -> dict:
    """Fit ``family`` for ``args.epochs`` epochs (no early stopping) and time it."""
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=200)
    parser.add_argument("--n-days", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3, help="epoch 1 is warm-up (untimed)")
    parser.add_argument("--dates-per-batch", type=int, default=16)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads, 0 = every core")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    frame, features = modelling_frame(args.n_assets, args.n_days, args.seed)
    for family in args.families.split(","):
        print(json.dumps(bench_family(family.strip(), frame, features, args)), flush=True)


if __name__ == "__main__":
    main()
