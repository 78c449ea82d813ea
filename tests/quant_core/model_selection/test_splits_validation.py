"""Parameter and input validation: errors name the bad value."""

from __future__ import annotations

import numpy as np
import pytest

from quant_core.model_selection import (
    CombinatorialPurgedKFold,
    Holdout,
    PurgedKFold,
    Rolling,
    SklearnSplitter,
    WalkForward,
)

DATES = np.datetime64("2024-01-01") + np.arange(6).astype("timedelta64[D]")


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match=r"n_splits must be an integer, got 2.5"):
        PurgedKFold(n_splits=2.5)
    with pytest.raises(TypeError, match=r"test_fraction must be a number, got 'a'"):
        Holdout(test_fraction="a")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: PurgedKFold(n_splits=1), r"n_splits must be >= 2, got 1"),
        (lambda: PurgedKFold(embargo_days=-1), r"embargo_days must be >= 0, got -1"),
        (lambda: PurgedKFold(n_splits=2.5), r"n_splits must be an integer, got 2.5"),
        (lambda: PurgedKFold(n_splits=True), r"n_splits must be an integer, got True"),
        (lambda: CombinatorialPurgedKFold(6, 6), r"n_test_splits must be < n_splits=6, got 6"),
        (lambda: CombinatorialPurgedKFold(6, 0), r"n_test_splits must be >= 1, got 0"),
        (lambda: CombinatorialPurgedKFold(1, 1), r"n_splits must be >= 2, got 1"),
        (lambda: CombinatorialPurgedKFold(4, 2, -3), r"embargo_days must be >= 0, got -3"),
        (lambda: WalkForward(n_splits=0), r"n_splits must be >= 1, got 0"),
        (lambda: WalkForward(min_train_days=0), r"min_train_days must be >= 1, got 0"),
        (lambda: WalkForward(test_days=0), r"test_days must be >= 1, got 0"),
        (lambda: WalkForward(embargo_days=-2), r"embargo_days must be >= 0, got -2"),
        (lambda: Rolling(train_days=0), r"train_days must be >= 1, got 0"),
        (lambda: Rolling(test_days="5"), r"test_days must be an integer, got '5'"),
        (lambda: Holdout(test_fraction=1.0), r"test_fraction must be in \(0, 1\), got 1.0"),
        (lambda: Holdout(test_fraction=0), r"test_fraction must be in \(0, 1\), got 0"),
        (lambda: Holdout(test_fraction="a"), r"test_fraction must be a number, got 'a'"),
        (lambda: Holdout(embargo_days=-1), r"embargo_days must be >= 0, got -1"),
    ],
)
def test_parameter_errors_name_the_value(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_label_end_before_date_names_rows():
    label_end = DATES.copy()
    label_end[3] = DATES[3] - np.timedelta64(1, "D")
    with pytest.raises(
        ValueError,
        match=r"label_end must be >= dates.*row 3: date=2024-01-04, label_end=2024-01-03",
    ):
        PurgedKFold(2).split(DATES, label_end)


def test_length_mismatch_nat_and_empty():
    with pytest.raises(ValueError, match=r"same length, got 6 and 5"):
        PurgedKFold(2).split(DATES, DATES[:5])
    bad = DATES.copy()
    bad[1] = np.datetime64("NaT")
    with pytest.raises(ValueError, match=r"dates has 1 missing values \(NaT\), e.g. rows \[1\]"):
        PurgedKFold(2).split(bad, DATES)
    with pytest.raises(ValueError, match=r"dates is empty"):
        PurgedKFold(2).split(DATES[:0], DATES[:0])
    with pytest.raises(ValueError, match=r"dates must be 1-D"):
        PurgedKFold(2).split(DATES.reshape(2, 3), DATES.reshape(2, 3))


def test_too_few_dates_raise_on_split_call():
    with pytest.raises(ValueError, match=r"needs at least 7 unique dates, got 6"):
        PurgedKFold(7).split(DATES, DATES)
    with pytest.raises(ValueError, match=r"min_train_days \+ n_splits = 8 unique dates, got 6"):
        WalkForward(4, min_train_days=4).split(DATES, DATES)
    with pytest.raises(ValueError, match=r"n_splits \* test_days = 9 unique dates, got 6"):
        Rolling(2, train_days=3, test_days=3).split(DATES, DATES)
    with pytest.raises(ValueError, match=r"leaves no training dates"):
        Holdout(0.9).split(DATES[:1], DATES[:1])


def test_sklearn_adapter_checks_row_count():
    cv = SklearnSplitter(PurgedKFold(2), DATES, DATES)
    with pytest.raises(ValueError, match=r"X has 5 rows but 6 dates"):
        list(cv.split(np.zeros((5, 2))))
    with pytest.raises(ValueError, match=r"splitter must have split\(\) and get_n_splits\(\)"):
        SklearnSplitter(object(), DATES, DATES)


def test_repr_lists_parameters():
    assert repr(PurgedKFold(3, 2)) == "PurgedKFold(n_splits=3, embargo_days=2)"
    assert repr(WalkForward()) == (
        "WalkForward(n_splits=5, min_train_days=252, embargo_days=0, test_days=None)"
    )
