import numpy as np
import polars as pl
import pytest

from quant_core.models import RidgeRegressor, model_factory, train_foldwise
from quant_core.models.training import inner_validation_split

FEATURES = ["f1", "f2", "f3", "f4"]


def kfold_by_date(frame, n_splits=5):
    """Contiguous date blocks as test folds; train = every other row."""
    dates = frame["date"].to_numpy()
    blocks = np.array_split(np.unique(dates), n_splits)
    for block in blocks:
        test = np.isin(dates, block)
        yield np.flatnonzero(~test), np.flatnonzero(test)


def walk_forward(frame, n_splits=3, min_train=100):
    dates = frame["date"].to_numpy()
    u = np.unique(dates)
    for block in np.array_split(u[min_train:], n_splits):
        yield np.flatnonzero(dates < block[0]), np.flatnonzero(np.isin(dates, block))


class Recorder:
    """A model that remembers what it was fitted on."""

    features, target = FEATURES, "target"

    def fit(self, train, valid=None):
        self.train_dates_ = set(train["date"].to_list())
        self.valid_dates_ = set(valid["date"].to_list()) if valid is not None else set()
        self.n_train_ = train.height
        return self

    def predict(self, frame):
        return frame["f1"].to_numpy().astype(np.float64)


def test_oof_covers_each_test_row_exactly_once(frame):
    splits = list(kfold_by_date(frame))
    res = train_foldwise(frame, splits, model_factory("ridge", FEATURES))
    assert len(res.models) == 5 and res.oof.height == frame.height
    assert res.oof.columns == ["date", "asset", "fold", "prediction", "target"]
    assert res.oof.schema["fold"] == pl.Int64
    assert res.oof.select("date", "asset").is_unique().all()
    keyed = frame.select("date", "asset").with_row_index("row")
    joined = res.oof.join(keyed, on=["date", "asset"], how="left")
    test_rows = np.concatenate([t for _, t in splits])
    np.testing.assert_array_equal(np.sort(joined["row"].to_numpy()), np.sort(test_rows))
    assert res.oof.equals(res.oof.sort(["date", "asset"]))
    # predictions are the fold model's predictions on its test rows
    for fold, (_, test_idx) in enumerate(splits):
        got = res.oof.filter(pl.col("fold") == fold)
        want = (
            frame[test_idx]
            .select("date", "asset")
            .with_columns(prediction=pl.Series(res.models[fold].predict(frame[test_idx])))
        )
        assert got.select("date", "asset", "prediction").equals(want.sort(["date", "asset"]))
    assert res.folds["n_test"].to_list() == [len(t) for _, t in splits]
    assert res.folds["n_train"].to_list() == [len(t) for t, _ in splits]


def test_walk_forward_oof_only_on_test_rows(frame):
    splits = list(walk_forward(frame))
    res = train_foldwise(frame, splits, lambda: RidgeRegressor(FEATURES))
    assert res.oof.height == sum(len(t) for _, t in splits)
    f = res.folds
    assert (f["train_end"] < f["test_start"]).all()
    assert res.oof["date"].min() == frame["date"].unique().sort()[100]


@pytest.mark.parametrize("inner, purge", [(10, 3), (5, 0)])
def test_inner_valid_slice_before_test_and_after_purge(frame, inner, purge):
    splits = list(walk_forward(frame)) + list(kfold_by_date(frame, 4))
    res = train_foldwise(frame, splits, Recorder, inner_valid_days=inner, purge_days=purge)
    for fold, ((train_idx, test_idx), m) in enumerate(zip(splits, res.models, strict=True)):
        train_dates = np.unique(frame["date"].to_numpy()[train_idx])
        test_dates = set(frame["date"][test_idx].to_list())
        valid = sorted(m.valid_dates_)
        assert len(valid) == inner
        assert valid == [d.astype("M8[D]").item() for d in train_dates[-inner:]]
        assert set(valid) <= {d.item() for d in train_dates.astype("M8[D]")}
        assert not set(valid) & test_dates
        assert not m.train_dates_ & test_dates
        assert max(m.train_dates_) < min(valid)
        gap = [
            d for d in train_dates.astype("M8[D]").tolist() if max(m.train_dates_) < d < min(valid)
        ]
        assert len(gap) == purge
        row = res.folds.row(fold, named=True)
        assert row["n_valid"] == 40 * inner and row["n_purged"] == 40 * purge
        assert row["n_train"] == m.n_train_ == len(train_idx) - 40 * (inner + purge)
        assert row["valid_start"] == valid[0] and row["valid_end"] == valid[-1]


def test_lightgbm_foldwise_with_early_stopping(frame):
    make = model_factory("lightgbm", FEATURES, {"num_boost_round": 40, "early_stopping_rounds": 5})
    res = train_foldwise(frame, walk_forward(frame, 2), make, inner_valid_days=10, purge_days=2)
    assert all("valid" in m.evals_result_ for m in res.models)
    assert np.corrcoef(res.oof["prediction"], res.oof["target"])[0, 1] > 0.2


def test_errors(frame):
    idx = np.arange(100)
    with pytest.raises(ValueError, match="both train and test"):
        train_foldwise(frame, [(idx, idx[50:])], Recorder)
    with pytest.raises(ValueError, match="empty test"):
        train_foldwise(frame, [(idx, idx[:0])], Recorder)
    with pytest.raises(ValueError, match="inner_valid_days \\+ purge_days = 5"):
        train_foldwise(frame, [(idx[:80], idx[80:])], Recorder, inner_valid_days=3, purge_days=2)
    with pytest.raises(ValueError, match="purge_days must be >= 0, got -1"):
        inner_validation_split(frame["date"].to_numpy(), idx, 1, -1)
