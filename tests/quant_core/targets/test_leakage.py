from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from quant_core.targets.forward_returns import forward_returns
from quant_core.targets.leakage import (
    audit_availability,
    audit_feature_leakage,
    verify_splits,
)

# ----------------------------------------------------------------------------- verify_splits

N_DATES, H = 20, 2
CAL = np.array([np.datetime64("2023-01-02") + i for i in range(N_DATES)])
POS = np.repeat(np.arange(N_DATES), 2)  # two assets per date; row = 2 * pos + asset
DATES = CAL[POS]
LABEL_END = CAL[np.minimum(POS + H, N_DATES - 1)]


def rows(positions) -> np.ndarray:
    return np.flatnonzero(np.isin(POS, list(positions)))


TEST = rows(range(10, 15))
# Purged: train labels [p, p+2] must end before 10 -> p <= 7; after the test block the train
# label must start after the last test label end (16) -> p >= 17.
GOOD_TRAIN = rows(list(range(8)) + list(range(17, 20)))


def test_correct_split_passes():
    audit = verify_splits(DATES, LABEL_END, [(GOOD_TRAIN, TEST)], embargo_days=1)
    assert audit.passed and audit.problems == []
    row = audit.table.row(0, named=True)
    assert (row["n_train"], row["n_test"], row["n_overlap_rows"], row["n_embargo_rows"]) == (
        22,
        10,
        0,
        0,
    )
    assert row["test_start"] == date(2023, 1, 12) and row["test_end"] == date(2023, 1, 16)


def test_planted_overlap_is_caught():
    train = np.sort(np.r_[GOOD_TRAIN, rows([8])])  # label [8, 10] touches test date 10
    audit = verify_splits(DATES, LABEL_END, [(GOOD_TRAIN, TEST), (train, TEST)], embargo_days=0)
    assert not audit.passed
    assert audit.table["passed"].to_list() == [True, False]
    assert audit.table["n_overlap_rows"].to_list() == [0, 2]
    assert len(audit.problems) == 1 and audit.problems[0].startswith("fold 1:")
    assert "overlapping" in audit.problems[0] and "2023-01-10" in audit.problems[0]


def test_planted_embargo_violation_is_caught():
    # Embargo 4 dates after the block ending at 14 -> positions 15..18; train at 17, 18 violate.
    audit = verify_splits(DATES, LABEL_END, [(GOOD_TRAIN, TEST)], embargo_days=4)
    assert not audit.passed
    assert audit.table["n_embargo_rows"].to_list() == [4]
    assert audit.table["n_overlap_rows"].to_list() == [0]
    assert "embargo" in audit.problems[0] and "2023-01-19" in audit.problems[0]
    ok = verify_splits(DATES, LABEL_END, [(rows(list(range(8)) + [19]), TEST)], embargo_days=4)
    assert ok.passed


def test_shared_dates_and_rows_are_caught():
    train = np.sort(np.r_[GOOD_TRAIN, [TEST[0]]])
    shared_date = verify_splits(DATES, LABEL_END, [(GOOD_TRAIN, np.r_[TEST, [14]])], 0)
    shared_row = verify_splits(DATES, LABEL_END, [(train, TEST)], 0)
    assert shared_date.table["n_shared_dates"].item() == 1
    assert shared_row.table["n_shared_rows"].item() == 1
    assert not shared_date.passed and not shared_row.passed


def test_embargo_applies_to_every_contiguous_test_block():
    test = rows([5, 6, 12, 13])
    # Test label windows [5, 8] and [12, 15]; purged train: p <= 2, p == 9, p >= 16.
    train = rows([0, 1, 2, 9, 16, 17, 18, 19])
    assert verify_splits(DATES, LABEL_END, [(train, test)], embargo_days=0).passed
    # embargo 2 -> positions 7, 8 and 14, 15: no train there
    assert verify_splits(DATES, LABEL_END, [(train, test)], embargo_days=2).passed
    # embargo 3 -> positions 7..9 and 14..16: train dates 9 and 16 (two assets each) violate
    worse = verify_splits(DATES, LABEL_END, [(train, test)], embargo_days=3)
    assert worse.table["n_embargo_rows"].item() == 4


def test_overlap_count_matches_brute_force():
    rng = np.random.default_rng(1)
    n = 300
    d = np.sort(np.datetime64("2020-01-01") + rng.integers(0, 120, n))
    e = d + rng.integers(0, 6, n)
    for _ in range(5):
        perm = rng.permutation(n)
        test, train = np.sort(perm[:60]), np.sort(perm[60:200])
        brute = sum(bool(np.any((d[test] <= e[j]) & (d[j] <= e[test]))) for j in train)
        audit = verify_splits(d, e, [(train, test)], 0)
        assert audit.table["n_overlap_rows"].item() == brute


def test_verify_splits_validation():
    with pytest.raises(ValueError, match="got -1"):
        verify_splits(DATES, LABEL_END, [(GOOD_TRAIN, TEST)], embargo_days=-1)
    with pytest.raises(ValueError, match="fold 0"):
        verify_splits(DATES, LABEL_END, [(np.array([999]), TEST)], 0)
    assert not verify_splits(DATES, LABEL_END, [], 0).passed


# ------------------------------------------------------------------------ audit_availability


