"""Dagster resources: data source, MLflow tracking, local state."""

from dagster_project.resources.io_manager import QuantflowIOManager
from dagster_project.resources.market_data import MarketDataSource
from dagster_project.resources.mlflow_tracker import MlflowTracker, RunLogger
from dagster_project.resources.state import ProjectState

__all__ = ["MarketDataSource", "MlflowTracker", "ProjectState", "QuantflowIOManager", "RunLogger"]
