"""Point-in-time features: an Alpha158-style library, a registry for your own, normalisation.

    from quant_core.features import build_features, default_feature_set, register_feature
    panel = build_features(panel, default_feature_set(panel))   # Alpha158-style set

Train-only preprocessing lives in :mod:`quant_core.features.preprocessing`.
"""

from quant_core.features.alpha158 import WINDOWS, alpha158_names
from quant_core.features.normalize import cross_sectional_normalize, cs_robust_zscore
from quant_core.features.price import (
    PRICE_FEATURES,
    RESERVED_COLUMNS,
    numeric_feature_columns,
    price_features,
)
from quant_core.features.registry import (
    DEFAULT_REGISTRY,
    FeatureRegistry,
    FeatureSpec,
    build_features,
    default_feature_set,
    register_feature,
)

__all__ = [
    "DEFAULT_REGISTRY",
    "PRICE_FEATURES",
    "RESERVED_COLUMNS",
    "WINDOWS",
    "FeatureRegistry",
    "FeatureSpec",
    "alpha158_names",
    "build_features",
    "cross_sectional_normalize",
    "cs_robust_zscore",
    "default_feature_set",
    "numeric_feature_columns",
    "price_features",
    "register_feature",
]
