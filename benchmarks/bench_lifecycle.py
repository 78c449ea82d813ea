"""Wall time of the model lifecycle: a nightly retrain (research graph + promotion gate) on the
default market, and one drift evaluation (Evidently on the newest landed days).

    python -m benchmarks.bench_lifecycle [--n-assets 300 --n-days 1008] [--out FILE]

The retrain runs twice on one state directory: the first registers and promotes the first
champion (and creates the databases); the second is the steady state of every night, where the
gate downloads the champion's OOF predictions and runs the paired test. Then the last
``window_days`` market dates are landed and scored one partition at a time (each a
``daily_scoring_job`` run); the drift evaluation is timed both as the ``drift_report`` step of
the last run and as the bare ``quant_core`` call on the same data.
"""

import argparse
import json
import logging
import tempfile
import time
import warnings
from pathlib import Path


def _steps(instance, run_id: str) -> dict[str, float]:
    """Seconds per step from its start to its success or failure (a blocking check that rejects
    the challenger fails its step, and its time counts too)."""
    started, out = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
            out[event.step_key] = round(entry.timestamp - started[event.step_key], 3)
    return out


def run(n_assets: int, n_days: int, seed: int = 7, window_days: int = 5) -> dict:
    import dagster as dg
    import polars as pl

    from dagster_project.definitions import build_definitions
    from dagster_project.resources import MarketDataSource, ProjectState
    from quant_core.data.landing import read_landed_window
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.monitoring.evidently_drift import drift_report
    from quant_registry.lineage import REFERENCE_ARTIFACT

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        (state_dir / "dagster").mkdir()
        (state_dir / "mlflow").mkdir()
        tracking_uri = f"sqlite:///{state_dir / 'mlflow' / 'mlflow.db'}"
        defs = build_definitions(state_dir=state_dir, tracking_uri=tracking_uri,
                                 market_data=MarketDataSource(synthetic_n_assets=n_assets, synthetic_n_days=n_days,
                                                              synthetic_seed=seed))
        with dg.DagsterInstance.local_temp(tempdir=str(state_dir / "dagster")) as instance:
            retrain = defs.resolve_job_def("retrain_job")
            walls, results = [], []
            for _ in range(2):
                started = time.perf_counter()
                result = retrain.execute_in_process(instance=instance, run_config=quiet, raise_on_error=False,
                                                    tags={"quantflow/trigger": "bench"})
                walls.append(time.perf_counter() - started)
                results.append(result)
            gate = {e.check_name: e for e in results[1].get_asset_check_evaluations()}["promotion_gate"]
            panel = simulate_market(SyntheticMarketConfig(n_assets=n_assets, n_days=n_days, seed=seed)).panel
            days = panel["date"].unique().sort().tail(window_days).to_list()
            state = ProjectState(state_dir=str(state_dir))
            scoring = defs.resolve_job_def("daily_scoring_job")
            for day in days:
                panel.filter(pl.col("date") == day).write_parquet(state.landing_dir / f"{day}.parquet")
                started = time.perf_counter()
                daily = scoring.execute_in_process(instance=instance, partition_key=str(day), run_config=quiet,
                                                   raise_on_error=False)
                daily_wall = time.perf_counter() - started
                assert daily.success, f"daily_scoring_job failed for {day}"
            registry = defs.resources["registry"]
            champion = registry.champion_ref("lightgbm")
            reference = registry.read_parquet_artifact(champion.run_id, REFERENCE_ARTIFACT)
            features = [c for c in reference.columns if c not in ("date", "asset", "score")]
            current = read_landed_window(state.landing_dir, str(days[-1]), window_days,
                                         ["date", "asset", *features])
            drift_report(reference, current, features)  # warm: the first call imports evidently (~3 s)
            started = time.perf_counter()
            drift = drift_report(reference, current, features, html_path=state_dir / "bench_drift.html")
            core_drift_s = time.perf_counter() - started
            retrain_steps = _steps(instance, results[1].run_id)
            daily_steps = _steps(instance, daily.run_id)
    promotion_s = sum(retrain_steps.get(k, 0.0) for k in
                      ("challenger_model", "challenger_model_promotion_gate", "champion_model"))
    return {
        "name": "lifecycle",
        "n_assets": n_assets,
        "n_days": n_days,
        "nightly_retrain_seconds": round(walls[1], 3),
        "first_retrain_seconds": round(walls[0], 3),
        "promotion_steps_seconds": round(promotion_s, 3),
        "promotion_share_of_retrain": round(promotion_s / walls[1], 4),
        "gate_decision": gate.metadata["decision"].value,
        "gate_reason": gate.metadata["reason"].value,
        "retrain_step_seconds": retrain_steps,
        "drift_evaluation_seconds": {
            "quant_core_drift_report": round(core_drift_s, 3),
            "dagster_drift_report_step": daily_steps.get("drift_report"),
            "daily_scoring_run_wall": round(daily_wall, 3),
            "rows_reference": reference.height,
            "rows_current": current.height,
            "n_features": len(features),
            "dataset_drift": drift.dataset_drift,
        },
        "daily_step_seconds": daily_steps,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=300)
    parser.add_argument("--n-days", type=int, default=1008)
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    result = run(args.n_assets, args.n_days)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return result


if __name__ == "__main__":
    main()