def test_availability_flags_late_features_and_bad_labels():
    d0 = date(2024, 3, 1)
    frame = pl.DataFrame(
        {
            "date": [d0, d0, d0 + timedelta(days=1)],
            "asset": ["a", "b", "a"],
            "f_ok": [1.0, 2.0, 3.0],
            "f_late": [1.0, None, 3.0],
            "f_daily": [1.0, 2.0, 3.0],
            "ts_ok": [datetime(2024, 3, 1, 9), datetime(2024, 3, 1, 16), datetime(2024, 3, 2, 8)],
            "ts_late": [datetime(2024, 3, 1, 18), datetime(2024, 3, 3), datetime(2024, 3, 2, 15)],
            "ts_daily": [d0, d0, d0 + timedelta(days=2)],
            "label_start": [d0 + timedelta(days=1), d0, d0 + timedelta(days=2)],
        }
    )
    audit = audit_availability(frame, {"f_ok": "ts_ok", "f_late": "ts_late", "f_daily": "ts_daily"})
    assert not audit.passed
    table = {r["column"]: r["n_violations"] for r in audit.table.iter_rows(named=True)}
    # f_late row 1 is null (not checked); row 0 at 18:00 > 16:00 close is late; row 2 fine
    assert table == {"f_ok": 0, "f_late": 1, "f_daily": 1, "label_start": 1}
    text = " ".join(audit.problems)
    assert "'f_late'" in text and "row=0" in text and "'f_daily'" in text and "row=2" in text
    assert "label_start" in text and "row=1" in text

    clean = audit_availability(frame.head(1), {"f_ok": "ts_ok"})
    assert clean.passed and clean.problems == []


def test_availability_with_explicit_decision_time():
    d0 = date(2024, 3, 1)
    frame = pl.DataFrame(
        {
            "date": [d0],
            "asset": ["a"],
            "f": [1.0],
            "ts": [datetime(2024, 3, 1, 18)],
            "decide": [datetime(2024, 3, 1, 20)],
            "label_start": [d0 + timedelta(days=1)],
        }
    )
    assert audit_availability(frame, {"f": "ts"}, decision_time_col="decide").passed
    assert not audit_availability(frame, {"f": "ts"}).passed


# --------------------------------------------------------------------- audit_feature_leakage


def _ic_panel(n_dates=500, n_assets=100, seed=0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    target = rng.normal(0, 0.02, (n_dates, n_assets))
    z = (target - target.mean(1, keepdims=True)) / target.std(1, keepdims=True)
    rho = 0.05 + rng.normal(0, 0.05, (n_dates, 1))  # realistic: IC 0.05 with per-date noise
    signal = rho * z + np.sqrt(1 - rho**2) * rng.normal(0, 1, z.shape)
    leaked = target + rng.normal(0, target.std(), target.shape)
    dates = np.datetime64("2020-01-01") + np.arange(n_dates)
    return pl.DataFrame(
        {
            "date": pl.Series(np.repeat(dates, n_assets)),
            "asset": np.tile([f"A{j}" for j in range(n_assets)], n_dates),
            "target": target.ravel(),
            "signal": signal.ravel(),
            "leaked": leaked.ravel(),
            "noise": rng.normal(0, 1, n_dates * n_assets),
            "flipped": (leaked * np.where(np.arange(n_dates) % 2, 1, -1)[:, None]).ravel(),
        }
    )


def test_feature_leakage_flags_target_plus_noise_not_a_realistic_signal():
    frame = _ic_panel()
    audit = audit_feature_leakage(frame, ["signal", "leaked", "noise", "flipped"])
    assert audit.flagged_features == ["leaked", "flipped"]
    assert not audit.passed
    t = {r["feature"]: r for r in audit.table.iter_rows(named=True)}
    assert 0.03 < t["signal"]["mean_ic"] < 0.08
    assert t["leaked"]["mean_ic"] > 0.6
    assert abs(t["flipped"]["mean_ic"]) < 0.05 and t["flipped"]["mean_abs_ic"] > 0.6
    assert t["signal"]["n_dates"] == 500
    assert set(audit.table.columns) >= {
        "feature",
        "mean_ic",
        "mean_abs_ic",
        "max_abs_ic",
        "n_dates",
    }
    assert audit_feature_leakage(frame, ["signal", "noise"]).passed


def test_feature_leakage_daily_returns_catch_a_one_day_lookahead():
    rng = np.random.default_rng(5)
    n_dates, n_assets = 150, 40
    dates = np.datetime64("2021-01-01") + np.arange(n_dates)
    rets = rng.normal(0, 0.01, (n_dates, n_assets))
    close = 100 * np.cumprod(1 + rets, axis=0)
    panel = pl.DataFrame(
        {
            "date": pl.Series(np.repeat(dates, n_assets)),
            "asset": np.tile([f"A{j}" for j in range(n_assets)], n_dates),
            "close": close.ravel(),
            "return": rets.ravel(),
        }
    )
    # The feature knows tomorrow's return (t+1), which falls in the lag gap before label_start.
    peek = panel.with_columns(pl.col("return").shift(-1).over("asset").alias("peek"))
    frame = forward_returns(panel, horizon_days=20).join(
        peek.select("date", "asset", "peek"), on=["date", "asset"]
    )
    plain = audit_feature_leakage(frame, ["peek"])
    assert plain.passed  # invisible against the 20-day target
    daily = audit_feature_leakage(
        frame, ["peek"], daily_returns=panel.select("date", "asset", "return")
    )
    assert daily.flagged_features == ["peek"]
    row = daily.table.row(0, named=True)
    assert row["worst_daily_offset"] == 1 and row["worst_daily_mean_ic"] > 0.9
    assert "1 dates after t" in daily.problems[0]


def test_feature_leakage_validation():
    frame = _ic_panel(5, 20)
    with pytest.raises(ValueError, match="got 0"):
        audit_feature_leakage(frame, ["signal"], threshold_abs_ic=0)
    with pytest.raises(ValueError, match="missing_col"):
        audit_feature_leakage(frame, ["missing_col"])
