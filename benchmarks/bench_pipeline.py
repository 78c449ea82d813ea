"""Wall time of the research graph through Dagster + MLflow, against the same core calls made directly.

The direct path calls the quant_core functions the selected assets call (snapshots, contract,
targets and leakage audit, folds and split audit, LightGBM and ridge fold-wise with a final refit,
blend and stack with their held-out IC), in the same order and with the same defaults, without
Dagster (IO manager, events, checks as steps) or MLflow (runs, artifacts, model registry). The
difference is the orchestration and tracking overhead.

    python -m benchmarks.bench_pipeline [--n-assets 300 --n-days 1008]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

# the stages both paths run: everything up to the ensemble (torch families off, GX off); the report,
# SHAP, permutation and routing stages are measured inside the Dagster run only (step times)
STAGES = ("feature_snapshots", "targets", "folds", "lightgbm_model", "ridge_model", "deep_models",
          "ensemble_weights")


def direct_core_pipeline(n_assets: int, n_days: int, seed: int = 7) -> dict[str, float]:
    """The research graph's computations with plain function calls; returns seconds per stage."""
    from quant_core.data.contracts import feature_columns
    from quant_core.data.expectations import validate_panel
    from quant_core.data.snapshot import content_hash
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.ensemble import fit_blend, fit_stacking
    from quant_core.model_selection import WalkForward, plot_folds
    from quant_core.models import LightGBMRegressor, RidgeRegressor, train_foldwise
    from quant_core.targets import forward_returns
    from quant_core.targets.leakage import audit_feature_leakage, verify_splits
    from quant_core.validation import fold_ic_table
    from quant_core.validation.oracle import oracle_ic_summary

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    market = simulate_market(SyntheticMarketConfig(n_assets=n_assets, n_days=n_days, seed=seed))
    panel = market.panel
    features = feature_columns(panel)
    content_hash(panel)
    lap("feature_snapshots")
    validate_panel(panel, "synthetic", use_great_expectations=False)
    lap("contract_check")
    labels = forward_returns(panel, horizon_days=1, lag_days=1)
    frame = panel.select(["date", "asset", *features]).join(
        labels.select(["date", "asset", "target", "label_start", "label_end"]), on=["date", "asset"]
    ).sort(["date", "asset"])
    lap("targets")
    audit_feature_leakage(frame, features)
    lap("targets_leakage_audit")
    dates = frame["date"].to_numpy().astype("datetime64[D]")
    label_end = frame["label_end"].to_numpy().astype("datetime64[D]")
    splitter = WalkForward(n_splits=5, min_train_days=252, embargo_days=1)
    splits = list(splitter.split(dates, label_end))
    splitter.describe(dates, label_end)
    with tempfile.TemporaryDirectory() as tmp:
        plot_folds(splitter, dates, label_end, path=Path(tmp) / "folds.png")
    lap("folds")
    verify_splits(dates, label_end, splits, 1)
    lap("folds_leakage_audit")
    params = {"learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 500, "feature_fraction": 0.8}
    lgb = train_foldwise(frame, splits, lambda: LightGBMRegressor(features, params=params, num_boost_round=300,
                                                                   early_stopping_rounds=30, seed=0),
                         inner_valid_days=63, purge_days=2)
    fold_ic_table(lgb.oof)
    rounds = int(np.median([m.best_iteration_ for m in lgb.models]))
    LightGBMRegressor(features, params=params, num_boost_round=rounds, early_stopping_rounds=0).fit(frame)
    lap("lightgbm_model")
    ridge = train_foldwise(frame, splits, lambda: RidgeRegressor(features, alpha=10.0))
    fold_ic_table(ridge.oof)
    RidgeRegressor(features, alpha=10.0).fit(frame)
    lap("ridge_model")
    wide = lgb.oof.select(["date", "asset", "target", pl.col("prediction").alias("lightgbm")]).join(
        ridge.oof.select(["date", "asset", pl.col("prediction").alias("ridge")]), on=["date", "asset"])
    blend = fit_blend(wide, ["lightgbm", "ridge"], method="ic_weighted", outer_test_fraction=0.3)
    stack = fit_stacking(wide, ["lightgbm", "ridge"], meta="ridge", outer_test_fraction=0.3)
    scored = blend.eval_frame.join(stack.eval_frame.select(["date", "asset", pl.col("ensemble").alias("stacking")]),
                                   on=["date", "asset"]).with_columns(pl.lit(0).alias("fold"))
    for signal in ("ensemble", "stacking", "lightgbm", "ridge"):
        fold_ic_table(scored, signal=signal)
    oracle_ic_summary(market.oracle, scored)
    lap("ensemble_weights")
    return timings


def orchestrated_pipeline(n_assets: int, n_days: int, seed: int = 7) -> tuple[dict[str, float], float]:
    """``qf demo``'s path: the Dagster job in-process, tracked in a local MLflow store.

    Runs twice on one state directory: the first run also creates the MLflow and Dagster
    databases (what a first ``make demo`` pays once); the second is the steady state (every
    nightly retrain). Returns the second run's step times and the first run's wall time.
    """
    import dagster as dg

    from dagster_project.cli import execute_research

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        (state / "dagster").mkdir()
        with dg.DagsterInstance.local_temp(tempdir=str(state / "dagster")) as instance:
            walls = []
            for _ in range(2):
                result, _, wall_s = execute_research(
                    state, synthetic={"n_assets": n_assets, "n_days": n_days, "seed": seed}, quiet=True,
                    instance=instance, asset_selection=[dg.AssetKey(k) for k in STAGES], op_config={
                        "deep_models": {"families": []},
                        "feature_snapshots_feature_snapshots_contract": {"use_great_expectations": False}})
                assert result.success, "research_job failed"
                walls.append(wall_s)
            steps = {}
            for event in result.all_events:
                if event.event_type_value == "STEP_SUCCESS":
                    steps[event.step_key] = event.event_specific_data.duration_ms / 1000.0
    return {"wall_s": walls[1], **steps}, walls[0]


def run(n_assets: int, n_days: int) -> dict:
    # warm imports for both paths so neither pays them inside its timing
    import dagster  # noqa: F401
    import lightgbm  # noqa: F401
    import mlflow  # noqa: F401

    direct = direct_core_pipeline(n_assets, n_days)
    direct_total = sum(direct.values())
    orchestrated, first_run_wall = orchestrated_pipeline(n_assets, n_days)
    overhead = orchestrated["wall_s"] - direct_total
    return {
        "name": "research_graph",
        "n_assets": n_assets,
        "n_days": n_days,
        "direct_core_seconds": round(direct_total, 3),
        "dagster_mlflow_seconds": round(orchestrated["wall_s"], 3),
        "overhead_seconds": round(overhead, 3),
        "overhead_share": round(overhead / orchestrated["wall_s"], 4),
        "first_run_dagster_mlflow_seconds": round(first_run_wall, 3),
        "first_run_overhead_share": round((first_run_wall - direct_total) / first_run_wall, 4),
        "direct_stage_seconds": {k: round(v, 3) for k, v in direct.items()},
        "dagster_step_seconds": {k: round(v, 3) for k, v in orchestrated.items() if k != "wall_s"},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-assets", type=int, default=300)
    parser.add_argument("--n-days", type=int, default=1008)
    args = parser.parse_args(argv)
    result = run(args.n_assets, args.n_days)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
