"""DeepLOB: the paper's network, past-only inputs, labels, and it beats the majority class."""

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from quant_core.data.orderbook_sim import OrderBookSimConfig, simulate_orderbook
from quant_core.models import DeepLOBClassifier, build_model, config_fields
from quant_core.models.torch.deeplob import classification_metrics
from quant_core.models.torch.deeplob_net import DeepLOBNet, WindowBatches
from quant_core.models.torch.lob_data import lob_feature_columns, normalise_book, sort_book
from quant_core.targets import lob_labels

BTC = Path("/work/shared/data/lob/btcusd_bitstamp_2026-05-02_L10_100ms.csv.gz")
TINY = {"conv_channels": 8, "inception_channels": 8, "lstm_hidden": 16, "batch_size": 64}


def deeplob(fast, window_events=20, norm_window_events=200, **trainer):
    return DeepLOBClassifier(
        window_events=window_events, horizon_events=10, threshold=2e-4,
        norm_window_events=norm_window_events, trainer={**fast, **trainer}, **TINY,
    )  # fmt: skip


@pytest.fixture(scope="module")
def book() -> pl.DataFrame:
    return simulate_orderbook(OrderBookSimConfig(n_events=6000, seed=1)).book


def test_deeplob_beats_the_majority_class_on_a_held_out_tail(book, fast):
    train, valid, test = book[:3600], book[3600:4500], book[4500:]
    model = deeplob({**fast, "max_epochs": 4}).fit(train, valid)
    y = model.labels(test)
    scored = y >= 0
    proba = model.predict_proba(test)[scored]
    got = classification_metrics(y[scored], proba)
    majority = int(np.argmax(model.class_counts_))
    baseline = float(np.mean(y[scored] == majority))
    assert got["accuracy"] > baseline + 0.10, (got, baseline)
    assert got["macro_f1"] > 0.45, got
    pred = proba.argmax(axis=1)  # metrics agree with scikit-learn
    assert got["accuracy"] == pytest.approx(accuracy_score(y[scored], pred))
    assert got["macro_f1"] == pytest.approx(f1_score(y[scored], pred, average="macro"))
    assert model.n_train_windows_ == 3600 - 219 - 10  # warm-up 200 + 20 - 1; no label on last 10
    # valid's windows reach back into train, but its labels use valid's own mids only:
    # none for its first k - 1 rows (no past mean) and its last k rows (no future mean)
    assert model.n_valid_windows_ == 900 - 9 - 10
    best = model.history_[model.best_epoch_ - 1]
    assert {"valid_loss", "valid_accuracy", "valid_macro_f1"} <= set(best)
    assert model.evals_result_["valid"]["accuracy"] == [h["valid_accuracy"] for h in model.history_]


