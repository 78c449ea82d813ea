"""Time ``ic_series`` against alphalens-reloaded and Qlib on the same panel.

Default: 2,500 dates x 3,000 assets = 7.5 million rows of a random signal and forward return.
Prints one JSON object per measurement: {"name", "dates", "assets", "rows", "seconds", ...}.

* ``quant_core ic_series``: Spearman (Rank IC) and Pearson, best of ``--repeat`` runs.
* ``alphalens factor_information_coefficient`` (Spearman per date via a pandas groupby
  apply), timed once on every date (``--alphalens-dates N`` times the first N dates and
  extrapolates linearly, with ``"extrapolated": true``). Skipped when alphalens is not
  importable (it is a test-only dependency of the project).
* ``qlib calc_ic`` (pandas groupby ``corr`` for IC and Rank IC together), run in a separate
  interpreter (``--qlib-python``, default ``.bench_qlib_venv/bin/python``, which
  ``make bench-peers`` builds: pyqlib needs pandas 3, so it lives in its own virtual
  environment) on the same panel written to parquet. Skipped with a record saying why when
  that interpreter is missing.

Each peer record carries ``ratio_vs_ours`` (peer seconds / ours for the same output) and
``max_abs_diff`` (largest difference from our per-date values on the dates it covers).

    python benchmarks/bench_ic.py                       # full size
    python benchmarks/bench_ic.py --dates 250           # a tenth
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from quant_core.validation import ic_series

_QLIB_SCRIPT = r"""
import json, sys, time
import pandas as pd
from qlib.contrib.eva.alpha import calc_ic
df = pd.read_parquet(sys.argv[1]).rename(columns={"date": "datetime"})
df = df.set_index(["datetime", "asset"])
seconds = float("inf")
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    ic, ric = calc_ic(df["s"], df["target"], date_col="datetime")
    seconds = min(seconds, time.perf_counter() - start)
pd.DataFrame({"ic": ic, "ric": ric}).reset_index().to_parquet(sys.argv[2])
print(json.dumps({"seconds": seconds, "pandas": pd.__version__}))
"""


def make_panel(n_dates: int, n_assets: int, seed: int = 0) -> pl.DataFrame:
    """A dense long panel sorted by (date, asset): signal ``s`` with a weak link to ``target``."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n_dates * n_assets)
    dates = np.busday_offset("2010-01-04", np.arange(n_dates), roll="forward")
    assets = np.array([f"A{i:05d}" for i in range(n_assets)])
    return pl.DataFrame(
        {
            "date": np.repeat(dates, n_assets),
            "asset": np.tile(assets, n_dates),
            "s": s,
            "target": 0.05 * s + rng.standard_normal(n_dates * n_assets),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def _best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _record(**kw) -> None:
    print(json.dumps(kw), flush=True)


def bench_ours(panel: pl.DataFrame, repeat: int, size: dict) -> dict[str, tuple[float, pl.DataFrame]]:
    out = {}
    for method in ("spearman", "pearson"):
        seconds, ic = _best_of(lambda m=method: ic_series(panel, "s", "target", method=m), repeat)
        out[method] = (seconds, ic)
        _record(name=f"quant_core ic_series ({method})", **size, seconds=round(seconds, 3),
                repeat=repeat)
    return out


def bench_alphalens(panel: pl.DataFrame, n_dates: int, ours: dict, size: dict, repeat: int) -> None:
    try:
        import pandas as pd
        from alphalens.performance import factor_information_coefficient
    except ImportError as exc:
        _record(name="alphalens factor_information_coefficient", skipped=f"not importable: {exc}")
        return
    dates = panel["date"].unique().sort()[:n_dates]
    part = panel.filter(pl.col("date").is_in(dates.implode()))
    df = part.to_pandas()
    df["date"] = pd.to_datetime(df["date"])
    factor_data = df.rename(columns={"s": "factor", "target": "1D"}).set_index(["date", "asset"])
    factor_data["factor_quantile"] = 1
    seconds, theirs = _best_of(
        lambda: factor_information_coefficient(factor_data[["1D", "factor", "factor_quantile"]]),
        repeat,
    )
    full = seconds * size["dates"] / n_dates
    ours_ic = ours["spearman"][1]["ic"].to_numpy()[:n_dates]
    _record(name="alphalens factor_information_coefficient (Spearman)", **size,
            repeat=repeat, timed_dates=n_dates, timed_seconds=round(seconds, 3), seconds=round(full, 2),
            extrapolated=n_dates < size["dates"],
            ratio_vs_ours=round(full / ours["spearman"][0], 1),
            max_abs_diff=float(np.max(np.abs(theirs["1D"].to_numpy() - ours_ic))))


def bench_qlib(panel: pl.DataFrame, qlib_python: str, ours: dict, size: dict, repeat: int) -> None:
    name = "qlib calc_ic (IC and Rank IC)"
    if not Path(qlib_python).exists():
        _record(name=name, skipped=f"no interpreter at {qlib_python} (pyqlib lives in its own venv)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "panel.parquet", Path(tmp) / "ic.parquet"
        panel.write_parquet(src)
        run = subprocess.run([qlib_python, "-c", _QLIB_SCRIPT, str(src), str(dst), str(repeat)],
                             capture_output=True, text=True, timeout=3600, check=False)
        if run.returncode != 0:
            _record(name=name, skipped=f"failed: {run.stderr.strip().splitlines()[-1:]}")
            return
        result = json.loads(run.stdout.strip().splitlines()[-1])
        theirs = pl.read_parquet(dst).sort("datetime")
    ours_both = ours["spearman"][0] + ours["pearson"][0]
    diff = max(
        float(np.max(np.abs(theirs["ric"].to_numpy() - ours["spearman"][1]["ic"].to_numpy()))),
        float(np.max(np.abs(theirs["ic"].to_numpy() - ours["pearson"][1]["ic"].to_numpy()))),
    )
    _record(name=name, **size, seconds=round(result["seconds"], 2), repeat=repeat, pandas=result["pandas"],
            ratio_vs_ours=round(result["seconds"] / ours_both, 1), max_abs_diff=diff)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dates", type=int, default=2500)
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alphalens-dates", type=int, default=None,
                        help="time alphalens on the first N dates only and extrapolate")
    parser.add_argument("--qlib-python",
                        default=str(Path(__file__).resolve().parents[1] / ".bench_qlib_venv/bin/python"))
    parser.add_argument("--peer-repeat", type=int, default=2,
                        help="best of N runs for each peer (ours: --repeat)")
    parser.add_argument("--no-peers", action="store_true", help="time ic_series only")
    args = parser.parse_args(argv)
    panel = make_panel(args.dates, args.assets)
    size = {"dates": args.dates, "assets": args.assets, "rows": panel.height}
    ours = bench_ours(panel, args.repeat, size)
    if args.no_peers:
        return
    bench_alphalens(panel, min(args.alphalens_dates or args.dates, args.dates), ours, size, args.peer_repeat)
    bench_qlib(panel, args.qlib_python, ours, size, args.peer_repeat)


if __name__ == "__main__":
    main(sys.argv[1:])
