"""Dagster resources: data source, MLflow tracking and registry (wrapping quant_registry), local
state, the IO manager and the retrain policy."""

from dagster_project.resources.io_manager import QuantflowIOManager
from dagster_project.resources.market_data import MarketDataSource
from dagster_project.resources.mlflow import MlflowTracker
from dagster_project.resources.registry import ModelRegistry
from dagster_project.resources.retrain_policy import RetrainPolicy
from dagster_project.resources.state import ProjectState

__all__ = ["MarketDataSource", "MlflowTracker", "ModelRegistry", "ProjectState", "QuantflowIOManager",
           "RetrainPolicy"]
