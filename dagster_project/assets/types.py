"""What model assets hand downstream: out-of-fold predictions and the exact registered model."""

from dataclasses import dataclass
from typing import Any

from quant_core.models.training import FoldwiseResult


@dataclass(frozen=True)
class TrainedFamily:
    """Fold-wise models of one family, their OOF predictions and the registered final model.

    ``model_uri`` (``models:/<name>/<version>``) is the version this run registered; downstream
    steps load exactly it, never "the latest".
    """

    family: str
    result: FoldwiseResult
    final_model: Any
    features: tuple[str, ...]
    model_uri: str
    model_version: str
    mlflow_run_id: str
