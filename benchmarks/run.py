"""``make bench``: every benchmark, one JSON file out.

    python -m benchmarks.run --out bench_results/bench.json [--quick]

Each benchmark runs in its own subprocess so peak memory is its own.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def _json_lines(cmd: list[str]) -> list[dict]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    records = []
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            records.append(json.loads(line))
    return records


def _json_doc(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    return json.loads(out.stdout[out.stdout.index("{"):])


# cvxportfolio's venv, built by `make bench-peers` (the backtest is compared with its simulator)
CVX_PYTHON = Path(__file__).resolve().parent.parent / ".bench_cvx_venv" / "bin" / "python"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench_results/bench.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    py = sys.executable
    pipeline_size = ["--n-assets", "80", "--n-days", "400"] if args.quick else []
    split_scale = ["--rows-scale", "0.05"] if args.quick else []
    started = time.time()
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "research_graph": _json_doc([py, "-m", "benchmarks.bench_pipeline", *pipeline_size,
                                             *(["--repeat", "1"] if args.quick else [])]),
        "splits": _json_lines([py, "benchmarks/bench_splits.py", *split_scale]),
        "ic": _json_lines([py, "benchmarks/bench_ic.py", *(["--dates", "250"] if args.quick else [])]),
        "features": _json_doc([py, "benchmarks/bench_features.py", *(["--quick"] if args.quick else [])]),
        "lifecycle": _json_doc([py, "-m", "benchmarks.bench_lifecycle", *pipeline_size]),
        "models": _json_lines([py, "benchmarks/bench_models.py",
                               *(["--n-assets", "60", "--n-days", "150"] if args.quick else [])]),
        "backtest": _json_doc([py, "-m", "benchmarks.bench_backtest",
                               *(["--n-assets", "200", "--n-days", "300"] if args.quick else []),
                               *(["--cvx-python", str(CVX_PYTHON)] if CVX_PYTHON.exists() else [])]),
        "total_seconds": None,
    }
    results["total_seconds"] = round(time.time() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
