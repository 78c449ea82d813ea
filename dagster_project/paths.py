"""Where the project keeps its state, and how deployment settings reach the resources.

Nothing here runs at import. Settings are read when the code location is loaded
(``definitions.defs`` is a ``@dg.definitions`` function) or when a command runs:

  QF_STATE_DIR              state directory (default: .qf_state in the working directory)
  QF_MLFLOW_TRACKING_URI    MLflow tracking URI (default: a sqlite store under the state dir)
  QF_PANEL_PATH             a user panel to research (default: the ingested store, else the
                            synthetic market)
  QF_TIMEZONE               time zone of the schedules (default UTC)

A setting given in the environment reaches resource config as ``dg.EnvVar(NAME)``: the launchpad
and the run's stored config show the variable's name, and the value is read where the step runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "QF_STATE_DIR"
TRACKING_URI_ENV = "QF_MLFLOW_TRACKING_URI"
PANEL_PATH_ENV = "QF_PANEL_PATH"
TIMEZONE_ENV = "QF_TIMEZONE"
DEFAULT_STATE_DIR = ".qf_state"
DEFAULT_TIMEZONE = "UTC"


def default_state_dir(start: str | Path | None = None) -> Path:
    """The project's state directory, found the way git finds its repository.

    ``$QF_STATE_DIR`` wins. Otherwise the nearest ``.qf_state`` folder in the working directory
    (or ``start``) or one of its parents; failing that, ``.qf_state`` beside the nearest
    ``pyproject.toml`` of this project (``name = "quantflow"``); failing that, ``.qf_state`` in
    the working directory. So ``qf`` run from a subfolder of the project uses the project's state.
    """
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_STATE_DIR).is_dir():
            return folder / DEFAULT_STATE_DIR
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        if project.is_file() and 'name = "quantflow"' in project.read_text(errors="ignore"):
            return folder / DEFAULT_STATE_DIR
    return here / DEFAULT_STATE_DIR


def local_tracking_uri(state_dir: str | Path) -> str:
    """The sqlite MLflow store under a state directory."""
    return f"sqlite:///{Path(state_dir) / 'mlflow' / 'mlflow.db'}"


def default_tracking_uri(state_dir: str | Path) -> str:
    """``$QF_MLFLOW_TRACKING_URI``, else the sqlite store under ``state_dir``."""
    return os.environ.get(TRACKING_URI_ENV) or local_tracking_uri(state_dir)


def default_timezone() -> str:
    return os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE


def env_or(name: str, default: str | None) -> Any:
    """``dg.EnvVar(name)`` when the variable is set (resolved where the step runs), else ``default``.

    (dagster is imported here, not at the top: the command line reads these paths without it.)
    """
    if not os.environ.get(name):
        return default
    import dagster as dg

    return dg.EnvVar(name)
