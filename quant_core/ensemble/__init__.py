"""Ensembles of out-of-fold signals, fitted on earlier dates and judged on later ones.

Blending (equal, IC-weighted, rank average, non-negative least squares), stacking (ridge or
shallow LightGBM meta-models with optional regime features), point-in-time regime detectors
(volatility/trend thresholds, a Gaussian HMM with filtered probabilities) and regime routing
(per-regime weights in a routing table that scoring consumes).
"""

from quant_core.ensemble.blend import (
    BLEND_METHODS,
    BlendResult,
    apply_blend,
    blend_transform,
    blend_weights,
    fit_blend,
    outer_split,
    zscore_by_date,
)
from quant_core.ensemble.hmm import GaussianHMM
from quant_core.ensemble.members import oof_wide
from quant_core.ensemble.model import RoutedEnsemble
from quant_core.ensemble.regime import HMMRegimeDetector, ThresholdRegimeDetector, market_state
from quant_core.ensemble.routing import (
    DEFAULT_REGIME,
    ROUTING_SCHEMA,
    RegimeBlendResult,
    apply_routing,
    fit_regime_blend,
    ic_by_regime,
    routing_table,
)
from quant_core.ensemble.stacking import (
    STACKING_META,
    StackingResult,
    fit_stacking,
    stacking_design,
)

__all__ = [
    "BLEND_METHODS",
    "DEFAULT_REGIME",
    "ROUTING_SCHEMA",
    "STACKING_META",
    "BlendResult",
    "GaussianHMM",
    "HMMRegimeDetector",
    "RegimeBlendResult",
    "RoutedEnsemble",
    "StackingResult",
    "ThresholdRegimeDetector",
    "apply_blend",
    "apply_routing",
    "blend_transform",
    "blend_weights",
    "fit_blend",
    "fit_regime_blend",
    "fit_stacking",
    "ic_by_regime",
    "market_state",
    "oof_wide",
    "outer_split",
    "routing_table",
    "stacking_design",
    "zscore_by_date",
]
