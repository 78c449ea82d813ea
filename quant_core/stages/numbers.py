"""The headline out-of-sample numbers of one signal, as every stage reports them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["SignalIC"]


@dataclass(frozen=True)
class SignalIC:
    """Mean IC and Rank IC, Rank ICIR, the HAC t-statistic and p-value, and the dates behind them."""

    ic_mean: float
    rank_ic_mean: float
    rank_icir: float
    t_hac: float
    p_hac: float
    n_dates: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SignalIC:
        """From a row of ``fold_ic_table`` / ``held_out_ic``."""
        return cls(ic_mean=row["ic_mean"], rank_ic_mean=row["rank_ic_mean"], rank_icir=row["rank_icir"],
                   t_hac=row["t_hac"], p_hac=row["p_hac"], n_dates=int(row["n_dates"]))

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> SignalIC:
        """From a validation report's pooled ``rank_ic`` and ``ic`` sections."""
        rank, pearson = report["rank_ic"], report["ic"]
        return cls(ic_mean=pearson["mean"], rank_ic_mean=rank["mean"], rank_icir=rank["icir"],
                   t_hac=rank["t_hac"], p_hac=rank["p_hac"], n_dates=rank["n"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
