"""One small research run shared by the orchestration tests (a real Dagster instance and MLflow store)."""

from pathlib import Path

import dagster as dg
import pytest

from dagster_project.cli.research import _summarise, execute_research

SMALL_MARKET = {"n_assets": 80, "n_days": 420, "seed": 11}
SMALL_FOLDS = {"folds": {"n_splits": 3, "min_train_days": 200},
               "lightgbm_model": {"num_boost_round": 120, "inner_valid_days": 40}}


@pytest.fixture(scope="session")
def research_run(tmp_path_factory):
    """Materialize the whole research graph once, in-process, on a small synthetic market."""
    state_dir = tmp_path_factory.mktemp("qf_state")
    (state_dir / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(state_dir / "dagster"))
    result, defs, wall_s = execute_research(Path(state_dir), synthetic=SMALL_MARKET, quiet=True,
                                            instance=instance, op_config=SMALL_FOLDS)
    summary = _summarise(result, defs, wall_s)
    yield {"result": result, "defs": defs, "summary": summary, "state_dir": Path(state_dir),
           "instance": instance}
    instance.dispose()
