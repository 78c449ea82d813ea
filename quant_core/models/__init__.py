"""Signal models behind one protocol (fit / predict) and fold-wise training."""

from quant_core.models.base import SignalModel, feature_matrix, frame_to_xy, target_vector
from quant_core.models.lightgbm_model import LightGBMConfig, LightGBMRegressor
from quant_core.models.linear import RidgeConfig, RidgeRegressor
from quant_core.models.registry import (
    ModelFamily,
    available_models,
    build_model,
    config_fields,
    get_model_family,
    model_factory,
    register_model,
)
from quant_core.models.torch import (
    DeepLOBClassifier,
    DeepLOBConfig,
    GNNConfig,
    GraphAttentionRegressor,
    GRUConfig,
    GRURegressor,
    LSTMConfig,
    LSTMRegressor,
    MLPConfig,
    MLPRegressor,
    TCNConfig,
    TCNRegressor,
    TrainerConfig,
    TransformerConfig,
    TransformerRegressor,
)
from quant_core.models.training import FoldwiseResult, inner_validation_split, train_foldwise

__all__ = [
    "DeepLOBClassifier",
    "DeepLOBConfig",
    "FoldwiseResult",
    "GNNConfig",
    "GRUConfig",
    "GRURegressor",
    "GraphAttentionRegressor",
    "LSTMConfig",
    "LSTMRegressor",
    "LightGBMConfig",
    "LightGBMRegressor",
    "MLPConfig",
    "MLPRegressor",
    "ModelFamily",
    "RidgeConfig",
    "RidgeRegressor",
    "SignalModel",
    "TCNConfig",
    "TCNRegressor",
    "TrainerConfig",
    "TransformerConfig",
    "TransformerRegressor",
    "available_models",
    "build_model",
    "config_fields",
    "feature_matrix",
    "frame_to_xy",
    "get_model_family",
    "inner_validation_split",
    "model_factory",
    "register_model",
    "target_vector",
    "train_foldwise",
]
