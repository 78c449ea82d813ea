"""Torch families on the synthetic market: they learn, reproduce, resume, stay point-in-time."""

import pickle
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import torch
from scipy import stats

from quant_core.models import (
    SignalModel,
    available_models,
    build_model,
    config_fields,
    get_model_family,
    model_factory,
    train_foldwise,
)
from quant_core.models.torch import LSTMRegressor, MLPRegressor, TrainerConfig, TransformerRegressor
from quant_core.validation import fold_ic_table

FAMILIES = ["mlp", "lstm", "gru", "tcn", "transformer"]
SEQUENCE = ["lstm", "gru", "tcn", "transformer"]
TINY = {"lstm": {"seq_len": 5}, "gru": {"seq_len": 5}, "tcn": {"seq_len": 8, "n_levels": 2},
        "transformer": {"seq_len": 5}, "mlp": {}}  # fmt: skip


def tiny_model(family, features, fast, **overrides):
    return build_model(family, features, {**fast, **TINY[family], **overrides})


@pytest.mark.parametrize(
    "family, overrides",
    [(f, {}) for f in FAMILIES] + [("mlp", {"loss": "ic", "monitor": "valid_rank_ic"})],
    ids=FAMILIES + ["mlp-ic-loss"],
)
def test_family_learns_out_of_sample(market_frame, splits, features, fast, family, overrides):
    make = model_factory(family, features, {**fast, **overrides})
    res = train_foldwise(market_frame, splits, make, inner_valid_days=20, purge_days=2)
    overall = fold_ic_table(res.oof).filter(pl.col("fold") == "overall").row(0, named=True)
    assert overall["n_dates"] == 106
    assert overall["rank_ic_mean"] > 0.03 and overall["p_hac"] < 0.05, overall
    for model in res.models:
        assert isinstance(model, SignalModel) and model.device_ == "cpu"
        assert model.n_valid_rows_ == 20 * 40 and 1 <= model.best_epoch_ <= model.n_epochs_ <= 5
        assert {"train_loss", "valid_loss", "valid_rank_ic"} <= set(model.history_[0])
        curves = model.evals_result_
        assert curves["valid"]["rank_ic"] == [h["valid_rank_ic"] for h in model.history_]
        assert len(curves["train"]["loss"]) == model.n_epochs_


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_predictions(market_frame, features, fast, by_dates, family):
    train, valid, test = (by_dates(market_frame, *r) for r in ((0, 69), (72, 81), (82, 101)))
    fast = {**fast, "max_epochs": 2}
    preds = [tiny_model(family, features, fast).fit(train, valid).predict(test) for _ in range(2)]
    np.testing.assert_array_equal(preds[0], preds[1])
    other = tiny_model(family, features, fast, seed=1).fit(train, valid).predict(test)
    assert not np.array_equal(preds[0], other)


class Killed(RuntimeError):
    pass


def _kill_after(epoch):
    def callback(record):
        if record["epoch"] == epoch:
            raise Killed(f"killed after epoch {epoch}")

    return callback


@pytest.mark.parametrize("family", ["lstm", "transformer"])
def test_resumed_training_equals_uninterrupted(
    market_frame, features, fast, by_dates, tmp_path, family
):
    train, valid, test = (by_dates(market_frame, *r) for r in ((0, 69), (72, 81), (82, 101)))
    # dropout and a cosine schedule: the RNG and scheduler states must be restored too
    knobs = {**fast, "max_epochs": 4, "patience": 0, "lr_schedule": "cosine", "dropout": 0.2}
    full = tiny_model(family, features, knobs).fit(train, valid)
    ckpt = {**knobs, "checkpoint_dir": str(tmp_path)}
    killed = tiny_model(family, features, ckpt)
    killed.callbacks = (_kill_after(2),)
    with pytest.raises(Killed):
        killed.fit(train, valid)
    resumed = tiny_model(family, features, ckpt).fit(train, valid)
    assert resumed.resumed_from_epoch_ == 2 and resumed.n_epochs_ == 4
    for name, value in full.module_.state_dict().items():
        torch.testing.assert_close(resumed.module_.state_dict()[name], value, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed.predict(test), full.predict(test))
    strip = [{k: v for k, v in h.items() if k != "train_seconds"} for h in full.history_]
    assert [{k: v for k, v in h.items() if k != "train_seconds"} for h in resumed.history_] == strip
    # a finished run resumes at its end: nothing is retrained
    again = tiny_model(family, features, ckpt).fit(train, valid)
    assert again.resumed_from_epoch_ == 4
    np.testing.assert_array_equal(again.predict(test), full.predict(test))


def test_each_fold_gets_its_own_checkpoint_folder(market_frame, features, fast, tmp_path):
    knobs = {**fast, "max_epochs": 1, "checkpoint_dir": str(tmp_path)}
    res = train_foldwise(
        market_frame.head(40 * 60),
        [
            (np.arange(40 * 30), np.arange(40 * 30, 40 * 40)),
            (np.arange(40 * 40), np.arange(40 * 40, 40 * 50)),
        ],
        model_factory("mlp", features, knobs),
    )
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 2 and all(f.startswith("mlp-") for f in folders)
    assert [m.resumed_from_epoch_ for m in res.models] == [0, 0]


