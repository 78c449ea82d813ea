"""``qf run`` as a user calls it: a panel file in, summary.json out, clear failures."""

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dagster_project import cli
from dagster_project.cli import research
from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market

SMALL_OPS = {"folds": {"n_splits": 2, "min_train_days": 150},
             "lightgbm_model": {"num_boost_round": 60, "inner_valid_days": 30}}


@pytest.fixture(scope="module")
def panel():
    return simulate_market(SyntheticMarketConfig(n_assets=50, n_days=300, seed=3)).panel


@pytest.fixture
def fast_ops(monkeypatch):
    """Keep the CLI's pipeline small: patch the default op config the CLI passes."""
    original = research.execute_research

    def small(*args, **kwargs):
        kwargs["op_config"] = {**SMALL_OPS, **(kwargs.get("op_config") or {})}
        kwargs["quiet"] = True
        return original(*args, **kwargs)

    monkeypatch.setattr(research, "execute_research", small)


def test_qf_run_writes_the_documented_summary(tmp_path, panel, fast_ops):
    path = tmp_path / "panel.csv"
    panel.write_csv(path)
    out = tmp_path / "out"
    code = cli.main(["--state-dir", str(tmp_path / "state"), "run", "--panel", str(path), "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"]["n_dates"] == 300 and summary["data"]["n_assets"] == 50
    assert summary["data"]["features"] == [c for c in panel.columns if c.startswith(("sig_", "noise_"))]
    assert summary["leakage"] == {"passed": True, "flagged_features": [], "split_problems": []}
    for name in ("lightgbm", "ridge"):
        assert {"oos_ic_mean", "oos_rank_ic_mean", "oos_rank_icir"} <= set(summary["models"][name])
        assert summary["models"][name]["oos_rank_ic_mean"] > 0.02
    assert set(summary["ensemble"]["weights"]) == {"lightgbm", "ridge", "mlp"}
    assert isinstance(summary["ensemble"]["oos_rank_ic_mean"], float)
    assert len(summary["mlflow_run_id"]) == 32
    # the run's reports live under --out (the shared state dir's copies are overwritten by the next run)
    reports = out / "reports"
    for name in ("lightgbm", "ridge", "mlp"):
        report = Path(summary["models"][name]["report"])
        assert report == (reports / f"validation_{name}.html").resolve() and report.stat().st_size > 10_000
        assert "<html" in report.read_text()[:500].lower()
    listed = {Path(p).name for p in summary["reports"]}
    assert {"fold_layout.png", "permutation_lightgbm.png", "shap_lightgbm.png", "validation_lightgbm.json",
            "rank_ic_lightgbm.png"} <= listed
    assert all(Path(p).parent == reports.resolve() and Path(p).exists() for p in summary["reports"])


def test_price_only_panel_gets_point_in_time_price_features(tmp_path, panel, fast_ops):
    path = tmp_path / "prices.parquet"
    panel.select(["date", "asset", "open", "high", "low", "close", "volume", "sector"]).write_parquet(path)
    out = tmp_path / "out"
    code = cli.main(["--state-dir", str(tmp_path / "state"), "run", "--panel", str(path), "--out", str(out),
                     "--horizon-days", "5", "--target-kind", "vol_scaled"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"MA20", "STD20", "ROC5", "KMID"} <= set(summary["data"]["features"])  # the Alpha158-style set
    assert summary["oracle"] is None  # the oracle only describes the raw 1-day default label
    assert summary["leakage"]["passed"] is True


def test_a_leaky_feature_blocks_the_graph_and_is_named(tmp_path, panel, fast_ops, capsys):
    close = panel.pivot(on="asset", index="date", values="close").sort("date")
    # the future: the return from close t+1 to close t+2 (exactly the default label) plus noise
    future = panel.sort(["asset", "date"]).with_columns(
        (pl.col("close").shift(-2).over("asset") / pl.col("close").shift(-1).over("asset") - 1).alias("peek")
    )
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, future.height)
    leaky = future.with_columns((pl.col("peek") + noise).alias("peek")).sort(["date", "asset"])
    assert close.height == 300
    path = tmp_path / "leaky.parquet"
    leaky.write_parquet(path)
    out = tmp_path / "out"
    code = cli.main(["--state-dir", str(tmp_path / "state"), "run", "--panel", str(path), "--out", str(out)])
    assert code == research.EXIT_BLOCKED
    err = capsys.readouterr().err
    assert "leakage audit blocked the graph" in err and "peek" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["leakage"]["passed"] is False
    assert summary["leakage"]["flagged_features"] == ["peek"]
    assert summary["models"] == {}  # nothing downstream of the failed check ran


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda p: p.drop("close"), "column 'close'"),
        (lambda p: pl.concat([p, p.head(3)]), "(date, asset) pairs are unique"),
        (lambda p: p.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(-1.0)
                                  .otherwise(pl.col("close")).alias("close")), "> 0"),
    ],
)
def test_bad_panel_exits_2_naming_the_column_and_writes_nothing(tmp_path, panel, mutate, needle, capsys):
    path = tmp_path / "bad.parquet"
    mutate(panel).write_parquet(path)
    out = tmp_path / "out"
    code = cli.main(["--state-dir", str(tmp_path / "state"), "run", "--panel", str(path), "--out", str(out)])
    assert code == research.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(path) in err and needle in err
    assert not out.exists()


