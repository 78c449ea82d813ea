"""Validation report: the numbers of one model or signal as a JSON-able dict.

The dict is what gets attached as metadata and logged to the tracker; :func:`write_html_report`
(in :mod:`quant_core.validation.report_html`) turns it into the page a person opens to decide
whether the signal is real. matplotlib is imported only when plotting.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from quant_core.validation.breaks import cusum_test, sup_wald_test
from quant_core.validation.decay import fit_half_life, ic_decay
from quant_core.validation.diagnostics import heteroskedasticity_tests, ljung_box
from quant_core.validation.ic import pooled_ic_series
from quant_core.validation.multiple_testing import (
    deflated_sharpe_ratio,
    probability_of_backtest_overfitting,
    trials_matrix,
)
from quant_core.validation.plots import ic_plot_png
from quant_core.validation.quantiles import quantile_analysis
from quant_core.validation.report_html import write_html_report
from quant_core.validation.significance import ICSummary, fold_ic_table, ic_summary
from quant_core.validation.stability import (
    ic_by_group,
    ic_by_period,
    ic_by_regime,
    positive_share,
    rolling_ic,
)

__all__ = [
    "build_validation_report",
    "ic_plot_png",
    "significance_verdict",
    "to_jsonable",
    "write_html_report",
]


def to_jsonable(obj):
    """Recursively convert to JSON-safe python: NaN/inf -> None, dates -> ISO strings,
    numpy scalars/arrays -> python, polars frames -> list of row dicts, result dataclasses
    (anything with ``to_dict``) -> dicts."""
    if isinstance(obj, pl.DataFrame):
        return [to_jsonable(r) for r in obj.to_dicts()]
    if hasattr(obj, "to_dict") and not isinstance(obj, (Mapping, type)):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray, pl.Series)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, np.datetime64):
        return str(obj)
    return obj


def _fmt_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def significance_verdict(summary: ICSummary, alpha: float = 0.05, label: str = "Rank IC") -> str:
    """One plain-language sentence on whether the mean IC is distinguishable from zero,
    judged by the HAC test (serial-correlation robust), with a warning when the naive
    t-test disagrees."""
    if summary.n < 2 or not math.isfinite(summary.t_hac):
        return f"{label} cannot be assessed: only {summary.n} usable date(s)."
    stat = f"(HAC t={summary.t_hac:.1f}, {_fmt_p(summary.p_hac)}, {summary.hac_lags} lags)"
    if summary.p_hac < alpha:
        text = (
            f"{label} {summary.mean:.3f} is significant after correcting for serial "
            f"correlation {stat}."
        )
        if summary.mean < 0:
            text += " It is negative: the signal predicts returns with the wrong sign."
        return text
    text = (
        f"{label} {summary.mean:.3f} is not distinguishable from zero after correcting "
        f"for serial correlation {stat}."
    )
    if math.isfinite(summary.p_naive) and summary.p_naive < alpha:
        text += (
            f" A naive t-test (t={summary.t_naive:.1f}, {_fmt_p(summary.p_naive)}) would "
            "call it significant, but it ignores that overlapping targets make daily ICs "
            "autocorrelated."
        )
    return text


def build_validation_report(
    name: str,
    oof: pl.DataFrame,
    horizon_days: int,
    *,
    signal: str = "prediction",
    target: str = "target",
    fold_col: str = "fold",
    hac_lags: int | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    periods_per_year: int = 252,
    min_assets: int = 5,
    decay: pl.DataFrame | None = None,
    prices: pl.DataFrame | None = None,
    decay_horizons: Sequence[int] = (1, 2, 3, 5, 10, 20),
    lag_days: int = 1,
    regimes: pl.DataFrame | None = None,
    regime_col: str = "regime",
    sectors: pl.DataFrame | str | None = None,
    trials: pl.DataFrame | np.ndarray | None = None,
    selected_trial: str | None = None,
    n_quantiles: int = 5,
    rolling_window_days: int = 63,
    pbo_splits: int = 16,
) -> dict:
    """All validation numbers of one model's out-of-fold predictions, JSON-serialisable.

    Parameters
    ----------
    name
        Model / signal name shown in the report.
    oof
        ``date, asset, fold, prediction, target`` (as from ``train_foldwise(...).oof``);
        ``fold`` is optional.
    horizon_days
        Target horizon, for HAC lags, bootstrap blocks and ICIR annualisation.
    decay
        Optional precomputed :func:`ic_decay` table; adds ``decay`` rows and a half-life fit.
    prices, decay_horizons, lag_days
        Optional ``date, asset, close`` panel: the decay table is then computed here as the
        IC against the single-day return of the h-th day held, for each h in
        ``decay_horizons`` (entry ``lag_days`` after the signal date).
    regimes, regime_col
        Optional ``date, <regime_col>`` frame: adds the IC by market regime.
    sectors
        Optional sector column name in ``oof``, or a frame ``asset, sector`` (or
        ``date, asset, sector``): adds the within-sector IC per sector.
    trials, selected_trial
        Optional ``(T x n_configs)`` per-period performance of every configuration the run
        tried (a frame with an optional ``date`` column, or an array): adds the Deflated
        Sharpe Ratio of ``selected_trial`` (default: the best Sharpe) and the PBO by CSCV.
    n_quantiles, rolling_window_days, pbo_splits
        Quantile buckets; rolling-IC window; CSCV blocks.

    Returns
    -------
    dict
        ``name, signal, target, horizon_days, periods_per_year, alpha, n_rows, n_dates, start,
        end, n_folds, rank_ic`` (ICSummary fields), ``ic`` (ICSummary of the Pearson IC),
        ``folds`` (rows of :func:`fold_ic_table`), ``significant`` (HAC p < alpha),
        ``verdict`` (a sentence), ``decay`` and ``half_life`` (None without ``decay`` or
        ``prices``), ``stability``, ``quantiles``, ``diagnostics``, ``multiple_testing``
        (None without ``trials``) and ``notes`` (plain-language findings). NaN/inf are None.
    """
    rank_ic = pooled_ic_series(oof, signal, target, fold_col, "spearman", min_assets)
    pear_ic = pooled_ic_series(oof, signal, target, fold_col, "pearson", min_assets)
    kw = {
        "horizon_days": horizon_days,
        "hac_lags": hac_lags,
        "seed": seed,
        "periods_per_year": periods_per_year,
    }
    rank_s = ic_summary(rank_ic, n_boot=n_boot, **kw)
    pear_s = ic_summary(pear_ic, n_boot=n_boot, **kw)
    folds = (
        fold_ic_table(oof, signal, target, fold_col, horizon_days, min_assets)
        if fold_col in oof.columns
        else None
    )
    rows = _one_row_per_key(oof, signal, target, fold_col)
    decay_kind = "given" if decay is not None else None
    if decay is None and prices is not None:
        decay = ic_decay(rows, signal, prices=prices, horizons=decay_horizons, lag_days=lag_days,
                         min_assets=min_assets)
        decay_kind = "single_day"
    half_life = None
    if decay is not None and decay.height:
        half_life = fit_half_life(decay["horizon"].to_numpy(), decay["ic_mean"].to_numpy())
    stability = _stability(rank_ic, rows, signal, target, horizon_days, hac_lags, regimes,
                           regime_col, sectors, rolling_window_days, min_assets)
    quantiles = None
    if "asset" in rows.columns:
        quantiles = quantile_analysis(rows, signal, target, n_quantiles, horizon_days, hac_lags)
    diagnostics = _diagnostics(rank_ic, rows, signal, target)
    multiple = _multiple_testing(trials, selected_trial, pbo_splits) if trials is not None else None
    report = {
        "name": name,
        "signal": signal,
        "target": target,
        "horizon_days": horizon_days,
        "lag_days": lag_days,
        "periods_per_year": periods_per_year,
        "alpha": alpha,
        "n_rows": oof.height,
        "n_dates": rank_s.n,
        "start": rank_ic["date"].min() if rank_ic.height else None,
        "end": rank_ic["date"].max() if rank_ic.height else None,
        "n_folds": oof[fold_col].n_unique() if fold_col in oof.columns else None,
        "rank_ic": rank_s,
        "ic": pear_s,
        "folds": folds,
        "significant": bool(math.isfinite(rank_s.p_hac) and rank_s.p_hac < alpha),
        "verdict": significance_verdict(rank_s, alpha=alpha, label="Rank IC"),
        "decay": decay,
        "decay_kind": decay_kind,
        "half_life": half_life.to_dict() if half_life is not None else None,
        "stability": stability,
        "quantiles": quantiles,
        "diagnostics": diagnostics,
        "multiple_testing": multiple,
    }
    report = to_jsonable(report)
    report["notes"] = _notes(report, alpha)
    return report


def _one_row_per_key(oof: pl.DataFrame, signal: str, target: str, fold_col: str) -> pl.DataFrame:
    """Under combinatorial CV a (date, asset) is scored by several folds: average its scores."""
    if not {"date", "asset"} <= set(oof.columns) or fold_col not in oof.columns:
        return oof
    if not oof.select(pl.struct("date", "asset").is_duplicated().any()).item():
        return oof
    extra = [c for c in oof.columns if c not in ("date", "asset", signal, target, fold_col)]
    return (
        oof.group_by("date", "asset")
        .agg(pl.col(signal).mean(), pl.col(target).first(), *[pl.col(c).first() for c in extra])
        .sort("date", "asset")
    )


def _attach_sectors(rows: pl.DataFrame, sectors) -> tuple[pl.DataFrame, str]:
    if isinstance(sectors, str):
        if sectors not in rows.columns:
            raise ValueError(f"sectors={sectors!r} is not a column of oof; has {rows.columns}")
        return rows, sectors
    if not isinstance(sectors, pl.DataFrame) or not {"asset", "sector"} <= set(sectors.columns):
        raise ValueError("sectors must be a column name or a frame with columns asset, sector")
    keys = ["date", "asset"] if "date" in sectors.columns else ["asset"]
    table = sectors.select(*keys, pl.col("sector").cast(pl.String).alias("_sector")).unique(keys)
    return rows.join(table, on=keys, how="left"), "_sector"


def _stability(rank_ic, rows, signal, target, horizon_days, hac_lags, regimes, regime_col,
               sectors, window_days, min_assets) -> dict:
    window_days = max(2, min(window_days, max(2, rank_ic.height // 2)))
    roll = rolling_ic(rank_ic, window_days).drop_nulls("rolling_mean")
    rolling = {"window_days": window_days, "share_positive": None, "min_mean": None,
               "min_end": None, "max_mean": None, "max_end": None}
    if roll.height:
        lo, hi = roll.row(int(roll["rolling_mean"].arg_min()), named=True), roll.row(
            int(roll["rolling_mean"].arg_max()), named=True)
        rolling.update(share_positive=float((roll["rolling_mean"] > 0).mean()),
                       min_mean=lo["rolling_mean"], min_end=lo["date"],
                       max_mean=hi["rolling_mean"], max_end=hi["date"])
    by_sector = None
    if sectors is not None:
        with_sector, col = _attach_sectors(rows, sectors)
        by_sector = ic_by_group(with_sector, signal, target, col, horizon_days=horizon_days,
                                min_assets=min_assets)
    return {
        "rolling": rolling,
        "by_year": ic_by_period(rank_ic, "year", horizon_days),
        "by_month": ic_by_period(rank_ic, "month", horizon_days),
        "positive_share": positive_share(rank_ic),
        "breaks": {
            "sup_wald": sup_wald_test(rank_ic, horizon_days=horizon_days, hac_lags=hac_lags),
            "cusum": cusum_test(rank_ic, horizon_days=horizon_days, hac_lags=hac_lags),
        },
        "by_regime": ic_by_regime(rank_ic, regimes, regime_col, horizon_days)
        if regimes is not None
        else None,
        "by_sector": by_sector,
    }


def _diagnostics(rank_ic, rows, signal, target) -> dict:
    n = rank_ic.height
    lags = [k for k in (1, 5, 10, 21) if k < n]
    return {
        "ljung_box": ljung_box(rank_ic, lags) if n > 2 and lags else None,
        "heteroskedasticity": heteroskedasticity_tests(rows, signal, target),
    }


def _multiple_testing(trials, selected_trial, pbo_splits) -> dict:
    m, names = trials_matrix(trials)
    if m.shape[1] < 2 or m.shape[0] < 4:
        raise ValueError(f"trials needs >= 2 configurations and >= 4 periods, got {m.shape}")
    sd = m.std(axis=0, ddof=1)
    sharpes = np.where(sd > 0, m.mean(axis=0) / np.where(sd > 0, sd, 1.0), np.nan)
    if selected_trial is None:
        j = int(np.nanargmax(sharpes))
    elif selected_trial in names:
        j = names.index(selected_trial)
    else:
        raise ValueError(f"selected_trial={selected_trial!r} is not a trial; have {names[:10]}")
    dsr = deflated_sharpe_ratio(m[:, j], trial_sharpes=sharpes)
    splits = min(pbo_splits, 2 * (m.shape[0] // 4))
    pbo = probability_of_backtest_overfitting(m, n_splits=max(2, splits))
    finite = pbo.logits[np.isfinite(pbo.logits)]
    counts, edges = np.histogram(finite, bins=30) if finite.size else (np.array([]), np.array([]))
    return {
        "n_configs": int(m.shape[1]),
        "n_obs": int(m.shape[0]),
        "selected": names[j],
        "dsr": dsr,
        "pbo": {**pbo.to_dict(), "histogram": {"edges": edges, "counts": counts}},
    }


def _notes(r: dict, alpha: float) -> list[str]:
    """Plain-language findings beyond the headline verdict."""
    notes = []
    stab = r.get("stability") or {}
    brk = (stab.get("breaks") or {}).get("sup_wald") or {}
    if brk.get("p_value") is not None and brk["p_value"] < alpha:
        notes.append(
            f"The mean Rank IC changed around {brk['break_date']}: {brk['mean_before']:.3f} "
            f"before, {brk['mean_after']:.3f} after (sup-Wald {_fmt_p(brk['p_value'])})."
        )
    for row in stab.get("by_regime") or []:
        if row.get("p_hac") is not None and row["p_hac"] >= alpha and r.get("significant"):
            notes.append(
                f"In the '{row['regime']}' regime ({row['share']:.0%} of dates) the Rank IC is "
                f"{row['mean']:.3f} and not significant ({_fmt_p(row['p_hac'])})."
            )
    q = r.get("quantiles")
    if q and q.get("spread_mean") is not None:
        text = (
            f"Top minus bottom quantile earns {1e4 * q['spread_mean']:.1f} bp per "
            f"{r['horizon_days']}-day period (HAC t={q['spread_t_hac']:.1f})"
            if q.get("spread_t_hac") is not None
            else f"Top minus bottom quantile earns {1e4 * q['spread_mean']:.1f} bp"
        )
        mono = q.get("monotonicity")
        if mono is not None:
            if mono > 0.999:
                shape = "rise with every quantile of the signal"
            elif mono >= 0.7:
                shape = "mostly rise with the signal"
            elif mono < -0.999:
                shape = "fall with every quantile of the signal"
            else:
                shape = "do not rise steadily with the signal"
            text += f"; bucket returns {shape} (monotonicity {mono:+.2f})"
        notes.append(text + ".")
    mt = r.get("multiple_testing")
    if mt:
        d, p = mt["dsr"], mt["pbo"]
        if d.get("dsr") is not None:
            notes.append(
                f"Selected '{mt['selected']}' out of {mt['n_configs']} configurations: deflated "
                f"Sharpe probability {d['dsr']:.2f} (undeflated {d['psr']:.2f}); probability of "
                f"backtest overfitting {p['pbo']:.0%}."
            )
    return notes
