"""Market data for the model layer: the seeded synthetic market (and, later, readers)."""

from quant_core.data.synthetic import (
    PlantedSignal,
    SyntheticMarket,
    SyntheticMarketConfig,
    simulate_market,
)

__all__ = ["PlantedSignal", "SyntheticMarket", "SyntheticMarketConfig", "simulate_market"]
