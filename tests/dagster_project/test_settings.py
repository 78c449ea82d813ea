"""Deployment settings reach the resources as ``dg.EnvVar`` when the code location loads, and no
module reads the environment at import."""

import ast
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[2]
# dagster_project/__init__.py turns MLflow's telemetry off before mlflow is imported (a default
# written, not a setting read); it is the one module-level use allowed
ALLOWED = {("dagster_project/__init__.py", "setdefault")}


def _module_level_environ_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if not inside and isinstance(child, ast.Attribute) and child.attr in ("environ", "getenv") \
                    and isinstance(child.value, ast.Name) and child.value.id == "os":
                found.append(child.lineno)
            visit(child, inside)

    visit(tree, False)
    text = path.read_text().splitlines()
    rel = str(path.relative_to(ROOT))
    return [f"{rel}:{n}: {text[n - 1].strip()}" for n in found
            if not any(rel == a and word in text[n - 1] for a, word in ALLOWED)]


def test_no_module_reads_the_environment_at_import():
    bad = []
    for package in ("quant_core", "quant_registry", "dagster_project"):
        for path in sorted((ROOT / package).rglob("*.py")):
            bad += _module_level_environ_uses(path)
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_module_level_read(tmp_path):
    path = ROOT / "dagster_project" / "_probe_for_test.py"
    try:
        path.write_text("import os\nX = os.environ.get('A')\n\ndef f():\n    return os.getenv('B')\n")
        assert [line.split(": ", 1)[1] for line in _module_level_environ_uses(path)] == ["X = os.environ.get('A')"]
    finally:
        path.unlink()


def test_settings_in_the_environment_become_env_vars_in_resource_config(tmp_path, monkeypatch):
    monkeypatch.setenv("QF_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("QF_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    monkeypatch.setenv("QF_PANEL_PATH", str(tmp_path / "panel.parquet"))
    monkeypatch.setenv("QF_TIMEZONE", "Europe/London")
    from dagster_project.definitions import defs

    loaded = defs()
    resources = loaded.resources
    assert isinstance(resources["mlflow"].tracking_uri, dg.EnvVar)
    assert isinstance(resources["registry"].tracking_uri, dg.EnvVar)
    assert isinstance(resources["state"].state_dir, dg.EnvVar)
    assert isinstance(resources["market_data"].panel_path, dg.EnvVar)
    assert loaded.resolve_schedule_def("nightly_retrain").execution_timezone == "Europe/London"


def test_without_settings_the_defaults_are_plain_values(tmp_path, monkeypatch):
    for name in ("QF_STATE_DIR", "QF_MLFLOW_TRACKING_URI", "QF_PANEL_PATH", "QF_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    from dagster_project.definitions import defs

    resources = defs().resources
    assert resources["state"].state_dir == str((tmp_path / ".qf_state").resolve())
    assert resources["mlflow"].tracking_uri == f"sqlite:///{(tmp_path / '.qf_state').resolve() / 'mlflow' / 'mlflow.db'}"
    assert resources["market_data"].panel_path is None


@pytest.mark.slow
def test_a_run_resolves_the_env_vars_where_its_steps_run(tmp_path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setenv("QF_STATE_DIR", str(state))
    monkeypatch.delenv("QF_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("QF_PANEL_PATH", raising=False)
    from dagster_project.definitions import defs

    job = defs().resolve_job_def("research_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("feature_snapshots"), dg.AssetKey("targets"),
                                                dg.AssetKey("folds")],
            run_config={"ops": {"feature_snapshots_feature_snapshots_contract": {
                "config": {"use_great_expectations": False}}}})
    assert result.success
    assert (state / "reports" / "fold_layout.png").stat().st_size > 1000  # ProjectState read QF_STATE_DIR


def test_the_state_directory_is_found_the_way_git_finds_its_repository(tmp_path, monkeypatch):
    from dagster_project.paths import default_state_dir

    monkeypatch.delenv("QF_STATE_DIR", raising=False)
    project = tmp_path / "project"
    deep = project / "notebooks" / "2026"
    deep.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "quantflow"\n')
    assert default_state_dir(deep) == project / ".qf_state"  # beside the project's pyproject
    (project / "notebooks" / ".qf_state").mkdir()
    assert default_state_dir(deep) == project / "notebooks" / ".qf_state"  # the nearest one wins
    monkeypatch.setenv("QF_STATE_DIR", str(tmp_path / "elsewhere"))
    assert default_state_dir(deep) == (tmp_path / "elsewhere").resolve()  # the variable wins


def test_qf_from_a_subfolder_uses_and_names_the_projects_state(tmp_path, monkeypatch, capsys):
    from dagster_project.cli import main

    monkeypatch.delenv("QF_STATE_DIR", raising=False)
    monkeypatch.delenv("QF_MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / ".qf_state").mkdir()
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert main(["models", "list"]) == 0
    assert f"qf: state directory {tmp_path / '.qf_state'}" in capsys.readouterr().err
    assert not (sub / ".qf_state").exists() and (tmp_path / ".qf_state" / "mlflow").is_dir()


def test_qf_run_and_qf_ingest_give_one_file_one_data_version(tmp_path):
    from quant_core.data.ingest import ingest_panel
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.stages import load_feature_snapshot

    prices = simulate_market(SyntheticMarketConfig(n_assets=20, n_days=90, seed=4)).panel.select(
        ["date", "asset", "open", "high", "low", "close", "volume", "sector"])
    path = tmp_path / "prices.csv"
    prices.write_csv(path)  # price only: qf run builds features, the version is still the file's
    ingested = ingest_panel(path, tmp_path / "store", use_great_expectations=False)
    assert load_feature_snapshot(str(path)).data_version == ingested.version
