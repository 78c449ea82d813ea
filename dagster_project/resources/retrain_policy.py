"""When monitoring may start a retrain (read by ``drift_ic_sensor``)."""

import dagster as dg
from pydantic import Field


class RetrainPolicy(dg.ConfigurableResource):
    """When monitoring may start a retrain."""

    cooldown_days: int = Field(default=5, description="Business days of data after a requested retrain before another")
    on_data_drift: bool = Field(default=True, description="Retrain when a drift report flags dataset drift")
    on_prediction_drift: bool = Field(default=True, description="Retrain when the champion's scores drift")
    on_ic_decay: bool = Field(default=True, description="Retrain when the realised Rank IC decays")
