"""``make demo`` prints the same table, to the last digit, as the golden file recorded before the
layout change (issue 12): same seed, same numbers, whatever moved in the code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "demo_table.txt"


def _table(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("models and oracle"))
    end = next(i for i, line in enumerate(lines) if line.startswith("ensemble weights"))
    return lines[start:end + 1]


@pytest.mark.slow
def test_qf_demo_prints_the_golden_table(tmp_path):
    env = {**os.environ, "QF_STATE_DIR": str(tmp_path / "state"), "DAGSTER_HOME": str(tmp_path / "state" / "dagster"),
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("QF_MLFLOW_TRACKING_URI", None)
    env.pop("QF_PANEL_PATH", None)
    done = subprocess.run([sys.executable, "-m", "dagster_project.cli", "--state-dir", str(tmp_path / "state"), "demo"],
                          check=False, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _table(done.stdout) == GOLDEN.read_text().splitlines()
