"""Time and peak memory of the Alpha158-style feature set, against a pandas groupby-rolling peer.

Default: 3,000 assets x 2,500 days of synthetic OHLCV (7.5 million rows, 157 features). Each
measurement runs in its own subprocess so its peak RSS (``ru_maxrss``) is its own; the data are
generated inside that subprocess, and the RSS right before the feature build is reported too.
The pandas reference (``benchmarks/alpha158_pandas.py``, one rolling call per operator, window
and asset) would take far too long at full size, so it is timed on a slice of the first
``--pandas-assets`` assets, the polars library on the same slice, and the ratio is reported both
on that slice and per row against the full-size polars run. Prints one JSON document.

    python benchmarks/bench_features.py                    # full size
    python benchmarks/bench_features.py --quick            # 300 x 500, pandas on 30 assets
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def synthetic_ohlcv(n_assets: int, n_days: int, seed: int = 0):
    """A long OHLCV frame sorted by (date, asset); asset i's path depends only on (seed, i), so
    the first k assets are the same whatever ``n_assets`` is."""
    import polars as pl

    close = np.empty((n_days, n_assets))
    spread = np.empty((3, n_days, n_assets))
    volume = np.empty((n_days, n_assets))
    for i in range(n_assets):
        rng = np.random.default_rng([seed, i])
        close[:, i] = 50 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n_days)))
        spread[:, :, i] = rng.normal(0.0, 0.01, (3, n_days))
        volume[:, i] = np.round(rng.lognormal(12.0, 0.5, n_days))
    opened = close * (1 + spread[0])
    high = np.maximum(np.maximum(opened, close), close * (1 + np.abs(spread[1])))
    low = np.minimum(np.minimum(opened, close), close * (1 - np.abs(spread[2])))
    dates = np.datetime64("2010-01-04") + np.arange(n_days).astype("timedelta64[D]")
    names = np.array([f"A{i:05d}" for i in range(n_assets)])
    return pl.DataFrame({
        "date": np.repeat(dates, n_assets), "asset": np.tile(names, n_days),
        "open": opened.ravel(), "high": high.ravel(), "low": low.ravel(), "close": close.ravel(),
        "volume": volume.ravel(),
    })


def _rss_mb(kind: int = resource.RUSAGE_SELF) -> float:
    peak = resource.getrusage(kind).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def child(engine: str, n_assets: int, n_days: int) -> dict:
    """One measurement, run in a fresh process."""
    panel = synthetic_ohlcv(n_assets, n_days)
    rss_before = _current_rss_mb()
    started = time.perf_counter()
    if engine == "polars":
        from quant_core.features import build_features, default_feature_set

        names = default_feature_set(panel)
        out = build_features(panel.lazy(), names).collect()
        n_features = len(names)
    else:
        sys.path.insert(0, str(ROOT))
        from benchmarks.alpha158_pandas import alpha158_pandas

        out = alpha158_pandas(panel.to_pandas())
        n_features = out.shape[1] - 2
    seconds = time.perf_counter() - started
    return {"engine": engine, "n_assets": n_assets, "n_days": n_days, "rows": panel.height,
            "n_features": n_features, "out_shape": list(out.shape),
            "seconds": round(seconds, 2), "rows_per_second": round(panel.height / seconds),
            "rss_before_build_mb": round(rss_before, 1), "peak_rss_mb": round(_rss_mb(), 1)}


def _run_child(engine: str, n_assets: int, n_days: int, threads: int) -> dict:
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine,
           "--n-assets", str(n_assets), "--n-days", str(n_days)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=3000)
    parser.add_argument("--n-days", type=int, default=2500)
    parser.add_argument("--pandas-assets", type=int, default=300,
                        help="assets in the slice both engines are timed on")
    parser.add_argument("--threads", type=int, default=2, help="POLARS_MAX_THREADS")
    parser.add_argument("--quick", action="store_true", help="300 x 500, pandas on 30 assets")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--child", choices=["polars", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.n_assets, args.n_days)))
        return
    if args.quick:
        args.n_assets, args.n_days, args.pandas_assets = 300, 500, 30
    full = _run_child("polars", args.n_assets, args.n_days, args.threads)
    result = {
        "benchmark": "alpha158_features",
        "threads": args.threads, "cpus": os.cpu_count(),
        "polars_full": full,
        "targets": {"seconds": 60, "peak_rss_mb": 8192},
        "within_targets": full["seconds"] <= 60 and full["peak_rss_mb"] <= 8192,
    }
    if not args.skip_pandas:
        slice_assets = min(args.pandas_assets, args.n_assets)
        polars_slice = _run_child("polars", slice_assets, args.n_days, args.threads)
        pandas_slice = _run_child("pandas", slice_assets, args.n_days, args.threads)
        result.update({
            "polars_slice": polars_slice, "pandas_slice": pandas_slice,
            "speedup_same_slice": round(pandas_slice["seconds"] / polars_slice["seconds"], 1),
            "speedup_per_row_full_vs_pandas_slice": round(
                full["rows_per_second"] / pandas_slice["rows_per_second"], 1),
            "note": (f"pandas timed on the first {slice_assets} of {args.n_assets} assets (the "
                     "full size would take too long); speedup_per_row compares rows per second "
                     "of the full polars run with the pandas slice"),
        })
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
