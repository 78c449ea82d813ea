"""make bench's runner works end to end on small sizes (numbers are not asserted: speed is benchmarked, not tested)."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_runner_writes_json_with_every_section(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)], check=True,
                   capture_output=True, timeout=600)
    result = json.loads(out.read_text())
    graph = result["research_graph"]
    assert graph["dagster_mlflow_seconds"] > 0 and graph["direct_core_seconds"] > 0
    assert set(graph["direct_stage_seconds"]) >= {"targets", "lightgbm_model", "ensemble_weights"}
    full = graph["full_demo_graph"]
    assert set(full["direct_stage_seconds"]) >= {"deep_models", "validation_report", "shap_values",
                                                 "permutation_importance", "regime_routing"}
    backtest = result["backtest"]
    assert backtest["capacity_grid_points"] == 9 and backtest["seconds"]["ledger"] > 0
    assert {r["name"].split("(")[0] for r in result["splits"]} == {
        "WalkForward", "PurgedKFold", "CombinatorialPurgedKFold"}
