"""An Alpha158-style feature set (Qlib's ``Alpha158``) as polars expressions.

The definitions follow Qlib's ``Alpha158DL.get_feature_config`` (qlib/contrib/data/loader.py),
used by ``qlib.contrib.data.handler.Alpha158``. Prices enter divided by the latest close (and
volumes by the latest volume), so a feature is unit-free and comparable across assets:

- candlestick shape (9): ``KMID (c-o)/o``, ``KLEN (h-l)/o``, ``KMID2 (c-o)/(h-l)``, ``KUP
  (h-max(o,c))/o``, ``KUP2``, ``KLOW (min(o,c)-l)/o``, ``KLOW2``, ``KSFT (2c-h-l)/o``, ``KSFT2``
  (the ``2`` variants divide by the day's range ``h-l+1e-12`` instead of the open);
- price level (4): ``OPEN0 o/c``, ``HIGH0 h/c``, ``LOW0 l/c`` and ``VWAP0 vwap/c`` when the panel
  has a ``vwap`` column;
- 29 rolling operators over windows 5, 10, 20, 30, 60 (145): ``ROC`` ``c[t-d]/c``, ``MA``,
  ``STD``, ``BETA`` (slope of close on time) / c, ``RSQR`` (its R-squared), ``RESI`` (latest
  residual) / c, ``MAX`` of high / c, ``MIN`` of low / c, ``QTLU``/``QTLD`` (80%/20% quantiles) /
  c, ``RANK`` (percentile of today's close in the window), ``RSV`` (stochastic %K), ``IMAX``/
  ``IMIN`` (position of the high's max / low's min in the window, over d), ``IMXD`` (their
  difference), ``CORR`` (close vs log volume), ``CORD`` (daily return vs log volume change),
  ``CNTP``/``CNTN``/``CNTD`` (share of up days, down days, difference), ``SUMP``/``SUMN``/
  ``SUMD`` (RSI-like gain/loss shares), ``VMA``/``VSTD`` (volume mean and std over today's
  volume), ``WVMA`` (volume-weighted volatility of returns), ``VSUMP``/``VSUMN``/``VSUMD``.

Differences from Qlib, on purpose: windows must be full (Qlib starts with partial windows), so a
feature is missing for an asset's first ``d`` (or ``d - 1``) rows; a day-on-day comparison is
missing, not False, on an asset's first row; non-finite results (a zero volume divided by) become
missing. Panels without ``open``/``high``/``low``/``volume`` get the subset their columns allow
(close alone supports 75 features: ROC, MA, STD, BETA, RSQR, RESI, QTLU, QTLD, RANK, CNT*, SUM*).

Rolling statistics that several features share (a window's sum of gains feeds SUMP, SUMN and
SUMD) are *helpers*: private columns computed once per batch of related features.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from quant_core.features import operators as op

WINDOWS: tuple[int, ...] = (5, 10, 20, 30, 60)
EPS = 1e-12

_c, _o, _h, _l, _v = (pl.col(name) for name in ("close", "open", "high", "low", "volume"))


def _col(name: str, d: int | None = None) -> pl.Expr:
    return pl.col(helper_name(name, d))


def helper_name(name: str, d: int | None = None) -> str:
    return f"__a158_{name}" if d is None else f"__a158_{name}_{d}"


def _up(x: pl.Expr) -> pl.Expr:
    """1.0 when x rose since the previous row, 0.0 otherwise, missing on the first row."""
    prev = op.ref(x, 1)
    return pl.when(prev.is_not_null()).then((x > prev).cast(pl.Float64))


def _down(x: pl.Expr) -> pl.Expr:
    prev = op.ref(x, 1)
    return pl.when(prev.is_not_null()).then((x < prev).cast(pl.Float64))


#: Row-wise helpers: name -> (expression, warm-up rows). Exact, so evaluated in one pass.
ROW_HELPERS: dict[str, tuple[pl.Expr, int]] = {
    "move": (_c - op.ref(_c, 1), 1),
    "vmove": (_v - op.ref(_v, 1), 1),
    "up": (_up(_c), 1),
    "down": (_down(_c), 1),
    "ret": (_c / op.ref(_c, 1), 1),
    "logv": ((_v + 1).log(), 0),
    "dlogv": ((_v / op.ref(_v, 1) + 1).log(), 1),
    "wret": ((_c / op.ref(_c, 1) - 1).abs() * _v, 1),
    "pc": (pl.col(op.POSITION).cast(pl.Float64) * _c, 0),
    "h_key": (op.order_key(_h, largest=True), 0),
    "l_key": (op.order_key(_l, largest=False), 0),
}

#: Rolling helpers that accumulate (running sums): evaluated per asset.
RUNNING_HELPERS: dict[str, Callable[[int], pl.Expr]] = {
    "c_sum": lambda d: op.ts_sum(_c, d),
    "pc_sum": lambda d: op.ts_sum(_col("pc"), d),
    "c_var": lambda d: op.ts_var(_c, d),
    "logv_var": lambda d: op.ts_var(_col("logv"), d),
    "c_logv_cov": lambda d: (op.ts_mean(_c * _col("logv"), d)
                             - _col("c_sum", d) / d * op.ts_mean(_col("logv"), d)) * (d / (d - 1)),
    "ret_var": lambda d: op.ts_var(_col("ret"), d),
    "dlogv_var": lambda d: op.ts_var(_col("dlogv"), d),
    "ret_dlogv_cov": lambda d: op.ts_cov(_col("ret"), _col("dlogv"), d),
    "v_mean": lambda d: op.ts_mean(_v, d),
    "v_var": lambda d: op.ts_var(_v, d),
    "wret_mean": lambda d: op.ts_mean(_col("wret"), d),
    "wret_var": lambda d: op.ts_var(_col("wret"), d),
    "up": lambda d: op.ts_mean(_col("up"), d),
    "down": lambda d: op.ts_mean(_col("down"), d),
    "gain": lambda d: op.ts_sum(_col("move").clip(lower_bound=0.0), d),
    "loss": lambda d: op.ts_sum((-_col("move")).clip(lower_bound=0.0), d),
    "absmove": lambda d: op.ts_sum(_col("move").abs(), d) + EPS,
    "vgain": lambda d: op.ts_sum(_col("vmove").clip(lower_bound=0.0), d),
    "vloss": lambda d: op.ts_sum((-_col("vmove")).clip(lower_bound=0.0), d),
    "vabsmove": lambda d: op.ts_sum(_col("vmove").abs(), d) + EPS,
}

#: Rolling helpers built from exact operations: evaluated in one pass, masked by warm-up.
EXACT_HELPERS: dict[str, Callable[[int], pl.Expr]] = {
    "h_max": lambda d: op.ts_max(_h, d),
    "l_min": lambda d: op.ts_min(_l, d),
    "h_arg": lambda d: op.position_of_extreme(_col("h_key"), d),
    "l_arg": lambda d: op.position_of_extreme(_col("l_key"), d),
}

KBAR: dict[str, pl.Expr] = {
    "KMID": (_c - _o) / _o,
    "KLEN": (_h - _l) / _o,
    "KMID2": (_c - _o) / (_h - _l + EPS),
    "KUP": (_h - pl.max_horizontal(_o, _c)) / _o,
    "KUP2": (_h - pl.max_horizontal(_o, _c)) / (_h - _l + EPS),
    "KLOW": (pl.min_horizontal(_o, _c) - _l) / _o,
    "KLOW2": (pl.min_horizontal(_o, _c) - _l) / (_h - _l + EPS),
    "KSFT": (2 * _c - _h - _l) / _o,
    "KSFT2": (2 * _c - _h - _l) / (_h - _l + EPS),
}

PRICE: dict[str, pl.Expr] = {
    "OPEN0": _o / _c,
    "HIGH0": _h / _c,
    "LOW0": _l / _c,
    "VWAP0": pl.col("vwap") / _c,
}


def _slope(d: int) -> pl.Expr:
    return op.slope_from_sums(_col("c_sum", d), _col("pc_sum", d), d)


def _rsquare(d: int) -> pl.Expr:
    return op.rsquare_from_slope(_slope(d), _col("c_var", d), d)


def _resi(d: int) -> pl.Expr:
    return op.resi_from_slope(_c, _slope(d), _col("c_sum", d), d) / _c


def _wvma(d: int) -> pl.Expr:
    return _col("wret_var", d).sqrt() / (_col("wret_mean", d) + EPS)


# name -> (expression for window d, rows of warm-up before the first value)
ROLLING: dict[str, tuple[Callable[[int], pl.Expr], Callable[[int], int]]] = {
    "ROC": (lambda d: op.ref(_c, d) / _c, lambda d: d),
    "MA": (lambda d: _col("c_sum", d) / d / _c, lambda d: d - 1),
    "STD": (lambda d: _col("c_var", d).sqrt() / _c, lambda d: d - 1),
    "BETA": (lambda d: _slope(d) / _c, lambda d: d - 1),
    "RSQR": (_rsquare, lambda d: d - 1),
    "RESI": (_resi, lambda d: d - 1),
    "MAX": (lambda d: _col("h_max", d) / _c, lambda d: d - 1),
    "MIN": (lambda d: _col("l_min", d) / _c, lambda d: d - 1),
    "QTLU": (lambda d: op.ts_quantile(_c, d, 0.8) / _c, lambda d: d - 1),
    "QTLD": (lambda d: op.ts_quantile(_c, d, 0.2) / _c, lambda d: d - 1),
    "RANK": (lambda d: _col("rank").struct.field(f"w{d}"), lambda d: d - 1),
    "RSV": (lambda d: (_c - _col("l_min", d)) / (_col("h_max", d) - _col("l_min", d) + EPS),
            lambda d: d - 1),
    "IMAX": (lambda d: _col("h_arg", d) / d, lambda d: d - 1),
    "IMIN": (lambda d: _col("l_arg", d) / d, lambda d: d - 1),
    "IMXD": (lambda d: (_col("h_arg", d) - _col("l_arg", d)) / d, lambda d: d - 1),
    "CORR": (lambda d: op.corr_from_moments(_col("c_logv_cov", d), _col("c_var", d),
                                            _col("logv_var", d)), lambda d: d - 1),
    "CORD": (lambda d: op.corr_from_moments(_col("ret_dlogv_cov", d), _col("ret_var", d),
                                            _col("dlogv_var", d)), lambda d: d),
    "CNTP": (lambda d: _col("up", d), lambda d: d),
    "CNTN": (lambda d: _col("down", d), lambda d: d),
    "CNTD": (lambda d: _col("up", d) - _col("down", d), lambda d: d),
    "SUMP": (lambda d: _col("gain", d) / _col("absmove", d), lambda d: d),
    "SUMN": (lambda d: _col("loss", d) / _col("absmove", d), lambda d: d),
    "SUMD": (lambda d: (_col("gain", d) - _col("loss", d)) / _col("absmove", d), lambda d: d),
    "VMA": (lambda d: _col("v_mean", d) / (_v + EPS), lambda d: d - 1),
    "VSTD": (lambda d: _col("v_var", d).sqrt() / (_v + EPS), lambda d: d - 1),
    "WVMA": (_wvma, lambda d: d),
    "VSUMP": (lambda d: _col("vgain", d) / _col("vabsmove", d), lambda d: d),
    "VSUMN": (lambda d: _col("vloss", d) / _col("vabsmove", d), lambda d: d),
    "VSUMD": (lambda d: (_col("vgain", d) - _col("vloss", d)) / _col("vabsmove", d),
              lambda d: d),
}

# operators evaluated in one batch because they share helpers
_BATCH = {"MA": "BETA", "STD": "BETA", "RSQR": "BETA", "RESI": "BETA", "CORR": "BETA",
          "QTLD": "QTLU", "MIN": "MAX", "RSV": "MAX",
          "IMIN": "IMAX", "IMXD": "IMAX", "CNTN": "CNTP", "CNTD": "CNTP", "SUMN": "SUMP",
          "SUMD": "SUMP", "VSTD": "VMA", "VSUMN": "VSUMP", "VSUMD": "VSUMP"}


def alpha158_helpers(
    windows: tuple[int, ...] = WINDOWS,
) -> dict[str, tuple[pl.Expr, int | None]]:
    """Every helper column by its private name: ``(expression, warmup_rows)``, row-wise first.

    ``warmup_rows=None`` marks running sums, evaluated per asset; the features mask by warm-up.
    """
    helpers = {helper_name(name): spec for name, spec in ROW_HELPERS.items()}
    # every window's rank in one pass; exact, masked by each RANK feature's warm-up
    helpers[helper_name("rank")] = (op.ts_ranks(_c, windows), 0)
    for d in windows:
        helpers.update({helper_name(name, d): (make(d), None)
                        for name, make in RUNNING_HELPERS.items()})
        helpers.update({helper_name(name, d): (make(d), d - 1)
                        for name, make in EXACT_HELPERS.items()})
    return helpers


def alpha158_definitions(
    windows: tuple[int, ...] = WINDOWS,
) -> list[tuple[str, pl.Expr, int, str, str]]:
    """``(name, expression, warmup_rows, group, batch)`` for every feature, in Qlib's order."""
    for d in windows:
        if d < 2:
            raise ValueError(f"rolling windows must be >= 2 rows, got {d}")
    out = [(name, expr, 0, "alpha158.kbar", "alpha158.kbar") for name, expr in KBAR.items()]
    out += [(name, expr, 0, "alpha158.price", "alpha158.kbar") for name, expr in PRICE.items()]
    for operator, (make, warmup) in ROLLING.items():
        family = _BATCH.get(operator, operator)
        for d in windows:
            # one batch per family and window keeps a batch's intermediates small, except where
            # one helper serves every window (the rank pass, the arg-max order keys)
            whole = family in ("RANK", "IMAX")
            batch = f"alpha158.{family}" if whole else f"alpha158.{family}.{d}"
            out.append((f"{operator}{d}", make(d), warmup(d), "alpha158.rolling", batch))
    return out


def alpha158_names(windows: tuple[int, ...] = WINDOWS) -> list[str]:
    """Every Alpha158-style feature name (158 with ``vwap``; 157 without)."""
    return [name for name, *_ in alpha158_definitions(windows)]
