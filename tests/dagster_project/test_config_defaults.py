"""One source of truth for every default: each Dagster config class takes its fields' defaults
and descriptions from the core config dataclass of the stage it configures."""

import dataclasses
import importlib
import inspect
import pkgutil

import dagster as dg
import pytest

import dagster_project
from dagster_project.assets.lifecycle.monitoring import DriftConfig, RealizedICConfig
from dagster_project.assets.lifecycle.revalidation import RevalidationConfig
from dagster_project.assets.orderbook.book import OrderBookConfig
from dagster_project.assets.orderbook.models import DeepLOBAssetConfig
from dagster_project.assets.research.deep_models import DeepModelsConfig
from dagster_project.assets.research.ensemble import EnsembleConfig, RoutingConfig
from dagster_project.assets.research.explain import DeepShapConfig, PermutationConfig, ShapConfig
from dagster_project.assets.research.folds import FoldConfig
from dagster_project.assets.research.models import LightGBMConfig, RidgeConfig
from dagster_project.assets.research.targets import TargetConfig
from dagster_project.assets.research.trading import AttributionConfig, TradingConfig
from dagster_project.checks.contracts import ContractCheckConfig
from dagster_project.checks.leakage import LeakageAuditConfig
from dagster_project.checks.promotion import GateConfig
from dagster_project.config import core, to_core
from quant_core import models as core_models
from quant_core import stages
from quant_core.monitoring.promotion import PromotionPolicy

CORE_OF = {
    TargetConfig: stages.TargetSpec,
    FoldConfig: stages.FoldSpec,
    LightGBMConfig: core_models.LightGBMConfig,
    RidgeConfig: core_models.RidgeConfig,
    DeepModelsConfig: stages.DeepFamiliesConfig,
    EnsembleConfig: stages.BlendConfig,
    RoutingConfig: stages.RoutingConfig,
    ShapConfig: stages.ShapConfig,
    PermutationConfig: stages.PermutationConfig,
    DeepShapConfig: stages.DeepShapConfig,
    OrderBookConfig: stages.BookSource,
    DeepLOBAssetConfig: stages.DeepLOBSpec,
    ContractCheckConfig: stages.ContractSpec,
    LeakageAuditConfig: stages.LeakageSpec,
    GateConfig: PromotionPolicy,
    DriftConfig: stages.DriftSpec,
    RealizedICConfig: stages.RealizedICSpec,
    RevalidationConfig: stages.RevalidationSpec,
    TradingConfig: stages.TradingSpec,
    AttributionConfig: stages.FactorSpec,
}
# config classes whose one field's default is a constant beside them, not a stage setting
NO_CORE_SPEC = {"ChampionConfig"}  # family = PRODUCTION_FAMILY (assets/lifecycle/promotion.py)


def _all_config_classes() -> set[type]:
    found = set()
    for info in pkgutil.walk_packages(dagster_project.__path__, "dagster_project."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            resource = issubclass(obj, (dg.ConfigurableResource, dg.ConfigurableIOManagerFactory))
            if issubclass(obj, dg.Config) and not resource and obj.__module__ == info.name:
                found.add(obj)
    return found


def test_every_config_class_of_the_code_location_is_checked_here():
    found = _all_config_classes()
    assert {c.__name__ for c in found} - {c.__name__ for c in CORE_OF} == NO_CORE_SPEC
    assert set(CORE_OF) <= found


@pytest.mark.parametrize("config_cls", list(CORE_OF), ids=lambda c: c.__name__)
def test_every_field_agrees_with_the_core_dataclass(config_cls):
    spec = CORE_OF[config_cls]
    core_fields = {f.name: f for f in dataclasses.fields(spec)}
    for name, info in config_cls.model_fields.items():
        assert name in core_fields, f"{config_cls.__name__}.{name} has no field in {spec.__name__}"
        default = core_fields[name].default
        expected = list(default) if isinstance(default, tuple) else default
        assert info.default == expected, (config_cls.__name__, name, info.default, expected)
        described = core_fields[name].metadata.get("description")
        assert described and info.description == described, (config_cls.__name__, name)
    # an unconfigured run builds exactly the core defaults
    assert to_core(config_cls(), spec) == spec()


def test_the_pipeline_defaults_are_the_ones_the_demo_was_measured_with():
    lgb = core_models.LightGBMConfig()
    assert (lgb.num_leaves, lgb.min_data_in_leaf, lgb.learning_rate, lgb.inner_valid_days) == (15, 500, 0.05, 63)
    assert core_models.RidgeConfig().alpha == 10.0


def test_core_refuses_an_unknown_field_or_a_field_without_default():
    with pytest.raises(AttributeError, match="no field 'bogus'"):
        core(stages.TargetSpec, "bogus")
