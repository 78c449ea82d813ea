"""Point-in-time features and train-only preprocessing."""

from quant_core.features.price import (
    PRICE_FEATURES,
    RESERVED_COLUMNS,
    numeric_feature_columns,
    price_features,
)

__all__ = ["PRICE_FEATURES", "RESERVED_COLUMNS", "numeric_feature_columns", "price_features"]
