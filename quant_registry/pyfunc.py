"""A quant_core model as an MLflow pyfunc: scoring new data needs only ``mlflow.pyfunc.load_model``.

The wrapper stores the fitted model (pickled) and its feature list; ``predict`` takes a pandas or
polars frame with those feature columns and returns one score per row.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import polars as pl


class SignalModelPyfunc(mlflow.pyfunc.PythonModel):
    """Scores a pandas frame with a fitted quant_core model; columns are selected by name.

    The ``pd.DataFrame`` type hint lets MLflow validate the input (pyfunc hands pandas frames).
    """

    def __init__(self, model: Any, features: list[str]):
        self.model = model
        self.features = list(features)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        frame = pl.from_pandas(model_input)
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise ValueError(f"model needs feature columns {missing}, got {frame.columns}")
        return np.asarray(self.model.predict(frame), dtype=np.float64)


def save_signal_model(model: Any, features: list[str], path: Path) -> None:
    """Write an MLflow model directory for ``model`` at ``path``.

    The model is cloudpickled (our own code, loaded by our own code); MLflow's notice about
    that is silenced here, not globally.
    """
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_logger.level
    pyfunc_logger.setLevel(logging.ERROR)
    try:
        mlflow.pyfunc.save_model(
            str(path),
            python_model=SignalModelPyfunc(model, features),
            pip_requirements=["quantflow", "lightgbm==4.7.0", "polars==2.1.0", "numpy==2.4.6"],
        )
    finally:
        pyfunc_logger.setLevel(level)


def load_signal_model(model_uri: str, tracking_uri: str):
    """Load exactly the model version at ``model_uri`` (e.g. ``models:/quantflow-lightgbm/3``).

    Resolved through an explicit client and downloaded to a local folder, so no process-global
    MLflow tracking or registry URI is read or changed.
    """
    import tempfile

    from mlflow.artifacts import download_artifacts

    from quant_registry.client import open_client

    name, version = model_uri.removeprefix("models:/").rsplit("/", 1)
    client = open_client(tracking_uri)
    source = client.get_model_version_download_uri(name, version)
    # the wrapper is unpickled into memory by load_model, so the downloaded copy is not kept
    with tempfile.TemporaryDirectory(prefix="quantflow-model-") as tmp:
        local = download_artifacts(artifact_uri=source, dst_path=tmp, tracking_uri=tracking_uri)
        return mlflow.pyfunc.load_model(local)