def test_a_feature_known_after_the_decision_time_blocks_the_graph(tmp_path, panel, fast_ops, capsys):
    # sig_fast's value of date t only became known at 09:30 on the next day: after the close of t
    late = panel.with_columns(
        (pl.col("date").cast(pl.Datetime("us")) + pl.duration(days=1, hours=9, minutes=30)).alias("sig_fast__available_at"),
        (pl.col("date").cast(pl.Datetime("us")) + pl.duration(hours=16)).alias("sig_slow__available_at"),
    )
    path = tmp_path / "timestamps.parquet"
    late.write_parquet(path)
    out = tmp_path / "out"
    code = cli.main(["--state-dir", str(tmp_path / "state"), "run", "--panel", str(path), "--out", str(out)])
    assert code == research.EXIT_BLOCKED
    assert "sig_fast" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["leakage"]["flagged_features"] == ["sig_fast"]  # sig_slow was known at the close
    assert summary["models"] == {}


def test_qf_retrain_promotes_the_first_challenger_and_then_records_a_rejection(tmp_path, panel, fast_ops, capsys,
                                                                                monkeypatch):
    path = tmp_path / "panel.parquet"
    panel.write_parquet(path)
    state = tmp_path / "state"
    monkeypatch.setenv("DAGSTER_HOME", str(state / "dagster"))
    assert cli.main(["--state-dir", str(state), "retrain", "--panel", str(path)]) == 0
    first = json.loads((state / "retrain_summary.json").read_text())
    assert first["gate"]["decision"] == "promote" and first["gate"]["reason"].startswith("no champion yet")
    assert first["champion"]["model_uri"] == "models:/quantflow-lightgbm/1"
    assert cli.main(["--state-dir", str(state), "retrain", "--panel", str(path), "--require-net-improvement"]) == 0
    second = json.loads((state / "retrain_summary.json").read_text())
    assert second["gate"]["decision"] == "reject" and second["champion"] is None  # the same recipe cannot beat itself
    out = capsys.readouterr().out
    assert "promotion gate: reject challenger version 2" in out
    assert cli.main(["--state-dir", str(state), "models", "list", "--family", "lightgbm"]) == 0
    listing = capsys.readouterr().out
    assert "champion history: 1" in listing and "reject" in listing
    assert cli.main(["--state-dir", str(state), "models", "list", "--family", "nosuch"]) == 2
