"""MLflow tracking as a Dagster resource: one MLflow run per Dagster run, nested runs below it.

Layout in the tracking store::

    <experiment>
      dagster run <run id>            tags: dagster.run_id, quantflow.kind=dagster_run
        <asset key>                   tags: dagster.asset_key, dagster.partition, data_version
          fold 0 .. fold k-1          per-fold params, metrics and training curves

The resource talks to MLflow through an explicit ``MlflowClient`` (no global active run), so
several assets of one Dagster run, in one process or many, find the same parent run by its tag.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

PARENT_KIND = "dagster_run"
MAX_TAG_CHARS = 5000  # MLflow's limit on a tag value
# artifacts every registered signal model carries on its run (the lifecycle reads them back)
OOF_ARTIFACT = "lifecycle/oof_predictions.parquet"  # date, asset, fold, prediction, target
REFERENCE_ARTIFACT = "lifecycle/reference.parquet"  # newest training dates: features + score
MODEL_CARD_ARTIFACT = "model_card.md"


@functools.lru_cache(maxsize=1)
@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of this code (``<sha>`` or ``<sha>-dirty``), or ``"unknown"`` outside git.

    Read once per process: the code a process runs does not change under it.
    """
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def config_hash(config: Mapping[str, Any]) -> str:
    """A short hash of a training configuration (keys sorted), to tell recipes apart."""
    payload = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _clean_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        value = float(value)
        if math.isfinite(value):
            out[key] = value
    return out


@dataclass
class RunLogger:
    """Logs into one MLflow run; ``child`` opens a nested run below it."""

    client: Any
    run_id: str
    experiment_id: str
    base_tags: dict[str, str]

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def _log_metric_points(self, points: list[tuple[str, float, int]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(key, value, now, step) for key, value, step in points]
        for first in range(0, len(items), 500):
            self.client.log_batch(self.run_id, metrics=items[first : first + 500])

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Numeric, finite values only (dates, strings and NaN are skipped)."""
        self._log_metric_points([(k, v, step or 0) for k, v in _clean_metrics(metrics).items()])

    def log_curve(self, name: str, values: list[float]) -> None:
        """A training curve: one metric with one step per boosting round or epoch."""
        self._log_metric_points([(name, float(v), i) for i, v in enumerate(values) if math.isfinite(float(v))])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_json(self, payload: Any, file_name: str) -> None:
        self.client.log_text(self.run_id, json.dumps(payload, indent=2, default=str), file_name)

    def log_text(self, text: str, file_name: str) -> None:
        """A text artifact (markdown, CSV ...) at ``file_name`` inside the run."""
        self.client.log_text(self.run_id, text, file_name)

    def log_parquet(self, frame: Any, file_name: str) -> None:
        """A polars frame as a parquet artifact at ``file_name`` (e.g. ``lifecycle/oof.parquet``)."""
        path = Path(file_name)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / path.name
            frame.write_parquet(local)
            self.client.log_artifact(self.run_id, str(local), str(path.parent) if path.parent.parts else None)

    @contextmanager
    def child(self, run_name: str, tags: Mapping[str, str] | None = None) -> Iterator[RunLogger]:
        """Open a nested run (``mlflow.parentRunId`` = this run); finished on exit, failed on error."""
        all_tags = {**self.base_tags, **(tags or {}), "mlflow.parentRunId": self.run_id}
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=all_tags)
        child = RunLogger(self.client, run.info.run_id, self.experiment_id, self.base_tags)
        try:
            yield child
        except BaseException:
            self.client.set_terminated(child.run_id, "FAILED")
            raise
        self.client.set_terminated(child.run_id, "FINISHED")

    def log_signal_model(self, model: Any, features: list[str], registered_name: str,
                         tags: Mapping[str, str] | None = None) -> tuple[str, str]:
        """Log a fitted quant_core model as an MLflow pyfunc and register a new version.

        Returns ``(model_uri, version)``; ``model_uri`` is ``models:/<name>/<version>``, the exact
        version a downstream step must load.
        """
        from dagster_project.resources.mlflow_model import save_signal_model

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "model"
            save_signal_model(model, features, local)
            self.client.log_artifacts(self.run_id, str(local), "model")
        # the run's absolute artifact location, not "runs:/...": resolving that would consult
        # MLflow's process-global tracking URI, which another store may have set
        source = f"{self.client.get_run(self.run_id).info.artifact_uri.rstrip('/')}/model"
        try:
            self.client.get_registered_model(registered_name)
        except Exception:  # noqa: BLE001 - MlflowException when absent
            self.client.create_registered_model(registered_name)
        version = self.client.create_model_version(
            registered_name, source, run_id=self.run_id,
            tags={k: str(v)[:MAX_TAG_CHARS] for k, v in (tags or {}).items()},
        )
        self.client.set_registered_model_alias(registered_name, "challenger", version.version)
        return f"models:/{registered_name}/{version.version}", str(version.version)


class MlflowTracker(dg.ConfigurableResource):
    """Where MLflow runs, artifacts and registered models go."""

    tracking_uri: str = Field(description="MLflow tracking URI: sqlite:///... locally, or http://host:5000")
    artifact_root: str | None = Field(
        default=None,
        description="Directory for artifacts of a new experiment (local stores); None lets the server decide",
    )
    experiment_name: str = Field(default="quantflow-research", description="MLflow experiment name")
    registry_prefix: str = Field(default="quantflow", description="Registered models are named <prefix>-<family>")

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def experiment_id(self, client=None) -> str:
        client = client or self.client()
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        location = None
        if self.artifact_root:
            Path(self.artifact_root).mkdir(parents=True, exist_ok=True)
            location = Path(self.artifact_root).resolve().as_uri()
        try:
            return client.create_experiment(self.experiment_name, artifact_location=location)
        except Exception:  # noqa: BLE001 - created concurrently by another step
            return client.get_experiment_by_name(self.experiment_name).experiment_id

    def registered_name(self, family: str) -> str:
        return f"{self.registry_prefix}-{family}"

    def parent_run_id(self, dagster_run_id: str, tags: Mapping[str, str] | None = None) -> str:
        """The MLflow run that stands for a Dagster run: found by tag, created when absent."""
        client = self.client()
        experiment_id = self.experiment_id(client)
        found = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`dagster.run_id` = '{dagster_run_id}' and "
            f"tags.`quantflow.kind` = '{PARENT_KIND}'",
            max_results=1,
        )
        if found:
            return found[0].info.run_id
        all_tags = {**(tags or {}), "dagster.run_id": dagster_run_id, "quantflow.kind": PARENT_KIND}
        run = client.create_run(experiment_id, run_name=f"dagster run {dagster_run_id[:8]}",
                                tags=all_tags)
        client.set_terminated(run.info.run_id, "FINISHED")
        return run.info.run_id

    @contextmanager
    def asset_run(self, context: dg.AssetExecutionContext, data_version: str,
                  extra_tags: Mapping[str, str] | None = None) -> Iterator[RunLogger]:
        """Open the nested MLflow run of one asset materialization inside its Dagster run."""
        partition = context.partition_key if context.has_partition_key else ""
        base_tags = {
            "dagster.run_id": context.run.run_id,
            "dagster.job": context.run.job_name,
            "dagster.partition": partition,
            "data_version": data_version,
        }
        parent_id = self.parent_run_id(context.run.run_id, base_tags)
        client = self.client()
        parent = RunLogger(client, parent_id, self.experiment_id(client), base_tags)
        asset_key = context.asset_key.to_user_string()
        with parent.child(asset_key, {"dagster.asset_key": asset_key, **(extra_tags or {})}) as run:
            yield run