def test_same_seed_same_probabilities(book, fast):
    train, valid, test = book[:1400], book[1400:1700], book[1700:2000]
    knobs = {**fast, "max_epochs": 1}
    runs = [deeplob(knobs, 10, 100).fit(train, valid).predict_proba(test) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    other = deeplob(knobs, 10, 100, seed=1).fit(train, valid).predict_proba(test)
    assert not np.array_equal(runs[0], other)
    assert np.all((runs[0] >= 0) & (runs[0] <= 1))
    np.testing.assert_allclose(runs[0].sum(axis=1), 1.0, atol=1e-12)


def test_network_follows_the_paper():
    net = DeepLOBNet()  # the paper's sizes
    convs = [
        (m.kernel_size, m.stride, m.out_channels)
        for m in net.modules()
        if isinstance(m, torch.nn.Conv2d)
    ]
    blocks = [((1, 2), (1, 2), 32), ((4, 1), (1, 1), 32), ((4, 1), (1, 1), 32)] * 2 + [
        ((1, 10), (1, 1), 32), ((4, 1), (1, 1), 32), ((4, 1), (1, 1), 32),
    ]  # fmt: skip
    inception = [((1, 1), (1, 1), 64), ((3, 1), (1, 1), 64), ((1, 1), (1, 1), 64),
                 ((5, 1), (1, 1), 64), ((1, 1), (1, 1), 64)]  # fmt: skip
    assert convs == blocks + inception
    assert net.lstm.hidden_size == 64 and net.lstm.input_size == 192 and net.head.out_features == 3
    acts = {type(m) for m in net.modules() if isinstance(m, torch.nn.LeakyReLU | torch.nn.ReLU)}
    assert acts == {torch.nn.LeakyReLU}
    net.eval()
    x = torch.randn(2, 100, 40)
    assert net(x).shape == (2, 3)
    # only events inside the window are read: the output does not depend on the batch mates
    torch.testing.assert_close(net(x[:1]), net(x)[:1])
    with pytest.raises(ValueError, match=r"expected input \(batch, events, 40\)"):
        net(torch.randn(2, 100, 36))


def test_normalisation_is_pooled_past_only_and_matches_numpy():
    sim = simulate_orderbook(OrderBookSimConfig(n_events=60, n_assets=2, levels=2, seed=4)).book
    feats = lob_feature_columns(2)
    book, _ = sort_book(sim)
    Z = normalise_book(book, feats, window_events=5, clip_z=50.0)
    X = book.select(feats).to_numpy()
    for row in (0, 4, 5, 17, 59, 60, 65, 119):
        start = 0 if row < 60 else 60
        past = X[max(start, row - 5) : row]
        for cols in ([0, 2, 4, 6], [1, 3, 5, 7]):
            if row - start < 5:
                np.testing.assert_array_equal(Z[row, cols], 0.0)  # not enough past: the mean
            else:
                pooled = past[:, cols].ravel()
                expected = (X[row, cols] - pooled.mean()) / pooled.std()
                np.testing.assert_allclose(Z[row, cols], expected, rtol=1e-5, atol=1e-5)
    later = book.with_columns(pl.col(c) * 1.5 for c in feats)
    mixed = pl.concat([book[:30], later[30:60], book[60:]])
    np.testing.assert_array_equal(normalise_book(mixed, feats, 5, 50.0)[:30], Z[:30])
    assert np.abs(normalise_book(book, feats, 5, 1.0)).max() <= 1.0


def test_labels_come_from_each_assets_own_mid_or_the_target_column(fast):
    sim = simulate_orderbook(OrderBookSimConfig(n_events=300, n_assets=2, levels=10, seed=2)).book
    shuffled = sim.sample(fraction=1.0, shuffle=True, seed=0)
    model = deeplob(fast)
    got = model.labels(shuffled)
    for asset in ("LOB0", "LOB1"):
        rows = (shuffled["asset"] == asset).to_numpy()
        part = shuffled.filter(rows).sort("timestamp")
        mid = ((part["ask_px_1"] + part["bid_px_1"]) / 2).to_numpy()
        expected = lob_labels(mid, 10, 2e-4)["label_10"].fill_null(-1).to_numpy()
        order = np.argsort(shuffled.filter(rows)["timestamp"].to_numpy())
        np.testing.assert_array_equal(got[rows][order], expected)
    given = shuffled.with_columns(pl.Series("target", got).replace(-1, None))
    np.testing.assert_array_equal(model.labels(given), got)
    with pytest.raises(ValueError, match="must hold 0, 1, 2 or null"):
        model.labels(shuffled.with_columns(target=pl.lit(5)))


def test_windows_never_cross_assets():
    X = torch.arange(1, 8, dtype=torch.float32).reshape(7, 1)  # snapshots 0..6 -> rows 1..7
    X = torch.cat([torch.zeros(1, 1), X])
    starts = np.array([0, 0, 0, 0, 4, 4, 4])  # asset A: 0-3, asset B: 4-6
    src = WindowBatches(X, np.array([1, 3, 4, 6]), starts, 3, batch_size=10)
    (batch,) = list(src.batches(None))
    got = batch["inputs"][0][:, :, 0].numpy()
    np.testing.assert_array_equal(got, [[0, 1, 2], [2, 3, 4], [0, 0, 5], [5, 6, 7]])
    shuffled = [b["rows"].numpy() for b in src.batches(torch.Generator().manual_seed(0))]
    assert sorted(np.concatenate(shuffled).tolist()) == [1, 3, 4, 6]


def test_a_later_frame_alone_uses_the_kept_context(book, fast):
    train, test = book[:1500], book[1500:1800]
    model = deeplob({**fast, "max_epochs": 1}, 10, 100).fit(train)
    alone = model.predict_proba(test)
    together = model.predict_proba(pl.concat([train, test]))[1500:]
    np.testing.assert_allclose(alone, together, atol=1e-5)  # rolling sums start elsewhere
    model.context_ = model.context_.clear()
    assert not np.allclose(model.predict_proba(test)[:50], alone[:50], atol=1e-3)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict_proba(test), model.predict_proba(test))
    np.testing.assert_array_equal(model.predict(test), model.predict_proba(test).argmax(axis=1))


