"""Targets: forward returns with label windows, target kinds, order-book labels, leakage audits.

Every target row carries ``label_start`` and ``label_end`` (the window its return is realised
over) so that splitters can purge and embargo, and audits can check point-in-time correctness.
"""

from quant_core.targets.forward_returns import forward_returns, trading_calendar
from quant_core.targets.leakage import (
    AvailabilityAudit,
    LeakageAudit,
    SplitAudit,
    audit_availability,
    audit_feature_leakage,
    verify_splits,
)
from quant_core.targets.orderbook_labels import lob_changes, lob_labels
from quant_core.targets.transforms import (
    TARGET_KINDS,
    excess_over_market,
    make_target,
    residualize,
    trailing_volatility,
    vol_scale,
    winsorize,
)

__all__ = [
    "TARGET_KINDS",
    "AvailabilityAudit",
    "LeakageAudit",
    "SplitAudit",
    "audit_availability",
    "audit_feature_leakage",
    "excess_over_market",
    "forward_returns",
    "lob_changes",
    "lob_labels",
    "make_target",
    "residualize",
    "trading_calendar",
    "trailing_volatility",
    "verify_splits",
    "vol_scale",
    "winsorize",
]
