"""Registry aliases, champion history, rollback and the append-only audit log; ``qf models``."""

import json
import shutil

import dagster as dg
import numpy as np
import polars as pl
import pytest

from dagster_project.cli import models as cli_models
from dagster_project.resources import MlflowTracker
from quant_core.models import RidgeRegressor
from quant_registry.registry import Registry
from quant_registry.runs import RunLogger

NAME = "quantflow-ridge"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Two registered versions of a tiny ridge model, as training runs would leave them."""
    folder = tmp_path_factory.mktemp("registry_template")
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    tracker = MlflowTracker(tracking_uri=tracking_uri, artifact_root=str(folder / "artifacts"))
    client = tracker.client()
    experiment = tracker.experiment_id(client)
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"a": rng.standard_normal(50), "b": rng.standard_normal(50)}).with_columns(
        (pl.col("a") + 0.1 * pl.col("b")).alias("target"))
    for alpha in (1.0, 2.0):
        run = client.create_run(experiment, tags={"dagster.run_id": f"run-{alpha}"})
        client.log_param(run.info.run_id, "horizon_days", "1")
        logger = RunLogger(client, run.info.run_id, experiment, {})
        logger.log_signal_model(RidgeRegressor(["a", "b"], alpha=alpha).fit(frame), ["a", "b"], NAME,
                                tags={"validation.rank_ic_mean": str(alpha / 10), "data_version": f"d{alpha}",
                                      "quantflow.gate.decision": "promote"})
    return folder / "mlflow.db"


@pytest.fixture
def store(tmp_path, template, monkeypatch):
    """A private copy of the template's registry (its artifacts stay in the template folder)."""
    shutil.copy(template, tmp_path / "mlflow.db")
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))  # the CLI re-pins in this instance
    registry = Registry(tracking_uri=tracking_uri, state_dir=str(tmp_path.resolve()))
    return tmp_path, tracking_uri, registry


def _qf(state_dir, tracking_uri, *args):
    return cli_models.main(["--state-dir", str(state_dir), "models", "--tracking-uri", tracking_uri,
                            "--family", "ridge", *args])


def test_promote_and_rollback_move_the_alias_and_keep_a_history(store):
    _, _, registry = store
    assert registry.aliases(NAME) == {"challenger": "2"}
    assert registry.champion_ref("ridge") is None
    registry.promote(NAME, "1", actor="gate", reason="first", source="gate")
    registry.promote(NAME, "2", actor="bob", reason="better", source="manual")
    assert registry.aliases(NAME) == {"challenger": "2", "champion": "2"}
    assert registry.champion_history(NAME) == ["1", "2"]
    ref = registry.champion_ref("ridge")
    assert (ref.version, ref.model_uri, ref.validation_rank_ic, ref.data_version) == (
        "2", f"models:/{NAME}/2", 0.2, "d2.0")
    record = registry.rollback(NAME, actor="alice", reason="desk says no")
    assert (record["from_version"], record["to_version"], record["action"]) == ("2", "1", "rollback")
    assert registry.aliases(NAME)["champion"] == "1" and registry.champion_history(NAME) == ["1"]
    tags = registry.client().get_model_version(NAME, "2").tags
    assert tags["quantflow.rolled_back_by"] == "alice" and tags["quantflow.rollback_reason"] == "desk says no"
    assert tags["quantflow.promotion_source"] == "manual"
    assert registry.client().get_model_version(NAME, "1").tags["quantflow.demoted_for"] == "2"


def test_refusals_name_the_problem(store):
    _, _, registry = store
    with pytest.raises(ValueError, match="quantflow-ridge has no champion to roll back"):
        registry.rollback(NAME, actor="a", reason="r")
    with pytest.raises(ValueError, match="quantflow-ridge has no version '9'"):
        registry.promote(NAME, "9", actor="a", reason="r", source="manual")
    registry.promote(NAME, "1", actor="a", reason="r", source="manual")
    with pytest.raises(ValueError, match="version 1 of quantflow-ridge is already the champion"):
        registry.promote(NAME, "1", actor="a", reason="r", source="manual")
    with pytest.raises(ValueError, match="version 1 is the first champion; nothing to roll back to"):
        registry.rollback(NAME, actor="a", reason="r")
    registry.client().set_registered_model_alias(NAME, "champion", "2")  # moved outside the tool
    with pytest.raises(ValueError, match=r"does not match the recorded history \['1'\]"):
        registry.rollback(NAME, actor="a", reason="r")


def test_audit_log_only_grows(store):
    _, _, registry = store
    registry.promote(NAME, "1", actor="a", reason="one", source="manual")
    first = registry.audit_log_path.read_text()
    registry.promote(NAME, "2", actor="b", reason="two", source="manual")
    registry.rollback(NAME, actor="c", reason="three")
    text = registry.audit_log_path.read_text()
    assert text.startswith(first)
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["action"], r["actor"], r["reason"]) for r in records] == [
        ("promote", "a", "one"), ("promote", "b", "two"), ("rollback", "c", "three")]
    assert all(r["ts"].endswith("+00:00") for r in records)


def test_qf_models_list_promote_rollback_are_recorded_and_re_pin_dagster(store, capsys):
    state_dir, tracking_uri, registry = store
    assert _qf(state_dir, tracking_uri, "promote", "--version", "1", "--reason", "start", "--actor", "ann") == 0
    assert _qf(state_dir, tracking_uri, "promote", "--version", "2", "--reason", "newer", "--actor", "ann") == 0
    out = capsys.readouterr().out
    assert "promote: quantflow-ridge champion 1 -> 2" in out
    assert "champion_model re-pinned to quantflow-ridge/2" in out
    assert _qf(state_dir, tracking_uri, "rollback", "--reason", "oops", "--actor", "ann") == 0
    assert "rollback: quantflow-ridge champion 2 -> 1" in capsys.readouterr().out
    assert registry.aliases(NAME)["champion"] == "1"
    assert _qf(state_dir, tracking_uri, "list") == 0
    listing = capsys.readouterr().out
    assert "quantflow-ridge (champion history: 1)" in listing
    lines = listing.splitlines()
    header = lines[1].split()
    assert header[:3] == ["version", "aliases", "trained_through"]
    assert lines[2].split()[:2] == ["2", "challenger"] and lines[3].split()[:2] == ["1", "champion"]
    assert "rollback" in listing and "by ann: oops" in listing
    # each manual action re-pinned the champion reference in Dagster, tagged as manual
    instance = dg.DagsterInstance.get()
    events = instance.fetch_materializations(dg.AssetKey("champion_model"), limit=10).records
    pinned = [e.asset_materialization.metadata["version"].value for e in reversed(events)]
    assert pinned == ["1", "2", "1"]
    run = instance.get_run_by_id(events[0].run_id)
    assert run.tags["quantflow/trigger"] == "manual" and run.tags["quantflow/actor"] == "ann"
    assert _qf(state_dir, tracking_uri, "rollback", "--reason", "again", "--no-repin") == cli_models.EXIT_REFUSED
    assert "nothing to roll back to" in capsys.readouterr().err
    instance.dispose()