@pytest.mark.parametrize("family", SEQUENCE)
def test_predictions_at_t_ignore_rows_after_t(market_frame, features, fast, by_dates, family):
    train, test = by_dates(market_frame, 0, 59), by_dates(market_frame, 60, 89)
    model = tiny_model(family, features, {**fast, "max_epochs": 1, "dates_per_batch": 1}).fit(train)
    t = test["date"].unique().sort()[12]
    base = model.predict(test)
    rng = np.random.default_rng(0)
    later = pl.col("date") > t
    changed = test.with_columns(
        pl.when(later)
        .then(pl.col(f) + pl.Series(rng.standard_normal(test.height) * 3))
        .otherwise(pl.col(f))
        for f in features
    ).filter(~later | (pl.col("asset") != "A0003"))  # edited and deleted rows after t
    assert changed.height == test.height - 17  # A0003's 17 rows after t are gone
    pred = model.predict(changed)
    keep = (test["date"] <= t).to_numpy()
    np.testing.assert_array_equal(pred[: keep.sum()], base[keep])
    assert not np.array_equal(pred[keep.sum() :], base[~keep][: len(pred) - keep.sum()])
    # and editing a row *before* t does move the later predictions: the window is used
    earlier = test.with_columns(
        pl.when(pl.col("date") < t).then(pl.col("sig_fast") + 5).otherwise(pl.col("sig_fast"))
    )
    assert not np.allclose(model.predict(earlier)[keep.sum() :], base[~keep])


@pytest.mark.parametrize("family", SEQUENCE)
def test_test_fold_alone_uses_the_fitted_history(market_frame, features, fast, by_dates, family):
    train, valid, test = (by_dates(market_frame, *r) for r in ((0, 49), (52, 61), (62, 81)))
    model = tiny_model(family, features, {**fast, "max_epochs": 1, "dates_per_batch": 1})
    model.fit(train, valid)
    alone = model.predict(test)
    everything = pl.concat([train, valid, test])
    np.testing.assert_array_equal(alone, model.predict(everything)[-test.height :])
    # without the kept context the first dates' windows would be padded: different scores
    model.context_ = model.context_.clear()
    first = (test["date"] == test["date"].min()).to_numpy()
    assert not np.allclose(model.predict(test)[first], alone[first])
    # fresher history passed at predict time is used instead
    np.testing.assert_array_equal(model.predict(test, history=pl.concat([train, valid])), alone)


def test_valid_rank_ic_in_history_matches_scipy(market_frame, features, fast, by_dates):
    train, valid = by_dates(market_frame, 0, 69), by_dates(market_frame, 72, 81)
    model = MLPRegressor(features, trainer=TrainerConfig(**{**fast, "max_epochs": 3})).fit(
        train, valid
    )
    scored = valid.with_columns(pred=pl.Series(model.predict(valid)))
    per_date = [stats.spearmanr(g["pred"], g["target"])[0] for _, g in scored.group_by("date")]
    best = model.history_[model.best_epoch_ - 1]
    np.testing.assert_allclose(best["valid_rank_ic"], np.mean(per_date), rtol=1e-9)
    # valid_loss is the MSE against the per-date z-scored target, with the kept (best) weights
    y = scored["target"].to_numpy()
    day = scored["date"].to_numpy()
    z = np.empty_like(y)
    for d in np.unique(day):
        z[day == d] = stats.zscore(y[day == d], ddof=1)
    pred = scored["pred"].to_numpy()
    np.testing.assert_allclose(best["valid_loss"], np.mean((pred - z) ** 2), rtol=1e-5)


def test_auto_device_and_pickled_model_predicts_the_same(market_frame, features, fast, by_dates):
    train, test = by_dates(market_frame, 0, 59), by_dates(market_frame, 60, 69)
    knobs = {**fast, "max_epochs": 1, "device": "auto"}
    model = LSTMRegressor(features, seq_len=4, trainer=knobs).fit(train)
    assert model.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(model.module_.parameters()).device.type == "cpu"  # stored on CPU: portable
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(test), model.predict(test))


def test_registry_knows_every_family_with_described_knobs(features):
    assert set(FAMILIES) <= set(available_models())
    for name in FAMILIES:
        fields = config_fields(name)
        assert all(f["description"] for f in fields), name
        assert {"max_epochs", "seed", "device", "checkpoint_dir", "loss"} <= {
            f["name"] for f in fields
        }
    model = build_model("transformer", features, {"seq_len": 7, "max_epochs": 3, "n_heads": 4})
    assert (
        isinstance(model, TransformerRegressor)
        and get_model_family("transformer").model_cls is TransformerRegressor
    )
    assert model.seq_len == 7 and model.n_heads == 4 and model.trainer.max_epochs == 3
    with pytest.raises(ValueError, match="loss must be one of"):
        build_model("gru", features, {"loss": "huber"})


def test_fit_errors_name_the_problem(market_frame, features, fast):
    with pytest.raises(ValueError, match=r"train is missing columns \['zz'\]"):
        MLPRegressor([*features, "zz"], trainer=fast).fit(market_frame)
    with pytest.raises(RuntimeError, match="not fitted"):
        MLPRegressor(features).predict(market_frame)
    with pytest.raises(ValueError, match="seq_len must be >= 1, got 0"):
        LSTMRegressor(features, seq_len=0, trainer=fast).fit(market_frame)


def test_importing_the_model_layer_does_not_import_torch():
    code = (
        "import sys, quant_core.models, quant_core.models.torch; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert {'lstm', 'transformer'} <= set(quant_core.models.available_models())"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
