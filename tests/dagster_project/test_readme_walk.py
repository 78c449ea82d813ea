"""The README's commands, in the order a newcomer follows them, on small data in a fresh state
directory: each documented exit code, output line and file. When the README changes, this changes.

The pipeline runs in-process with small folds and few boosting rounds (the same commands, smaller
settings); everything else is exactly the documented command line.
"""

import json
from pathlib import Path

import polars as pl
import pytest

from dagster_project import cli
from dagster_project.cli import research
from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"
SMALL = {"folds": {"n_splits": 2, "min_train_days": 150},
         "lightgbm_model": {"num_boost_round": 60, "inner_valid_days": 30},
         "portfolio_backtest": {"capacity_grid_usd": [1e6, 1e8, 1e10]}}


@pytest.fixture
def small_pipeline(monkeypatch):
    original = research.execute_research

    def small(*args, **kwargs):
        kwargs["op_config"] = {**SMALL, **(kwargs.get("op_config") or {})}
        kwargs["quiet"] = True
        return original(*args, **kwargs)

    monkeypatch.setattr(research, "execute_research", small)


def _qf(state: Path, *args: str) -> int:
    return cli.main(["--state-dir", str(state), *args])


def test_the_readme_commands_work_in_order(tmp_path, small_pipeline, capsys, monkeypatch):
    readme = README.read_text()
    for documented in ("qf models list", "qf models promote --version", "qf models rollback --reason", "qf retrain",
                       "qf validate --signal", "qf run --panel", "qf ingest", "qf backtest --signal"):
        assert documented in readme, f"the README no longer documents `{documented}`: update this walk"
    state = tmp_path / ".qf_state"
    monkeypatch.setenv("DAGSTER_HOME", str(state / "dagster"))
    monkeypatch.delenv("QF_MLFLOW_TRACKING_URI", raising=False)
    market = simulate_market(SyntheticMarketConfig(n_assets=50, n_days=300, seed=3))
    panel = tmp_path / "panel.parquet"
    market.panel.write_parquet(panel)

    # qf demo: the table, then the trading table, and the documented folders
    assert _qf(state, "demo", "--n-assets", "50", "--n-days", "300") == 0
    out = capsys.readouterr().out
    assert "models and oracle" in out and "trading (constant AUM, USD)" in out
    assert (state / "demo_summary.json").exists() and (state / "landing").is_dir() and (state / "inbox").is_dir()

    # qf retrain: the first challenger becomes the champion; models list shows it; promote / rollback
    assert _qf(state, "retrain", "--panel", str(panel)) == 0
    assert "promotion gate: promote" in capsys.readouterr().out
    assert _qf(state, "models", "list") == 0
    listing = capsys.readouterr().out
    assert "quantflow-lightgbm (champion history: 2)" in listing  # v1 is the demo's challenger
    assert _qf(state, "models", "promote", "--version", "1", "--reason", "walk", "--no-repin") == 0
    assert _qf(state, "models", "rollback", "--reason", "walk back", "--no-repin") == 0
    assert "rollback: quantflow-lightgbm champion 1 -> 2" in capsys.readouterr().out
    assert [e["action"] for e in map(json.loads, (state / "registry" / "audit.jsonl").read_text().splitlines())][-2:] \
        == ["promote", "rollback"]

    # qf validate
    signal = tmp_path / "signal.parquet"
    market.panel.select(["date", "asset", pl.col("sig_fast").alias("signal")]).write_parquet(signal)
    prices = tmp_path / "prices.parquet"
    market.panel.select(["date", "asset", "close", "high", "low", "volume", "sector"]).write_parquet(prices)
    assert _qf(state, "validate", "--signal", str(signal), "--returns", str(prices), "--out", str(tmp_path / "v")) == 0
    assert (tmp_path / "v" / "report.html").exists() and (tmp_path / "v" / "report.json").exists()

    # qf run --panel --out
    assert _qf(state, "run", "--panel", str(panel), "--out", str(tmp_path / "run")) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert {"data", "leakage", "models", "ensemble", "trading", "reports", "mlflow_run_id"} <= set(summary)
    assert Path(summary["models"]["lightgbm"]["report"]).parent == (tmp_path / "run" / "reports").resolve()

    # qf ingest: a good panel, then one that breaks the contract (exit 2, store unchanged)
    assert _qf(state, "ingest", str(panel)) == 0
    manifest = (state / "store" / "manifest.json").read_text()
    bad = tmp_path / "bad.csv"
    market.panel.with_columns(pl.lit(-1.0).alias("close")).write_csv(bad)
    assert _qf(state, "ingest", str(bad)) == 2
    assert "close" in capsys.readouterr().err
    assert (state / "store" / "manifest.json").read_text() == manifest

    # qf backtest
    assert _qf(state, "backtest", "--signal", str(signal), "--prices", str(prices), "--out", str(tmp_path / "bt")) == 0
    assert {p.name for p in (tmp_path / "bt").iterdir()} >= {"backtest.json", "daily.parquet", "report.html"}
