"""Registry of model families: a name maps to a model class and its config dataclass.

The orchestration layer picks a family by name from run config and builds a fresh model per
fold with :func:`build_model`; adding a family is one :func:`register_model` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from quant_core.models.lightgbm_model import LightGBMConfig, LightGBMRegressor
from quant_core.models.linear import RidgeConfig, RidgeRegressor
from quant_core.models.torch.configs import (
    GRUConfig,
    LSTMConfig,
    MLPConfig,
    TCNConfig,
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

__all__ = [
    "ModelFamily",
    "available_models",
    "build_model",
    "config_fields",
    "get_model_family",
    "model_factory",
    "register_model",
]


@dataclass(frozen=True)
class ModelFamily:
    """A registered family: ``model_cls(features, target=..., **config.model_kwargs())``."""

    name: str
    model_cls: type
    config_cls: type
    description: str = ""


_REGISTRY: dict[str, ModelFamily] = {}


def register_model(
    name: str, model_cls: type, config_cls: type, description: str = "", *, overwrite: bool = False
) -> ModelFamily:
    """Register a family; ``config_cls`` must be a dataclass with a ``model_kwargs()`` method."""
    if not dataclasses.is_dataclass(config_cls) or not hasattr(config_cls, "model_kwargs"):
        raise ValueError(f"config_cls must be a dataclass with model_kwargs(), got {config_cls!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"model family {name!r} is already registered")
    family = ModelFamily(name, model_cls, config_cls, description)
    _REGISTRY[name] = family
    return family


def get_model_family(name: str) -> ModelFamily:
    """Return the family registered as ``name``; the error lists the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model family {name!r}; registered: {sorted(_REGISTRY)}"
        ) from None


def available_models() -> list[str]:
    """Names of the registered families, sorted."""
    return sorted(_REGISTRY)


def _as_config(family: ModelFamily, config: Any) -> Any:
    if config is None:
        return family.config_cls()
    if isinstance(config, family.config_cls):
        return config
    if isinstance(config, Mapping):
        known = {f.name for f in dataclasses.fields(family.config_cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"unknown {family.name} config fields {unknown}; known: {sorted(known)}"
            )
        return family.config_cls(**config)
    raise ValueError(
        f"config for {family.name!r} must be {family.config_cls.__name__}, a mapping or None, "
        f"got {type(config).__name__}"
    )


def build_model(
    name: str,
    features: Sequence[str],
    config: Any = None,
    target: str = "target",
    **data_inputs: Any,
) -> Any:
    """Build an unfitted model of family ``name`` from a config dataclass, a dict or defaults.

    ``data_inputs`` are constructor arguments a config cannot carry because they are data, e.g.
    the ``prices`` panel the graph network builds its asset graph from.
    """
    family = get_model_family(name)
    cfg = _as_config(family, config)
    return family.model_cls(list(features), target=target, **cfg.model_kwargs(), **data_inputs)


def model_factory(
    name: str, features: Sequence[str], config: Any = None, target: str = "target"
) -> Callable[[], Any]:
    """Zero-argument factory of fresh models, the ``make_model`` of ``train_foldwise``."""
    family = get_model_family(name)
    cfg = _as_config(family, config)
    feats = list(features)
    return lambda: family.model_cls(feats, target=target, **cfg.model_kwargs())


def config_fields(name: str) -> list[dict[str, Any]]:
    """``[{"name", "type", "default", "description"}]`` for the family's config fields."""
    family = get_model_family(name)
    return [
        {
            "name": f.name,
            "type": f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type)),
            "default": f.default,
            "description": f.metadata.get("description", ""),
        }
        for f in dataclasses.fields(family.config_cls)
    ]


register_model(
    "lightgbm",
    LightGBMRegressor,
    LightGBMConfig,
    "Gradient-boosted trees (LightGBM), deterministic, early-stopped on a purged inner slice.",
)
register_model(
    "ridge",
    RidgeRegressor,
    RidgeConfig,
    "Closed-form ridge regression on train-standardised features.",
)
register_model(
    "mlp",
    MLPRegressor,
    MLPConfig,
    "Feed-forward network on the date's features, early-stopped on the purged inner slice.",
)
register_model(
    "lstm",
    LSTMRegressor,
    LSTMConfig,
    "LSTM over each asset's trailing feature sequence (point-in-time windows).",
)
register_model(
    "gru",
    GRURegressor,
    GRUConfig,
    "GRU over each asset's trailing feature sequence (point-in-time windows).",
)
register_model(
    "tcn",
    TCNRegressor,
    TCNConfig,
    "Temporal convolutional network: causal dilated convolutions over the trailing sequence.",
)
register_model(
    "transformer",
    TransformerRegressor,
    TransformerConfig,
    "Transformer encoder over the trailing sequence, read at today's token.",
)
register_model(
    "gnn",
    GraphAttentionRegressor,
    GNNConfig,
    "Graph attention over the point-in-time daily asset graph (sector peers and trailing-return "
    "correlates); needs prices= (date, asset, close[, sector]) or returns_feature.",
)
register_model(
    "deeplob",
    DeepLOBClassifier,
    DeepLOBConfig,
    "DeepLOB (convolutions over price/size, bid/ask and levels, inception, LSTM) classifying "
    "the smoothed mid-price move (down, stationary, up) from order-book snapshots.",
)
