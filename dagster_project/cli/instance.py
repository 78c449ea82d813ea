"""The local Dagster instance the command line runs against, and its one-line-per-step logger."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

# The local instance's dagster.yaml (written when absent; the Makefile writes the same). Debug
# messages (e.g. the IO manager's "Loading file from ...") stay out of the event log: on the
# local SQLite storage every stored record costs a few milliseconds. Events are always stored.
LOCAL_INSTANCE_SETTINGS = {"telemetry": {"enabled": False}, "python_logs": {"python_log_level": "INFO"}}


def prepare_dagster_home(state_dir: Path) -> Path:
    import yaml

    home = state_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(yaml.safe_dump(LOCAL_INSTANCE_SETTINGS))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


class ProgressHandler(logging.Handler):
    """Prints one line per step start/finish and per check result, nothing else."""

    def __init__(self, stream=None):
        super().__init__(logging.DEBUG)
        self.stream = stream or sys.stdout
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind, step = event.event_type_value, event.step_key
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            print(f"  - {step} ...", file=self.stream, flush=True)
        elif kind == "STEP_SUCCESS":
            elapsed = time.perf_counter() - self.started.get(step, time.perf_counter())
            print(f"  ok {step} ({elapsed:.1f} s)", file=self.stream, flush=True)
        elif kind == "STEP_FAILURE":
            print(f"  FAILED {step}", file=self.stream, flush=True)
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            verdict = "passed" if data.passed else "FAILED"
            print(f"  check {data.check_name}: {verdict}", file=self.stream, flush=True)


def progress_logger_def():
    import dagster as dg

    @dg.logger(description="One line per step and check, for the command line.")
    def progress(_init_context):
        # a fresh, unregistered logger per run, so handlers never pile up across runs
        logger = logging.Logger("quantflow.progress", level=logging.DEBUG)  # noqa: LOG001
        logger.addHandler(ProgressHandler())
        return logger

    return progress
