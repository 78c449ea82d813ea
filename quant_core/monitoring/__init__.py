"""Monitoring: feature drift statistics (PSI, Kolmogorov-Smirnov)."""

from quant_core.monitoring.drift import PSI_EPS, feature_drift, psi

__all__ = ["PSI_EPS", "feature_drift", "psi"]
