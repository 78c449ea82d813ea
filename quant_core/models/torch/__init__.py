"""Torch signal families (MLP, LSTM, GRU, TCN, Transformer, GNN, DeepLOB) and their one trainer.

Importing this package does not import torch: the estimators and configs are torch-free at
import time, and the trainer, batching and network modules load on first use
(``quant_core.models.torch.Trainer`` or ``from quant_core.models.torch.trainer import Trainer``).
"""

from __future__ import annotations

import importlib
from typing import Any

from quant_core.models.torch.configs import (
    GRUConfig,
    LSTMConfig,
    MLPConfig,
    TCNConfig,
    TorchFamilyConfig,
    TrainerConfig,
    TransformerConfig,
)
from quant_core.models.torch.deeplob import DeepLOBClassifier, DeepLOBConfig
from quant_core.models.torch.estimators import (
    GRURegressor,
    LSTMRegressor,
    MLPRegressor,
    TCNRegressor,
    TransformerRegressor,
)
from quant_core.models.torch.graph import GNNConfig, GraphAttentionRegressor
from quant_core.models.torch.lob_data import lob_feature_columns
from quant_core.models.torch.panel import TorchPanelRegressor

_LAZY = {
    "Trainer": "quant_core.models.torch.trainer",
    "TrainResult": "quant_core.models.torch.trainer",
    "DateBatches": "quant_core.models.torch.batches",
    "SequenceCollate": "quant_core.models.torch.batches",
    "resolve_device": "quant_core.models.torch.device",
    "GATNet": "quant_core.models.torch.gat",
    "GraphCollate": "quant_core.models.torch.gat",
    "DeepLOBNet": "quant_core.models.torch.deeplob_net",
    "WindowBatches": "quant_core.models.torch.deeplob_net",
}

__all__ = [
    "DateBatches",
    "DeepLOBClassifier",
    "DeepLOBConfig",
    "DeepLOBNet",
    "GATNet",
    "GNNConfig",
    "GRUConfig",
    "GRURegressor",
    "GraphAttentionRegressor",
    "GraphCollate",
    "LSTMConfig",
    "LSTMRegressor",
    "MLPConfig",
    "MLPRegressor",
    "SequenceCollate",
    "TCNConfig",
    "TCNRegressor",
    "TorchFamilyConfig",
    "TorchPanelRegressor",
    "TrainResult",
    "Trainer",
    "TrainerConfig",
    "TransformerConfig",
    "TransformerRegressor",
    "WindowBatches",
    "lob_feature_columns",
    "resolve_device",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
