"""Time split generation of the date-aware splitters on a large panel.

Default: 5,000 dates x 3,000 assets = 15 million rows, label horizon 5 dates. Prints one JSON
object per splitter: {"name", "rows", "seconds", "peak_rss_mb"}. ``seconds`` covers building
the calendar and materialising every (train_idx, test_idx) pair (each pair is dropped before
the next, as a training loop would). ``peak_rss_mb`` is the process high-water mark so far.

    python benchmarks/bench_splits.py                  # full size
    python benchmarks/bench_splits.py --rows-scale 0.1 # 10% of the dates
    python benchmarks/bench_splits.py --shuffle        # rows not sorted by date
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

from quant_core.model_selection import CombinatorialPurgedKFold, PurgedKFold, WalkForward


def make_panel(n_dates: int, n_assets: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by (date, asset) on a business-day calendar; label_end = date + horizon dates."""
    calendar = np.busday_offset("2000-01-03", np.arange(n_dates + horizon), roll="forward")
    dates = np.repeat(calendar[:n_dates], n_assets)
    label_end = np.repeat(calendar[horizon : n_dates + horizon], n_assets)
    return dates, label_end


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows-scale", type=float, default=1.0, help="fraction of the 5000 dates")
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--shuffle", action="store_true", help="rows in random order")
    args = parser.parse_args(argv)
    n_dates = max(50, round(5000 * args.rows_scale))
    dates, label_end = make_panel(n_dates, args.assets, args.horizon)
    if args.shuffle:
        perm = np.random.default_rng(0).permutation(dates.shape[0])
        dates, label_end = dates[perm], label_end[perm]
    splitters = {
        "WalkForward(5, min_train_days=252)": WalkForward(
            5, min_train_days=min(252, n_dates // 2), embargo_days=5
        ),
        "PurgedKFold(5, embargo_days=5)": PurgedKFold(5, embargo_days=5),
        "CombinatorialPurgedKFold(6, 2, embargo_days=5)": CombinatorialPurgedKFold(
            6, 2, embargo_days=5
        ),
    }
    for name, splitter in splitters.items():
        start = time.perf_counter()
        for train_idx, test_idx in splitter.split(dates, label_end):
            del train_idx, test_idx
        seconds = time.perf_counter() - start
        record = {
            "name": name,
            "rows": int(dates.shape[0]),
            "splits": splitter.get_n_splits(),
            "shuffled": args.shuffle,
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
