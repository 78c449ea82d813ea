"""The shared trainer on toy problems: losses, early stopping, seeding, devices, checkpoints."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from quant_core.models.torch.batches import DateBatches
from quant_core.models.torch.checkpoint import checkpoint_path
from quant_core.models.torch.configs import TrainerConfig
from quant_core.models.torch.device import resolve_device
from quant_core.models.torch.losses import ICLoss, MSELoss, grouped_pearson
from quant_core.models.torch.trainer import Trainer

CPU = torch.device("cpu")


def linear_problem(n_dates=40, per_date=10, seed=0):
    """y = X @ w + noise with rows grouped into dates; a custom collate (no sequences)."""
    rng = np.random.default_rng(seed)
    n = n_dates * per_date
    X = rng.standard_normal((n, 3)).astype(np.float32)
    w = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    y = (X @ w + 0.1 * rng.standard_normal(n)).astype(np.float32)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def collate(rows, group):
        return {"inputs": (Xt[rows],), "y": yt[rows], "rows": rows}

    dates = np.repeat(np.arange(n_dates), per_date)
    return X, y, dates, collate


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x).squeeze(-1)


def config(**kw):
    base = {"device": "cpu", "num_threads": 1, "progress": "off", "patience": 0}
    return TrainerConfig(**{**base, **kw})


def test_trainer_fits_least_squares_like_numpy():
    X, y, dates, collate = linear_problem()
    src = DateBatches(dates, np.arange(len(y)), collate, 10, CPU)
    cfg = config(
        max_epochs=100,
        learning_rate=0.05,
        weight_decay=0.0,
        grad_clip_norm=0.0,
        lr_schedule="cosine",
    )
    res = Trainer(cfg).fit(Linear, src, MSELoss())
    design = np.c_[X, np.ones(len(y))]
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    got = np.r_[res.module.lin.weight.detach().numpy().ravel(), res.module.lin.bias.item()]
    np.testing.assert_allclose(got, coef, atol=5e-4)
    assert [h["epoch"] for h in res.history] == list(range(1, 101))
    assert res.best_epoch == 100 and not res.stopped_early and res.device == "cpu"
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_date_batches_hold_whole_dates_and_shuffle_reproducibly():
    _, _, dates, collate = linear_problem(n_dates=7, per_date=3)
    rows = np.flatnonzero(dates != 3)
    src = DateBatches(dates, rows[::-1].copy(), collate, 2, CPU)
    assert (src.n_rows, src.n_dates, len(src)) == (18, 6, 3)
    ordered = [b for b in src.batches(None)]
    np.testing.assert_array_equal(
        np.concatenate([b["rows"].numpy() for b in ordered]), src.ordered_rows
    )
    assert np.all(np.diff(dates[src.ordered_rows]) >= 0)
    for b in ordered + list(src.batches(torch.Generator().manual_seed(1))):
        d = dates[b["rows"].numpy()]
        # rows of a batch form whole dates and group numbers them 0..n_groups-1
        for g in range(b["n_groups"]):
            (day,) = np.unique(d[b["group"].numpy() == g])
            assert (dates[rows] == day).sum() == (d == day).sum()
    order = [
        [b["rows"].tolist() for b in src.batches(torch.Generator().manual_seed(s))]
        for s in (1, 1, 2)
    ]
    assert order[0] == order[1] and order[0] != order[2]


def test_grouped_pearson_matches_scipy():
    rng = np.random.default_rng(1)
    group = np.repeat([0, 1, 2], [5, 8, 6])
    pred, y = rng.standard_normal(19), rng.standard_normal(19)
    got = grouped_pearson(torch.tensor(pred), torch.tensor(y), torch.tensor(group), 3).numpy()
    want = [stats.pearsonr(pred[group == g], y[group == g])[0] for g in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    batch = {"y": torch.tensor(y), "group": torch.tensor(group), "n_groups": 3}
    assert ICLoss().units(batch) == 3 and MSELoss().units(batch) == 19
    np.testing.assert_allclose(
        float(ICLoss()(torch.tensor(pred), batch)), -np.mean(want), rtol=1e-5
    )
    # a constant cross-section contributes 0, not NaN
    const = grouped_pearson(torch.ones(4), torch.arange(4.0), torch.zeros(4, dtype=torch.long), 1)
    assert const.item() == 0.0


def test_early_stopping_keeps_best_epoch_and_restores_its_weights():
    X, y, dates, collate = linear_problem(seed=2)
    rng = np.random.default_rng(3)
    y_noisy = torch.from_numpy((y + 3 * rng.standard_normal(len(y))).astype(np.float32))

    def noisy(rows, group):  # the validation target is mostly noise: early stopping must bite
        return {**collate(rows, group), "y": y_noisy[rows]}

    train = DateBatches(dates, np.flatnonzero(dates < 30), collate, 2, CPU)
    valid = DateBatches(dates, np.flatnonzero(dates >= 30), noisy, 2, CPU)
    res = Trainer(config(max_epochs=60, patience=3, learning_rate=0.3)).fit(
        Linear, train, MSELoss(), valid
    )
    losses = [h["valid_loss"] for h in res.history]
    assert res.stopped_early and len(losses) == res.best_epoch + 3
    assert res.best_epoch == int(np.argmin(losses)) + 1
    with torch.no_grad():
        rows = torch.from_numpy(valid.ordered_rows)
        pred = res.module(torch.from_numpy(X)[rows])
        np.testing.assert_allclose(
            float(torch.mean((pred - y_noisy[rows]) ** 2)), min(losses), rtol=1e-5
        )


def test_trainer_restores_threads_and_determinism_flags():
    _, y, dates, collate = linear_problem(n_dates=5)
    src = DateBatches(dates, np.arange(len(y)), collate, 5, CPU)
    torch.set_num_threads(1)
    assert not torch.are_deterministic_algorithms_enabled()
    seen = []
    cfg = config(max_epochs=1, num_threads=2)
    Trainer(cfg, callbacks=[lambda rec: seen.append(torch.get_num_threads())]).fit(
        Linear, src, MSELoss()
    )
    assert seen == [2]
    assert torch.get_num_threads() == 1 and not torch.are_deterministic_algorithms_enabled()


def test_device_auto_picks_cuda_only_when_available():
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want
    assert Trainer(TrainerConfig()).device.type == want
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' but torch.cuda.is_available"):
            resolve_device("cuda")


def test_config_errors_name_the_value():
    with pytest.raises(ValueError, match="max_epochs must be >= 1, got 0"):
        TrainerConfig(max_epochs=0)
    with pytest.raises(ValueError, match="device must be .* got 'tpu'"):
        TrainerConfig(device="tpu")
    with pytest.raises(ValueError, match="monitor must be one of"):
        TrainerConfig(monitor="sharpe")
    _, y, dates, collate = linear_problem(n_dates=5)
    src = DateBatches(dates, np.arange(len(y)), collate, 5, CPU)
    with pytest.raises(ValueError, match="needs a run_key"):
        Trainer(config(checkpoint_dir="/tmp/x")).fit(Linear, src, MSELoss())
    with pytest.raises(ValueError, match="monitor='valid_rank_ic' needs valid_metrics"):
        Trainer(config(monitor="valid_rank_ic")).fit(Linear, src, MSELoss(), src)


def test_checkpoint_of_another_run_is_refused(tmp_path):
    _, y, dates, collate = linear_problem(n_dates=5)
    src = DateBatches(dates, np.arange(len(y)), collate, 5, CPU)
    cfg = config(max_epochs=2, checkpoint_dir=str(tmp_path))
    Trainer(cfg).fit(Linear, src, MSELoss(), run_key="run-a")
    path = checkpoint_path(tmp_path, "run-a")
    payload = torch.load(path, weights_only=True)
    assert payload["epoch"] == 2 and payload["run_key"] == "run-a"
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "early_stopping", "history"} <= set(
        payload
    )
    path.rename(
        checkpoint_path(tmp_path, "run-b").parent.mkdir() or checkpoint_path(tmp_path, "run-b")
    )
    with pytest.raises(ValueError, match="belongs to run 'run-a', not 'run-b'"):
        Trainer(cfg).fit(Linear, src, MSELoss(), run_key="run-b")
