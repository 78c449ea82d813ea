"""Ensembles of out-of-fold signals: blending with weights fitted on earlier dates only."""

from quant_core.ensemble.blend import (
    BLEND_METHODS,
    BlendResult,
    apply_blend,
    fit_blend,
    zscore_by_date,
)

__all__ = ["BLEND_METHODS", "BlendResult", "apply_blend", "fit_blend", "zscore_by_date"]
