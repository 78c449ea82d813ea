"""`make dev`'s web UI: start `dagster dev` on 127.0.0.1, ask its GraphQL API what it shows, stop it by PID."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESEARCH = {"feature_snapshots", "targets", "folds", "lightgbm_model", "ridge_model", "deep_models",
            "validation_report",
            "shap_values", "deep_shap", "permutation_importance", "ensemble_weights", "regime_routing",
            "ensemble_model", "portfolio_backtest", "pnl_attribution"}
ORDERBOOK = {"orderbook_snapshots", "deeplob_model"}
LIFECYCLE = {"challenger_model", "champion_model", "champion_revalidation", "daily_snapshot", "live_scores",
             "drift_report", "realized_ic"}
QUERY = """
{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name blocking } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
      jobs { name } schedules { name cronSchedule executionTimezone } sensors { name } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


@pytest.mark.slow
def test_dagster_dev_serves_every_asset_check_job_schedule_and_sensor(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "QF_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).parent / "dagster"
    process = subprocess.Popen(
        ["env", "--default-signal=INT,TERM", "setsid", str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        data = None
        while time.time() < deadline:
            try:
                data = _graphql(port, QUERY)
                if data["assetNodes"]:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert data and data["assetNodes"], "dagster dev did not answer within 120 s"
        assets = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
        assert assets == RESEARCH | ORDERBOOK | LIFECYCLE
        checks = {c["name"]: c["blocking"] for n in data["assetNodes"]
                  for c in (n["assetChecksOrError"].get("checks") or [])}
        assert checks == {"feature_snapshots_contract": True, "targets_leakage_audit": True,
                          "folds_leakage_audit": True, "promotion_gate": True,
                          "champion_revalidation_check": False}
        repo = data["repositoriesOrError"]["nodes"][0]
        assert {"research_job", "orderbook_job", "retrain_job", "daily_scoring_job", "weekly_revalidation_job"} <= {
            j["name"] for j in repo["jobs"]}
        assert {(s["name"], s["cronSchedule"]) for s in repo["schedules"]} == {
            ("nightly_retrain", "0 2 * * 1-5"), ("weekly_revalidation", "0 4 * * 6")}
        assert {s["name"] for s in repo["sensors"]} == {"landing_sensor", "drift_ic_sensor", "ingest_sensor"}
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
