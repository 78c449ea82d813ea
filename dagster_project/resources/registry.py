"""The MLflow model registry as a Dagster resource (the operations are ``quant_registry``'s)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from quant_registry.registry import RegistryOperations


class ModelRegistry(dg.ConfigurableResource, RegistryOperations):
    """Champion / challenger aliases of the ``<prefix>-<family>`` registered models."""

    tracking_uri: str = Field(description="MLflow tracking and registry URI")
    state_dir: str = Field(description="The audit log and an artifact cache live under <state_dir>/registry")
    registry_prefix: str = Field(default="quantflow", description="Registered models are named <prefix>-<family>")
