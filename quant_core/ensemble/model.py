"""A routed ensemble as one model: member models, the routing table, and a score per row."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from quant_core.ensemble.routing import apply_routing


@dataclass
class RoutedEnsemble:
    """Score a cross-section with every member, then combine them with the weights of each date's regime.

    Parameters
    ----------
    members : {name: fitted model with ``predict(frame)``}, the names used in ``routing``.
    routing : the routing table (regime, member, weight, used, transform, ...).
    features : the feature columns every member reads.

    ``predict(frame)`` takes ``date, asset`` and the features; a ``regime`` column, when present,
    picks each date's routing row (the detector's point-in-time state); otherwise, or for a regime
    the table does not know, the static ``"*"`` row applies.
    """

    members: Mapping[str, Any]
    routing: pl.DataFrame
    features: tuple[str, ...]
    family: str = field(default="ensemble", init=False)

    def member_scores(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``date, asset`` and one score column per member, in ``frame``'s row order."""
        scores = {name: np.asarray(model.predict(frame), dtype=np.float64) for name, model in self.members.items()}
        return frame.select(["date", "asset"]).with_columns([pl.Series(k, v) for k, v in scores.items()])

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        scores = self.member_scores(frame)
        regimes = (frame.select(["date", "regime"]).unique("date") if "regime" in frame.columns
                   else pl.DataFrame(schema={"date": frame.schema["date"], "regime": pl.String}))
        return apply_routing(scores, self.routing, regimes)["ensemble"].to_numpy()
