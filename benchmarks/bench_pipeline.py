"""Wall time of the research graph through Dagster + MLflow, against the same core calls made directly.

Two graphs are measured:

* ``subset`` (the keys at the top level of the output): the assets up to the ensemble
  (``STAGES``) with the torch families off and the Great Expectations suite off.
* ``full`` (``"full_demo_graph"``): the whole ``research_job`` exactly as ``qf demo`` runs it
  (no asset selection, default op config: the GX contract, ``deep_models`` with its default
  families, validation reports, TreeSHAP, gradient SHAP, permutation importance, blend and stack,
  regime routing, the routed ensemble, and every asset check of the job).

The direct path (``benchmarks.direct_stages``) calls the same ``quant_core.stages`` functions the
assets and checks call, in the Dagster run's step order and with the same default configs, without
Dagster (IO manager, events, checks as steps, UI metadata) or MLflow (runs, params/metrics,
artifacts, model logging and registration, model cards). The difference is the orchestration and
tracking overhead.

Torch checkpoints: ``deep_models`` writes a checkpoint per epoch under the state directory and a
later fit with the same data and config resumes from it, so a second ``qf demo`` on an unchanged
panel skips the torch training. The steady orchestrated runs here stand for a nightly retrain on
new data, so the checkpoint folder is emptied before each run (outside the timed wall) and both
paths train every epoch.

    python -m benchmarks.bench_pipeline [--n-assets 300 --n-days 1008 --repeat 3 --graph both]

Per graph: one warm-up direct run, then ``--repeat`` direct runs interleaved with the steady
orchestrated runs (after the orchestrated first run, which also creates the databases); the
share is computed from the medians.
"""

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.direct_stages import DIRECT

# the subset graph: everything up to the ensemble (torch families off, GX off)
STAGES = ("feature_snapshots", "targets", "folds", "lightgbm_model", "ridge_model", "deep_models",
          "ensemble_weights")
SUBSET_OP_CONFIG = {"deep_models": {"families": []},
                    "feature_snapshots_feature_snapshots_contract": {"use_great_expectations": False}}


# -- the orchestrated path -------------------------------------------------------------------------
def orchestrated_pipeline(n_assets: int, n_days: int, runs: int, between=None, seed: int = 7,
                          graph: str = "subset"):
    """``qf demo``'s path: the Dagster job in-process, tracked in a local MLflow store.

    ``graph="subset"`` selects ``STAGES`` with the torch families and GX off; ``"full"`` runs
    the whole ``research_job`` with no selection and no op config (exactly ``qf demo``).
    Runs ``runs + 1`` times on one state directory: the first run also creates the MLflow and
    Dagster databases (what a first ``make demo`` pays once); the others are the steady state
    (every nightly retrain; the torch checkpoints are removed before each run, see the module
    docstring). ``between()`` is called before each steady run (the benchmark interleaves the
    direct path there, so both see the same machine load). Returns the steady runs' walls and
    step times and the first run's wall time.
    """
    import dagster as dg

    from dagster_project.cli.instance import LOCAL_INSTANCE_SETTINGS
    from dagster_project.cli.research import execute_research

    if graph == "subset":
        selection, op_config = [dg.AssetKey(k) for k in STAGES], SUBSET_OP_CONFIG
    else:
        selection, op_config = None, None
    walls, steps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        (state / "dagster").mkdir()
        with dg.DagsterInstance.local_temp(tempdir=str(state / "dagster"),
                                           overrides=LOCAL_INSTANCE_SETTINGS) as instance:
            for i in range(runs + 1):
                if i and between is not None:
                    between()
                shutil.rmtree(state / "checkpoints", ignore_errors=True)  # a retrain, not a resume
                result, _, wall_s = execute_research(
                    state, synthetic={"n_assets": n_assets, "n_days": n_days, "seed": seed}, quiet=True,
                    instance=instance, asset_selection=selection, op_config=op_config)
                assert result.success, "research_job failed"
                walls.append(wall_s)
                steps.append({e.step_key: e.event_specific_data.duration_ms / 1000.0
                              for e in result.all_events if e.event_type_value == "STEP_SUCCESS"})
    return walls[1:], steps[1:], walls[0]


def _measure(n_assets: int, n_days: int, repeat: int, graph: str) -> dict:
    """One warm-up direct run, then ``repeat`` direct runs interleaved with the steady
    orchestrated runs; medians."""
    direct = DIRECT[graph]
    direct_runs: list[dict[str, float]] = []
    direct(n_assets, n_days)  # warm-up: first calls pay lazy imports and caches
    walls, steps, first_run_wall = orchestrated_pipeline(
        n_assets, n_days, repeat, graph=graph, between=lambda: direct_runs.append(direct(n_assets, n_days)))
    direct_totals = [sum(d.values()) for d in direct_runs]
    direct_total = float(np.median(direct_totals))
    orchestrated = float(np.median(walls))
    overhead = orchestrated - direct_total
    best = int(np.argsort(walls)[len(walls) // 2])
    return {
        "direct_core_seconds": round(direct_total, 3),
        "dagster_mlflow_seconds": round(orchestrated, 3),
        "overhead_seconds": round(overhead, 3),
        "overhead_share": round(overhead / orchestrated, 4),
        "direct_core_seconds_all": [round(v, 3) for v in direct_totals],
        "dagster_mlflow_seconds_all": [round(v, 3) for v in walls],
        "first_run_dagster_mlflow_seconds": round(first_run_wall, 3),
        "first_run_overhead_share": round((first_run_wall - direct_total) / first_run_wall, 4),
        "direct_stage_seconds": {k: round(float(np.median([d[k] for d in direct_runs])), 3) for k in direct_runs[0]},
        "dagster_step_seconds": {k: round(v, 3) for k, v in steps[best].items()},
    }


def run(n_assets: int, n_days: int, repeat: int = 3, graph: str = "both") -> dict:
    """Measures the subset graph (top-level keys) and/or the full ``qf demo`` graph
    (``"full_demo_graph"``); each interleaves ``repeat`` direct runs with ``repeat`` steady
    orchestrated runs and compares medians (a single pair moved by +/-15% on this shared
    2-core machine)."""
    # warm imports for both paths so neither pays them inside its timing; dagster_project
    # first, as in `qf` and `dagster dev`: it turns MLflow's telemetry off before mlflow loads
    import dagster_project.cli.research  # noqa: F401, I001 - must precede mlflow

    import dagster  # noqa: F401
    import lightgbm  # noqa: F401
    import mlflow  # noqa: F401

    out: dict[str, Any] = {"name": "research_graph", "n_assets": n_assets, "n_days": n_days, "repeat": repeat}
    if graph in ("subset", "both"):
        out.update(_measure(n_assets, n_days, repeat, "subset"))
    if graph in ("full", "both"):
        import torch  # noqa: F401

        out["full_demo_graph"] = _measure(n_assets, n_days, repeat, "full")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=300)
    parser.add_argument("--n-days", type=int, default=1008)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each path (medians)")
    parser.add_argument("--graph", choices=["subset", "full", "both"], default="both",
                        help="the STAGES subset, the whole research_job as `qf demo` runs it, or both")
    args = parser.parse_args(argv)
    result = run(args.n_assets, args.n_days, args.repeat, args.graph)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
