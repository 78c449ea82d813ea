"""A straightforward pandas groupby-rolling Alpha158: the reference the polars library is checked
against (tests) and timed against (bench_features).

Written the way a Qlib user would: one pandas rolling call per operator and window, per asset
(``groupby(asset).transform``), ``rolling(d).rank(pct=True)`` for RANK and ``rolling(d).apply``
with ``argmax`` for IMAX/IMIN (as Qlib's ``IdxMax``). Same conventions as the polars library
(full windows; a day-on-day comparison is missing on an asset's first row; non-finite -> NaN), so
values match to floating-point rounding. Slope, R-squared and residual come from rolling
covariances with the time index (a different formula from the library's running sums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS = (5, 10, 20, 30, 60)
EPS = 1e-12


def alpha158_pandas(panel: pd.DataFrame, windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """``date, asset`` + Alpha158-style features of an OHLCV long frame, sorted by (date, asset)."""
    df = panel.sort_values(["asset", "date"]).reset_index(drop=True)
    asset = df["asset"]
    c, o, h, lo = (df[k].astype(float) for k in ("close", "open", "high", "low"))
    v = df["volume"].astype(float)

    def by_asset(s: pd.Series) -> pd.core.groupby.SeriesGroupBy:
        return s.groupby(asset, sort=False)

    def roll(s: pd.Series, d: int, how: str, *args, **kwargs) -> pd.Series:
        return by_asset(s).transform(
            lambda x: getattr(x.rolling(d, min_periods=d), how)(*args, **kwargs))

    def ref(s: pd.Series, d: int) -> pd.Series:
        return by_asset(s).shift(d)

    def corr(a: pd.Series, b: pd.Series, d: int) -> pd.Series:
        frame = pd.DataFrame({"a": a, "b": b})
        out = frame.groupby(asset, sort=False, group_keys=False).apply(
            lambda g: g["a"].rolling(d, min_periods=d).corr(g["b"]))
        flat = (roll(a, d, "std") <= 2e-5) | (roll(b, d, "std") <= 2e-5)
        return out.where(~flat)

    def argpos(s: pd.Series, d: int, fn) -> pd.Series:
        return by_asset(s).transform(
            lambda x: x.rolling(d, min_periods=d).apply(lambda w: fn(w) + 1, raw=True))

    t = by_asset(c).cumcount().astype(float)
    out = {"date": df["date"], "asset": asset}
    rng = h - lo + EPS
    out.update({
        "KMID": (c - o) / o, "KLEN": (h - lo) / o, "KMID2": (c - o) / rng,
        "KUP": (h - np.maximum(o, c)) / o, "KUP2": (h - np.maximum(o, c)) / rng,
        "KLOW": (np.minimum(o, c) - lo) / o, "KLOW2": (np.minimum(o, c) - lo) / rng,
        "KSFT": (2 * c - h - lo) / o, "KSFT2": (2 * c - h - lo) / rng,
        "OPEN0": o / c, "HIGH0": h / c, "LOW0": lo / c,
    })
    prev_c, prev_v = ref(c, 1), ref(v, 1)
    up = (c > prev_c).astype(float).where(prev_c.notna())
    down = (c < prev_c).astype(float).where(prev_c.notna())
    move, vmove = c - prev_c, v - prev_v
    weighted = (c / prev_c - 1).abs() * v
    for d in windows:
        slope = roll(c, d, "cov", t) / roll(t, d, "var")
        mean_c = roll(c, d, "mean")
        r = roll(c, d, "corr", t)
        hi, low = roll(h, d, "max"), roll(lo, d, "min")
        gains, losses = roll(move.clip(lower=0), d, "sum"), roll((-move).clip(lower=0), d, "sum")
        total = roll(move.abs(), d, "sum") + EPS
        vg, vl = roll(vmove.clip(lower=0), d, "sum"), roll((-vmove).clip(lower=0), d, "sum")
        vtotal = roll(vmove.abs(), d, "sum") + EPS
        imax, imin = argpos(h, d, np.argmax), argpos(lo, d, np.argmin)
        out.update({
            f"ROC{d}": ref(c, d) / c,
            f"MA{d}": mean_c / c,
            f"STD{d}": roll(c, d, "std") / c,
            f"BETA{d}": slope / c,
            f"RSQR{d}": (r**2).where(roll(c, d, "std") > 2e-5),
            f"RESI{d}": (c - mean_c - slope * (d - 1) / 2) / c,
            f"MAX{d}": hi / c,
            f"MIN{d}": low / c,
            f"QTLU{d}": roll(c, d, "quantile", 0.8) / c,
            f"QTLD{d}": roll(c, d, "quantile", 0.2) / c,
            f"RANK{d}": roll(c, d, "rank", pct=True),
            f"RSV{d}": (c - low) / (hi - low + EPS),
            f"IMAX{d}": imax / d,
            f"IMIN{d}": imin / d,
            f"IMXD{d}": (imax - imin) / d,
            f"CORR{d}": corr(c, np.log(v + 1), d),
            f"CORD{d}": corr(c / prev_c, np.log(v / prev_v + 1), d),
            f"CNTP{d}": roll(up, d, "mean"),
            f"CNTN{d}": roll(down, d, "mean"),
            f"CNTD{d}": roll(up, d, "mean") - roll(down, d, "mean"),
            f"SUMP{d}": gains / total,
            f"SUMN{d}": losses / total,
            f"SUMD{d}": (gains - losses) / total,
            f"VMA{d}": roll(v, d, "mean") / (v + EPS),
            f"VSTD{d}": roll(v, d, "std") / (v + EPS),
            f"WVMA{d}": roll(weighted, d, "std") / (roll(weighted, d, "mean") + EPS),
            f"VSUMP{d}": vg / vtotal,
            f"VSUMN{d}": vl / vtotal,
            f"VSUMD{d}": (vg - vl) / vtotal,
        })
    result = pd.DataFrame(out).replace([np.inf, -np.inf], np.nan)
    return result.sort_values(["date", "asset"]).reset_index(drop=True)