class Killed(RuntimeError):
    pass


def test_resumed_training_equals_uninterrupted(book, fast, tmp_path):
    train, valid = book[:1400], book[1400:1700]
    knobs = {**fast, "max_epochs": 3, "patience": 0, "lr_schedule": "cosine"}
    full = deeplob(knobs, 10, 100).fit(train, valid)
    ckpt = {**knobs, "checkpoint_dir": str(tmp_path)}
    killed = deeplob(ckpt, 10, 100)

    def kill(record):
        if record["epoch"] == 2:
            raise Killed("killed after epoch 2")

    killed.callbacks = (kill,)
    with pytest.raises(Killed):
        killed.fit(train, valid)
    resumed = deeplob(ckpt, 10, 100).fit(train, valid)
    assert resumed.resumed_from_epoch_ == 2 and resumed.n_epochs_ == 3
    for name, value in full.module_.state_dict().items():
        torch.testing.assert_close(resumed.module_.state_dict()[name], value, rtol=0, atol=0)


def test_errors_and_registry(book, fast):
    with pytest.raises(ValueError, match="valid must follow train in time per asset"):
        deeplob(fast).fit(book[1000:2000], book[:500])
    with pytest.raises(ValueError, match="no training windows"):
        deeplob(fast).fit(book[:200])
    with pytest.raises(ValueError, match="4 columns per level"):
        DeepLOBClassifier(lob_feature_columns(2)[:-1], trainer=fast).fit(book)
    with pytest.raises(ValueError, match="deeplob early-stops on 'valid_loss' only"):
        build_model("deeplob", lob_feature_columns(), {"monitor": "valid_rank_ic"})
    with pytest.raises(RuntimeError, match="not fitted"):
        DeepLOBClassifier().predict_proba(book)
    fields = {f["name"]: f for f in config_fields("deeplob")}
    assert all(f["description"] for f in fields.values())
    model = build_model(
        "deeplob", lob_feature_columns(10), {"window_events": 50, "conv_channels": 4}
    )
    assert isinstance(model, DeepLOBClassifier) and model.window_events == 50
    assert model.conv_channels == 4 and model.n_levels == 10


@pytest.mark.realdata
@pytest.mark.slow
def test_deeplob_trains_and_predicts_on_the_real_btc_book(fast, capsys):
    if not BTC.exists():
        pytest.skip(f"real order book not present at {BTC}")
    raw = pl.read_csv(BTC)
    levels = [c for c in raw.columns if c != "ts_ms"]
    # one row per book event: drop 100 ms snapshots where nothing changed
    changed = pl.any_horizontal(pl.col(c) != pl.col(c).shift(1) for c in levels).fill_null(True)
    book = raw.filter(changed).select(
        pl.col("ts_ms").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC").alias("timestamp"),
        pl.lit("BTCUSD").alias("asset"),
        *levels,
    )
    n = book.height
    train, valid, test = (
        book[: int(0.6 * n)],
        book[int(0.6 * n) : int(0.75 * n)],
        book[int(0.75 * n) :],
    )
    model = DeepLOBClassifier(
        window_events=50, horizon_events=50, threshold=5e-6, norm_window_events=500,
        trainer={**fast, "max_epochs": 3}, **TINY,
    ).fit(train, valid)  # fmt: skip
    proba = model.predict_proba(test)
    assert proba.shape == (test.height, 3) and np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    y = model.labels(test)
    scored = y >= 0
    got = classification_metrics(y[scored], proba[scored])
    baseline = float(np.mean(y[scored] == np.argmax(model.class_counts_)))
    test_mix = np.bincount(y[scored], minlength=3) / scored.sum()
    with capsys.disabled():
        print(
            f"\nBTC/USD DeepLOB: {n} events, test {int(scored.sum())} labelled; accuracy "
            f"{got['accuracy']:.3f}, macro-F1 {got['macro_f1']:.3f}; majority class of train "
            f"scores {baseline:.3f}, best constant in hindsight {test_mix.max():.3f}; classes "
            f"(down, flat, up) train {model.class_counts_.tolist()}, test {np.round(test_mix, 3)}"
        )
