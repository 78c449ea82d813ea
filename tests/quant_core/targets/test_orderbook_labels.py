import numpy as np
import polars as pl
import pytest

from quant_core.targets.orderbook_labels import lob_changes, lob_labels

MID = np.array([100.0, 101.0, 102.0, 101.0, 100.0, 99.0, 100.0, 103.0])


def test_deeplob_k2_hand_computed():
    out = lob_labels(MID, horizon_events=2, threshold=0.001)
    # t=1: m- = (100+101)/2, m+ = (102+101)/2 -> +1/100.5;  t=2: 101.5 -> 100.5 -> -1/101.5
    # t=3: 101.5 -> 99.5 -> -2/101.5;  t=4: 100.5 -> 99.5 -> -1/100.5;  t=5: 99.5 -> 101.5
    expected = [None, 1 / 100.5, -1 / 101.5, -2 / 101.5, -1 / 100.5, 2 / 99.5, None, None]
    got = out["change_2"].to_list()
    assert [g is None for g in got] == [e is None for e in expected]
    np.testing.assert_allclose(
        [g for g in got if g is not None], [e for e in expected if e is not None], rtol=1e-12
    )
    assert out["label_2"].to_list() == [None, 2, 0, 0, 0, 2, None, None]
    assert out["label_2"].dtype == pl.Int8
    assert out["event"].to_list() == list(range(8))


def test_threshold_makes_stationary_and_several_k():
    out = lob_labels(pl.Series(MID), horizon_events=[2, 3], threshold={2: 0.015, 3: 0.001})
    assert out["label_2"].to_list() == [None, 1, 1, 0, 1, 2, None, None]
    # k=3: t=2: 101 -> 100 (-1/101); t=3: 304/3 -> 299/3 (-5/304); t=4: 101 -> 302/3 (-1/303)
    np.testing.assert_allclose(out["change_3"].to_list()[2:5], [-1 / 101, -5 / 304, -1 / 303])
    assert out["label_3"].to_list() == [None, None, 0, 0, 0, None, None, None]
    dropped = lob_labels(MID, [2, 3], threshold=0.001, drop=True)
    assert dropped["event"].to_list() == [2, 3, 4]


def test_matches_brute_force_loop():
    rng = np.random.default_rng(3)
    mid = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 300)))
    for k in (1, 5, 20):
        out = lob_labels(mid, k, threshold=5e-4)
        for t in range(mid.size):
            if t < k - 1 or t + k >= mid.size:
                assert out["label_" + str(k)][t] is None
                continue
            m_minus, m_plus = mid[t - k + 1 : t + 1].mean(), mid[t + 1 : t + k + 1].mean()
            ell = (m_plus - m_minus) / m_minus
            assert out["change_" + str(k)][t] == pytest.approx(ell, rel=1e-9, abs=1e-13)
            if abs(abs(ell) - 5e-4) > 1e-12:
                assert out["label_" + str(k)][t] == (2 if ell > 5e-4 else 0 if ell < -5e-4 else 1)


def test_other_smoothings():
    fm = lob_changes(MID, 2, "future_mean")
    assert fm[0] == pytest.approx((101.5 - 100) / 100)
    assert np.isnan(fm[-2:]).all() and not np.isnan(fm[:-2]).any()
    raw = lob_changes(MID, 2, "none")
    assert raw[0] == pytest.approx(0.02)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"horizon_events": 0}, "got 0"),
        ({"threshold": -0.1}, "-0.1"),
        ({"smoothing": "ema"}, "'ema'"),
        ({"horizon_events": [2, 2]}, r"\[2, 2\]"),
    ],
)
def test_validation(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        lob_labels(MID, **kwargs)
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        lob_labels(np.array([1.0, -1.0, 2.0]), 1)
