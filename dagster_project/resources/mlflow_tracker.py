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
import threading
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
CURVES_ARTIFACT = "training_curves.json"  # every fold's full curves, round by round
MAX_CURVE_POINTS = 100  # metric-history points per logged curve (the artifact keeps them all)
MAX_BATCH_BYTES = 900_000  # MLflow servers refuse log_batch requests over 1 MB


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


def _thin_curve(values: list[float], max_points: int = MAX_CURVE_POINTS) -> list[tuple[int, float]]:
    """``(step, value)`` of the finite points of a curve, at most ``max_points`` of them: evenly
    spaced steps plus the first, the last, the lowest and the highest (the best point of a loss
    and of a score such as validation Rank IC alike)."""
    points = [(i, float(v)) for i, v in enumerate(values) if math.isfinite(float(v))]
    if len(points) <= max_points:
        return points
    keep = {round(k * (len(points) - 1) / (max_points - 3)) for k in range(max_points - 2)}
    keep.add(min(range(len(points)), key=lambda k: points[k][1]))
    keep.add(max(range(len(points)), key=lambda k: points[k][1]))
    return [points[k] for k in sorted(keep)]


_STORE_INIT_LOCK = threading.Lock()
_READY_STORES: set[str] = set()


def open_client(tracking_uri: str):
    """An ``MlflowClient`` on ``tracking_uri`` (also its model registry) whose stores exist.

    The first client of a process on a new SQLite store creates and migrates its schema (about
    1.5 s). MLflow's store constructor does not guard that against a second thread or process
    doing the same at once (two steps of a parallel run on a fresh store), so it happens here
    under a lock: a thread lock, and an exclusive lock on ``<db>.init-lock`` across processes.
    """
    from mlflow import MlflowClient

    if tracking_uri not in _READY_STORES:
        with _STORE_INIT_LOCK, _sqlite_init_lock(tracking_uri):
            if tracking_uri not in _READY_STORES:
                # constructing the client opens (creates, migrates) the tracking store
                client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
                client.search_registered_models(max_results=1)  # and the registry store
                _READY_STORES.add(tracking_uri)
                return client
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextmanager
def _sqlite_init_lock(tracking_uri: str) -> Iterator[None]:
    path = Path(tracking_uri.removeprefix("sqlite:///")) if tracking_uri.startswith("sqlite:///") else None
    if path is None or not path.parent.is_dir():
        yield
        return
    import fcntl

    try:
        handle = open(f"{path}.init-lock", "a")  # noqa: SIM115 - closed below
    except OSError:  # a read-only state directory: nothing will be created there either
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Per-process memo of MLflow objects that never change once they exist, keyed by tracking URI:
# each lookup is a database round trip, and every asset of a run needs them.
_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}
_PARENT_RUN_IDS: dict[tuple[str, str, str], str] = {}
_REGISTERED_MODELS: set[tuple[str, str]] = set()


def _ensure_registered_model(client: Any, name: str) -> None:
    key = (client.tracking_uri, name)
    if key in _REGISTERED_MODELS:
        return
    try:
        client.get_registered_model(name)
    except Exception:  # noqa: BLE001 - MlflowException when absent
        try:
            client.create_registered_model(name)
        except Exception:  # noqa: BLE001 - created concurrently by another step
            client.get_registered_model(name)
    _REGISTERED_MODELS.add(key)


@dataclass
class RunLogger:
    """Logs into one MLflow run; ``child`` opens a nested run below it."""

    client: Any
    run_id: str
    experiment_id: str
    base_tags: dict[str, str]
    artifact_uri: str | None = None  # known when this logger created the run

    def log(self, params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
            curves: Mapping[str, list[float]] | None = None, tags: Mapping[str, Any] | None = None) -> None:
        """Params, metrics (numeric and finite only), training curves and tags in as few
        ``log_batch`` requests as MLflow's limits allow (1,000 items, of which at most 100 params
        and 100 tags, per request): one for a typical fold.

        A curve is logged as metric history with the round (or epoch) as its step, thinned to
        at most ``MAX_CURVE_POINTS`` evenly spaced rounds that always include the first, the
        last, the lowest and the highest: the chart keeps its shape and its best point, and
        the SQLite store is spared thousands of rows per model (each costs ~40 us to insert).
        Callers that need every round log them as an artifact (see ``CURVES_ARTIFACT``)."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        items: list[Any] = [Param(k, str(v)[:6000]) for k, v in (params or {}).items()]
        items += [RunTag(k, str(v)[:MAX_TAG_CHARS]) for k, v in (tags or {}).items()]
        items += [Metric(k, v, now, 0) for k, v in _clean_metrics(metrics or {}).items()]
        for name, values in (curves or {}).items():
            items += [Metric(name, value, now, step) for step, value in _thin_curve(values)]
        batch: dict[type, list[Any]] = {Param: [], RunTag: [], Metric: []}
        limits = {Param: 100, RunTag: 100, Metric: 1000}
        size = 0  # approximate request bytes: a tracking server refuses batches over 1 MB

        def flush() -> None:
            nonlocal size
            if any(batch.values()):
                self.client.log_batch(self.run_id, metrics=batch[Metric], params=batch[Param], tags=batch[RunTag])
                for kind in batch:
                    batch[kind] = []
            size = 0

        for item in items:
            kind = type(item)
            item_bytes = len(item.key) + (len(item.value) if kind is not Metric else 40) + 40
            if (len(batch[kind]) >= limits[kind] or sum(map(len, batch.values())) >= 1000
                    or size + item_bytes > MAX_BATCH_BYTES):
                flush()
            batch[kind].append(item)
            size += item_bytes
        flush()

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.log(params=params)

    def log_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Numeric, finite values only (dates, strings and NaN are skipped)."""
        self.log(metrics=metrics)

    def log_curve(self, name: str, values: list[float]) -> None:
        """A training curve: one metric with one step per boosting round or epoch."""
        self.log(curves={name: values})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.log(tags=tags)

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
        child = RunLogger(self.client, run.info.run_id, self.experiment_id, self.base_tags, run.info.artifact_uri)
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
        artifact_uri = self.artifact_uri or self.client.get_run(self.run_id).info.artifact_uri
        source = f"{artifact_uri.rstrip('/')}/model"
        _ensure_registered_model(self.client, registered_name)
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
        return open_client(self.tracking_uri)

    def experiment_id(self, client=None) -> str:
        key = (self.tracking_uri, self.experiment_name)
        if key not in _EXPERIMENT_IDS:
            _EXPERIMENT_IDS[key] = self._find_or_create_experiment(client or self.client())
        return _EXPERIMENT_IDS[key]

    def _find_or_create_experiment(self, client) -> str:
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
        key = (self.tracking_uri, self.experiment_name, dagster_run_id)
        if key not in _PARENT_RUN_IDS:
            _PARENT_RUN_IDS[key] = self._find_or_create_parent(dagster_run_id, tags)
        return _PARENT_RUN_IDS[key]

    def _find_or_create_parent(self, dagster_run_id: str, tags: Mapping[str, str] | None) -> str:
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
