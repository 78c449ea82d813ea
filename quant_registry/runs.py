"""Logging into MLflow runs through an explicit client (no global active run).

Layout in the tracking store that the orchestration builds with these pieces::

    <experiment>
      dagster run <run id>            tags: dagster.run_id, quantflow.kind=dagster_run
        <asset key>                   tags: dagster.asset_key, dagster.partition, data_version
          fold 0 .. fold k-1          per-fold params, metrics and training curves

:func:`parent_run_id` finds (or creates) the run that stands for one orchestration run by its
tag, so several steps of one run, in one process or many, log below the same parent.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quant_registry.client import MAX_BATCH_BYTES, MAX_TAG_CHARS, ensure_registered_model

PARENT_KIND = "dagster_run"
MAX_CURVE_POINTS = 100  # metric-history points per logged curve (the artifact keeps them all)


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
        from quant_registry.pyfunc import save_signal_model

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "model"
            save_signal_model(model, features, local)
            self.client.log_artifacts(self.run_id, str(local), "model")
        # the run's absolute artifact location, not "runs:/...": resolving that would consult
        # MLflow's process-global tracking URI, which another store may have set
        artifact_uri = self.artifact_uri or self.client.get_run(self.run_id).info.artifact_uri
        source = f"{artifact_uri.rstrip('/')}/model"
        ensure_registered_model(self.client, registered_name)
        version = self.client.create_model_version(
            registered_name, source, run_id=self.run_id,
            tags={k: str(v)[:MAX_TAG_CHARS] for k, v in (tags or {}).items()},
        )
        self.client.set_registered_model_alias(registered_name, "challenger", version.version)
        return f"models:/{registered_name}/{version.version}", str(version.version)




# Per-process memo of MLflow objects that never change once they exist, keyed by tracking URI:
# each lookup is a database round trip, and every step of a run needs them.
_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}
_PARENT_RUN_IDS: dict[tuple[str, str, str], str] = {}


class TrackingOperations:
    """Experiment, parent-run and registered-name lookups on ``self.tracking_uri``.

    A mixin: the class it is mixed into provides ``tracking_uri``, ``artifact_root`` (a folder
    for a new experiment's artifacts, or None), ``experiment_name`` and ``registry_prefix`` (the
    orchestration's ``MlflowTracker`` resource, or :class:`Tracker` here).
    """

    def client(self):
        from quant_registry.client import open_client

        return open_client(self.tracking_uri)

    def registered_name(self, family: str) -> str:
        return f"{self.registry_prefix}-{family}"

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

    def parent_run_id(self, orchestration_run_id: str, tags: Mapping[str, str] | None = None) -> str:
        """The MLflow run that stands for one orchestration (Dagster) run: found by tag, created
        when absent."""
        key = (self.tracking_uri, self.experiment_name, orchestration_run_id)
        if key not in _PARENT_RUN_IDS:
            _PARENT_RUN_IDS[key] = self._find_or_create_parent(orchestration_run_id, tags)
        return _PARENT_RUN_IDS[key]

    def _find_or_create_parent(self, orchestration_run_id: str, tags: Mapping[str, str] | None) -> str:
        client = self.client()
        experiment_id = self.experiment_id(client)
        found = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`dagster.run_id` = '{orchestration_run_id}' and "
            f"tags.`quantflow.kind` = '{PARENT_KIND}'",
            max_results=1,
        )
        if found:
            return found[0].info.run_id
        all_tags = {**(tags or {}), "dagster.run_id": orchestration_run_id, "quantflow.kind": PARENT_KIND}
        run = client.create_run(experiment_id, run_name=f"dagster run {orchestration_run_id[:8]}",
                                tags=all_tags)
        client.set_terminated(run.info.run_id, "FINISHED")
        return run.info.run_id

    @contextmanager
    def nested_run(self, orchestration_run_id: str, run_name: str, base_tags: Mapping[str, str],
                   extra_tags: Mapping[str, str] | None = None) -> Iterator[RunLogger]:
        """A run nested below the orchestration run's parent, finished on exit, failed on error."""
        base = {**base_tags, "dagster.run_id": orchestration_run_id}
        parent_id = self.parent_run_id(orchestration_run_id, base)
        client = self.client()
        parent = RunLogger(client, parent_id, self.experiment_id(client), base)
        with parent.child(run_name, dict(extra_tags or {})) as run:
            yield run


@dataclass(frozen=True)
class Tracker(TrackingOperations):
    """Tracking without an orchestrator (benchmarks, notebooks, the scoring service)."""

    tracking_uri: str
    artifact_root: str | None = None
    experiment_name: str = "quantflow-research"
    registry_prefix: str = "quantflow"
