import dataclasses

import numpy as np
import polars as pl
import pytest

from quant_core.features.preprocessing import (
    CrossSectionalRank,
    CrossSectionalSectorDemean,
    CrossSectionalZScore,
    FittedPreprocessor,
    MedianImputer,
    Preprocessor,
    SectorNeutralizer,
    StandardScaler,
    Winsorizer,
    apply_cross_sectional,
)

COLS = ("x", "y")


def _frame(n_dates: int = 30, n_assets: int = 12, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_dates * n_assets
    x = rng.normal(1.0, 2.0, n)
    x[rng.random(n) < 0.1] = np.nan
    y = rng.standard_t(3, n)
    return pl.DataFrame(
        {
            "date": np.repeat(np.arange(n_dates), n_assets),
            "asset": np.tile([f"A{j}" for j in range(n_assets)], n_dates),
            "sector": np.tile([f"S{j % 3}" for j in range(n_assets)], n_dates),
            "x": x,
            "y": pl.Series(y).scatter(rng.choice(n, 20, replace=False), None),
        }
    )


def _pipeline() -> Preprocessor:
    return Preprocessor(
        [
            MedianImputer(COLS),
            Winsorizer(COLS, 0.05, 0.95),
            SectorNeutralizer(COLS),
            StandardScaler(COLS),
        ]
    )


def test_fit_only_sees_train_rows():
    frame = _frame()
    train = np.arange(0, 240)  # first 20 dates
    fitted = _pipeline().fit(frame, train)
    # Wreck every test row: extreme values, NaN, a new sector. Parameters must not move.
    wrecked = frame.with_columns(
        pl.when(pl.int_range(pl.len()) >= 240).then(pl.lit(1e9)).otherwise(pl.col("x")).alias("x"),
        pl.when(pl.int_range(pl.len()) >= 240).then(None).otherwise(pl.col("y")).alias("y"),
        pl.when(pl.int_range(pl.len()) >= 240)
        .then(pl.lit("NEW"))
        .otherwise(pl.col("sector"))
        .alias("sector"),
    )
    assert _pipeline().fit(wrecked, train) == fitted
    assert _pipeline().fit(frame, np.arange(0, 300)) != fitted


def test_fitted_parameters_match_numpy_on_train_rows():
    frame = _frame()
    train = np.arange(50, 200)
    sub = frame[train]
    imputer, winsor, neutral, scaler = _pipeline().fit(frame, train).steps
    x = sub["x"].to_numpy()
    assert imputer.median_["x"] == pytest.approx(np.nanmedian(x))
    x_imp = np.where(np.isnan(x), np.nanmedian(x), x)
    lo, hi = np.quantile(x_imp, [0.05, 0.95])
    assert (winsor.lower_["x"], winsor.upper_["x"]) == pytest.approx((lo, hi))
    x_w = np.clip(x_imp, lo, hi)
    sectors = sub["sector"].to_numpy()
    means = {s: x_w[sectors == s].mean() for s in np.unique(sectors)}
    assert dict(neutral.sector_mean_["x"]) == pytest.approx(means)
    x_n = x_w - np.array([means[s] for s in sectors])
    assert scaler.mean_["x"] == pytest.approx(x_n.mean(), abs=1e-12)
    assert scaler.std_["x"] == pytest.approx(x_n.std())


def test_transform_applies_train_parameters_to_other_rows():
    frame = _frame()
    fitted = Preprocessor([StandardScaler(["y"])]).fit(frame, np.arange(100))
    test = frame[200:]
    out = fitted.transform(test)
    mu, sd = fitted.steps[0].mean_["y"], fitted.steps[0].std_["y"]
    np.testing.assert_allclose(out["y"].to_numpy(), (test["y"].to_numpy() - mu) / sd)
    assert out.height == test.height and out.columns == test.columns


def test_api_has_no_way_to_fit_on_everything_by_accident():
    frame = _frame()
    pre = _pipeline()
    assert not hasattr(pre, "fit_transform") and not hasattr(pre, "transform")
    with pytest.raises(TypeError):
        pre.fit(frame)  # train_idx is required
    for bad, fragment in [
        ([], "non-empty"),
        (np.array([0.5]), "integer"),
        (np.array([-1]), "-1"),
        (np.array([0, 0]), "repeat"),
        (np.array([frame.height]), str(frame.height)),
    ]:
        with pytest.raises(ValueError, match=fragment):
            pre.fit(frame, bad)
    fitted = pre.fit(frame, np.arange(10))
    assert isinstance(fitted, FittedPreprocessor)
    assert not hasattr(fitted, "fit") and not hasattr(fitted, "fit_transform")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fitted.steps = ()
    with pytest.raises(TypeError):
        fitted.steps[-1].mean_["x"] = 0.0


def test_sector_neutralizer_unseen_sector_uses_overall_mean():
    frame = pl.DataFrame({"sector": ["a", "a", "b", "c", None], "x": [1.0, 3.0, 10.0, 5.0, 7.0]})
    fitted = Preprocessor([SectorNeutralizer(["x"])]).fit(frame, np.array([0, 1, 2]))
    out = fitted.transform(frame)["x"].to_list()
    overall = (1 + 3 + 10) / 3
    assert out == pytest.approx([-1.0, 1.0, 0.0, 5 - overall, 7 - overall])


def test_learning_step_without_training_values_raises():
    frame = pl.DataFrame({"x": [None, None, 1.0]}, schema={"x": pl.Float64})
    with pytest.raises(ValueError, match=r"\['x'\]"):
        Preprocessor([MedianImputer("x")]).fit(frame, np.array([0, 1]))


def test_cross_sectional_steps_learn_nothing_and_apply_anywhere():
    frame = _frame(4, 5)
    ranked = apply_cross_sectional(frame, [CrossSectionalRank(["y"])])
    pdf = frame.to_pandas()
    g = pdf.groupby("date")["y"]
    ref = (g.rank() - 1) / (g.transform("count") - 1)
    np.testing.assert_allclose(ranked["y"].to_numpy(), ref.to_numpy(), equal_nan=True)
    z = apply_cross_sectional(frame, [CrossSectionalZScore(["y"])])
    np.testing.assert_allclose(
        z["y"].to_numpy(),
        ((pdf["y"] - g.transform("mean")) / g.transform("std")).to_numpy(),
        equal_nan=True,
    )
    dm = apply_cross_sectional(frame, [CrossSectionalSectorDemean(["y"])])
    ref_dm = pdf["y"] - pdf.groupby(["date", "sector"])["y"].transform("mean")
    np.testing.assert_allclose(dm["y"].to_numpy(), ref_dm.to_numpy(), equal_nan=True)
    # Inside a pipeline they give the same result whatever the train rows are.
    a = Preprocessor([CrossSectionalRank(["y"])]).fit(frame, np.arange(3)).transform(frame)
    assert a.equals(ranked)
    with pytest.raises(TypeError, match="train_idx"):
        apply_cross_sectional(frame, [StandardScaler(["y"])])


def test_winsorizer_validates_quantiles():
    with pytest.raises(ValueError, match=r"\(0.9, 0.1\)"):
        Winsorizer(["x"], 0.9, 0.1)
