"""MLflow tracking as a Dagster resource: one MLflow run per Dagster run, nested runs below it.

The logging itself is ``quant_registry`` (no Dagster there); this resource adds the Dagster side:
settings shown in the UI (or taken from environment variables with ``dg.EnvVar``) and
:meth:`MlflowTracker.asset_run`, which opens the nested run of one asset materialization tagged
with the Dagster run id, job, asset key, partition and data version.

Why not ``dagster-mlflow``: its ``mlflow_tracking`` resource is an old-style beta resource that
sets MLflow's process-global active run and ends runs early (dagster-io/dagster#21872); here every
step talks to MLflow through an explicit client and finds the Dagster run's parent run by tag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from quant_registry.runs import RunLogger, TrackingOperations


class MlflowTracker(dg.ConfigurableResource, TrackingOperations):
    """Where MLflow runs, artifacts and registered models go."""

    tracking_uri: str = Field(description="MLflow tracking URI: sqlite:///... locally, or http://host:5000")
    artifact_root: str | None = Field(
        default=None,
        description="Directory for artifacts of a new experiment (local stores); None lets the server decide",
    )
    experiment_name: str = Field(default="quantflow-research", description="MLflow experiment name")
    registry_prefix: str = Field(default="quantflow", description="Registered models are named <prefix>-<family>")

    @contextmanager
    def asset_run(self, context: dg.AssetExecutionContext, data_version: str,
                  extra_tags: Mapping[str, str] | None = None) -> Iterator[RunLogger]:
        """Open the nested MLflow run of one asset materialization inside its Dagster run."""
        partition = context.partition_key if context.has_partition_key else ""
        base_tags = {"dagster.run_id": context.run.run_id, "dagster.job": context.run.job_name,
                     "dagster.partition": partition, "data_version": data_version}
        asset_key = context.asset_key.to_user_string()
        with self.nested_run(context.run.run_id, asset_key, base_tags,
                             {"dagster.asset_key": asset_key, **(extra_tags or {})}) as run:
            yield run
