"""The stage functions the orchestration's assets call, one call per asset.

An asset unpacks its config and inputs, calls one function here, turns the typed result into
metadata and returns it. The benchmarks call the same functions, so the direct path and the
orchestrated one do the same work by construction. Each stage's config dataclass is the one
source of its defaults; the Dagster config classes take theirs from these.
"""

from quant_core.stages.checks import (
    ContractSpec,
    ContractVerdict,
    LeakageSpec,
    LeakageVerdict,
    SplitVerdict,
    audit_folds,
    audit_targets,
    check_snapshot_contract,
)
from quant_core.stages.ensemble import (
    BlendConfig,
    EnsembleResult,
    RoutedScores,
    RoutingConfig,
    RoutingResult,
    fit_ensembles,
    held_out_ic,
    route_regimes,
    score_routed_ensemble,
)
from quant_core.stages.explain import (
    DeepShapConfig,
    DeepShapResult,
    PermutationConfig,
    PermutationResult,
    ShapConfig,
    ShapResult,
    explain_deep_families,
    explain_lightgbm,
    permutation_importance,
)
from quant_core.stages.folds import FoldSpec, make_splitter, plan_folds
from quant_core.stages.frame import TargetSpec, build_modelling_frame, oracle_applies
from quant_core.stages.lifecycle import (
    DriftSpec,
    RealizedICSpec,
    RevalidationResult,
    RevalidationSpec,
    revalidate_recipe,
)
from quant_core.stages.numbers import SignalIC
from quant_core.stages.orderbook import (
    BookSource,
    DeepLOBFit,
    DeepLOBSpec,
    load_book,
    time_split,
    train_deeplob,
)
from quant_core.stages.snapshot import load_feature_snapshot
from quant_core.stages.train import (
    PANEL_FAMILIES,
    REFERENCE_DAYS,
    DeepFamiliesConfig,
    FamilyFit,
    deep_family_settings,
    family_prices,
    inner_purge_days,
    train_deep_families,
    train_deep_family,
    train_family,
    train_lightgbm,
    train_ridge,
)
from quant_core.stages.validate import FamilyReport, ValidationResult, validate_families

__all__ = [
    "PANEL_FAMILIES",
    "REFERENCE_DAYS",
    "BlendConfig",
    "BookSource",
    "ContractSpec",
    "ContractVerdict",
    "DeepFamiliesConfig",
    "DeepLOBFit",
    "DeepLOBSpec",
    "DeepShapConfig",
    "DeepShapResult",
    "DriftSpec",
    "EnsembleResult",
    "FamilyFit",
    "FamilyReport",
    "FoldSpec",
    "LeakageSpec",
    "LeakageVerdict",
    "PermutationConfig",
    "PermutationResult",
    "RealizedICSpec",
    "RevalidationResult",
    "RevalidationSpec",
    "RoutedScores",
    "RoutingConfig",
    "RoutingResult",
    "ShapConfig",
    "ShapResult",
    "SignalIC",
    "SplitVerdict",
    "TargetSpec",
    "ValidationResult",
    "audit_folds",
    "audit_targets",
    "build_modelling_frame",
    "check_snapshot_contract",
    "deep_family_settings",
    "explain_deep_families",
    "explain_lightgbm",
    "family_prices",
    "fit_ensembles",
    "held_out_ic",
    "inner_purge_days",
    "load_book",
    "load_feature_snapshot",
    "make_splitter",
    "oracle_applies",
    "permutation_importance",
    "plan_folds",
    "revalidate_recipe",
    "route_regimes",
    "score_routed_ensemble",
    "time_split",
    "train_deep_families",
    "train_deep_family",
    "train_deeplob",
    "train_family",
    "train_lightgbm",
    "train_ridge",
    "validate_families",
]
