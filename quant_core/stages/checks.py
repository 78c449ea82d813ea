"""Stage: the verdicts of the graph's blocking checks (data contract, leakage audits)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from quant_core.config_fields import described
from quant_core.data.dataset import FoldPlan, ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.targets.leakage import audit_availability, audit_feature_leakage, verify_splits

__all__ = [
    "ContractSpec",
    "ContractVerdict",
    "LeakageSpec",
    "LeakageVerdict",
    "SplitVerdict",
    "audit_folds",
    "audit_targets",
    "check_snapshot_contract",
]


@dataclass(frozen=True)
class ContractSpec:
    use_great_expectations: bool = described(True, "Also run the Great Expectations suite (~4 s)")
    max_missing_share: float = described(0.5, "A feature missing on more than this share of rows fails")


@dataclass(frozen=True)
class ContractVerdict:
    passed: bool
    failures: tuple[str, ...]
    warnings: tuple[str, ...]
    expectations: pl.DataFrame
    missing_share: pl.DataFrame
    too_sparse: tuple[str, ...]


def check_snapshot_contract(snapshot: FeatureSnapshot, spec: ContractSpec = ContractSpec()) -> ContractVerdict:
    """The panel as supplied passes the data contract, and no feature (supplied or built) is
    mostly missing (built features have warm-up gaps by design, so the contract judges only what
    the user supplied)."""
    from quant_core.data.expectations import validate_panel

    panel = snapshot.panel
    supplied = snapshot.input_columns or panel.columns
    result = validate_panel(panel.select(supplied), snapshot.source,
                            use_great_expectations=spec.use_great_expectations)
    missing = panel.select(
        [pl.col(f).is_null().mean().alias(f) for f in snapshot.features]
    ).transpose(include_header=True, header_name="feature", column_names=["missing_share"])
    too_sparse = missing.filter(pl.col("missing_share") > spec.max_missing_share)["feature"].to_list()
    return ContractVerdict(passed=result.passed and not too_sparse, failures=tuple(result.failures),
                           warnings=tuple(result.warnings), expectations=result.table,
                           missing_share=missing.sort("missing_share", descending=True),
                           too_sparse=tuple(too_sparse))


@dataclass(frozen=True)
class LeakageSpec:
    threshold_abs_ic: float | None = described(
        None, "Flag a feature whose mean |rank IC| with its own target exceeds this; None = library default")


@dataclass(frozen=True)
class LeakageVerdict:
    passed: bool
    flagged_features: tuple[str, ...]
    per_feature: pl.DataFrame
    availability: pl.DataFrame | None
    availability_problems: tuple[str, ...]


def audit_targets(frame: ModellingFrame, spec: LeakageSpec = LeakageSpec()) -> LeakageVerdict:
    """Features known by the decision time; none implausibly predictive of its own target window."""
    kwargs = {} if spec.threshold_abs_ic is None else {"threshold_abs_ic": spec.threshold_abs_ic}
    audit = audit_feature_leakage(frame.frame, list(frame.features), **kwargs)
    flagged = list(audit.flagged_features)
    availability, late_problems = None, []
    if frame.availability:
        timing = audit_availability(frame.frame, frame.availability)
        late_problems = list(timing.problems)
        availability = timing.table
        late = timing.table.filter((pl.col("check") == "feature_available") & (pl.col("n_violations") > 0))
        flagged += [f for f in late["column"].to_list() if f not in flagged]
    return LeakageVerdict(passed=audit.passed and not late_problems, flagged_features=tuple(flagged),
                          per_feature=audit.table, availability=availability,
                          availability_problems=tuple(late_problems))


@dataclass(frozen=True)
class SplitVerdict:
    passed: bool
    problems: tuple[str, ...]
    per_fold: pl.DataFrame


def audit_folds(frame: ModellingFrame, folds: FoldPlan) -> SplitVerdict:
    """Every split re-verified: no shared dates, no train/test label overlap, embargo respected."""
    audit = verify_splits(frame.dates(), frame.label_end(), list(folds.splits), folds.embargo_days)
    return SplitVerdict(passed=audit.passed, problems=tuple(audit.problems), per_fold=audit.table)
