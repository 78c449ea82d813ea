import dataclasses

import numpy as np
import polars as pl
import pytest

from quant_core.models import (
    LightGBMConfig,
    LightGBMRegressor,
    RidgeRegressor,
    SignalModel,
    available_models,
    build_model,
    config_fields,
    frame_to_xy,
    get_model_family,
    model_factory,
)


def test_frame_to_xy_dtypes_and_nulls():
    df = pl.DataFrame({"a": [1.0, None, 3.0], "b": [1, 2, 3], "target": [0.1, 0.2, 0.3]})
    X, y = frame_to_xy(df, ["a", "b"])
    assert X.dtype == np.float32 and y.dtype == np.float64
    assert X.shape == (3, 2) and np.isnan(X[1, 0])
    np.testing.assert_array_equal(y, [0.1, 0.2, 0.3])


def test_frame_to_xy_names_missing_columns():
    df = pl.DataFrame({"a": [1.0], "target": [0.0]})
    with pytest.raises(ValueError, match=r"\['zz', 'yy'\]"):
        frame_to_xy(df, ["a", "zz", "yy"])
    with pytest.raises(ValueError, match="label"):
        frame_to_xy(df, ["a"], target="label")


def test_null_target_rejected():
    df = pl.DataFrame({"a": [1.0, 2.0], "target": [0.1, None]})
    with pytest.raises(ValueError, match="1 null"):
        frame_to_xy(df, ["a"])


def test_models_follow_protocol():
    assert isinstance(RidgeRegressor(["a"]), SignalModel)
    assert isinstance(LightGBMRegressor(["a"]), SignalModel)


def test_registry_families_and_configs():
    assert {"lightgbm", "ridge"} <= set(available_models())
    fam = get_model_family("lightgbm")
    assert fam.model_cls is LightGBMRegressor and fam.config_cls is LightGBMConfig
    for name in ("lightgbm", "ridge"):
        fields = config_fields(name)
        assert fields and all(f["description"] for f in fields)
    m = build_model("lightgbm", ["a", "b"], {"num_boost_round": 7, "learning_rate": 0.2})
    assert m.num_boost_round == 7 and m.params["learning_rate"] == 0.2
    r = build_model("ridge", ["a"], {"alpha": 3.0}, target="y")
    assert isinstance(r, RidgeRegressor) and r.alpha == 3.0 and r.target == "y"
    make = model_factory("ridge", ["a"])
    assert make() is not make()
    assert dataclasses.is_dataclass(LightGBMConfig)


def test_registry_errors_name_values():
    with pytest.raises(ValueError, match="'nope'.*lightgbm"):
        get_model_family("nope")
    with pytest.raises(ValueError, match="bogus"):
        build_model("ridge", ["a"], {"bogus": 1})
