"""Validation report: the IC numbers of one model as a JSON-able dict and a one-file HTML page.

The dict is what gets attached as metadata and logged to the tracker; the HTML is what a
person opens to decide whether the signal is real. matplotlib is imported only when plotting.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import polars as pl

from quant_core.validation.decay import fit_half_life
from quant_core.validation.ic import pooled_ic_series
from quant_core.validation.significance import ICSummary, fold_ic_table, ic_summary

__all__ = [
    "build_validation_report",
    "ic_plot_png",
    "significance_verdict",
    "to_jsonable",
    "write_html_report",
]


def to_jsonable(obj):
    """Recursively convert to JSON-safe python: NaN/inf -> None, dates -> ISO strings,
    numpy scalars/arrays -> python, polars frames -> list of row dicts."""
    if isinstance(obj, pl.DataFrame):
        return [to_jsonable(r) for r in obj.to_dicts()]
    if isinstance(obj, ICSummary):
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
) -> dict:
    """All validation numbers of one model's out-of-fold predictions, JSON-serialisable.

    Parameters
    ----------
    name
        Model / signal name shown in the report.
    oof
        ``date, asset, fold, prediction, target`` (as from ``train_foldwise(...).oof``).
    horizon_days
        Target horizon, for HAC lags, bootstrap blocks and ICIR annualisation.
    decay
        Optional :func:`ic_decay` table; adds ``decay`` rows and a half-life fit.

    Returns
    -------
    dict
        ``name, signal, target, horizon_days, periods_per_year, alpha, n_rows, n_dates, start, end, n_folds,
        rank_ic`` (ICSummary fields), ``ic`` (ICSummary of the Pearson IC), ``folds`` (rows of
        :func:`fold_ic_table`), ``significant`` (HAC p < alpha), ``verdict`` (a sentence),
        ``decay`` and ``half_life`` (None without ``decay``). NaN/inf are None.
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
    half_life = None
    if decay is not None and decay.height:
        half_life = fit_half_life(decay["horizon"].to_numpy(), decay["ic_mean"].to_numpy())
    report = {
        "name": name,
        "signal": signal,
        "target": target,
        "horizon_days": horizon_days,
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
        "half_life": half_life.to_dict() if half_life is not None else None,
    }
    return to_jsonable(report)


# --------------------------------------------------------------------------- plotting / HTML


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def ic_plot_png(ic_frame: pl.DataFrame, title: str = "Rank IC", window: int | None = None) -> bytes:
    """PNG of the daily IC (bars) with its rolling mean, and the cumulative IC below.

    A steadily rising cumulative IC means the edge is persistent; a flat stretch shows when it
    stopped working.
    """
    from matplotlib.figure import Figure

    dates = ic_frame["date"].to_numpy()
    ic = ic_frame["ic"].cast(pl.Float64).to_numpy()
    n = ic.size
    window = window or max(5, min(63, n // 10 or 1))
    roll = ic_frame["ic"].rolling_mean(window_size=window, min_samples=max(1, window // 2))
    roll = roll.to_numpy()
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    colors = np.where(ic >= 0, "#4c9be8", "#e8704c")
    ax1.vlines(dates, 0.0, ic, colors=colors, alpha=0.55, linewidth=1.0)  # one collection, not n bars
    ax1.plot(dates, roll, color="#1a2b4c", lw=1.6, label=f"{window}-day rolling mean")
    mean = float(np.mean(ic)) if n else 0.0
    ax1.axhline(mean, color="#2e7d32", lw=1, ls="--", label=f"mean {mean:.3f}")
    ax1.axhline(0, color="grey", lw=0.8)
    ax1.set_ylabel("IC per date")
    ax1.set_title(f"{title}: daily values")
    ax1.legend(loc="upper left", fontsize=8, frameon=False)
    ax1.grid(alpha=0.25)
    ax2.plot(dates, np.cumsum(ic), color="#1a2b4c", lw=1.6)
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set_ylabel("cumulative IC")
    ax2.set_title(f"{title}: cumulative sum")
    ax2.grid(alpha=0.25)
    return _png(fig)


def _decay_png(decay: list[dict], half_life: dict | None) -> bytes:
    from matplotlib.figure import Figure

    h = np.array([r["horizon"] for r in decay], dtype=float)
    y = np.array([np.nan if r["ic_mean"] is None else r["ic_mean"] for r in decay])
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(h, y, "o", color="#1a2b4c", label="mean IC")
    if half_life and half_life.get("half_life") is not None and half_life.get("amplitude"):
        hl, a = half_life["half_life"], half_life["amplitude"]
        grid = np.linspace(h.min(), h.max(), 200)
        ax.plot(
            grid,
            a * np.exp(-math.log(2) * grid / hl),
            color="#e8704c",
            label=f"fit, half-life {hl:.1f} days",
        )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("horizon (days)")
    ax.set_ylabel("mean IC")
    ax.set_title("IC decay")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    return _png(fig)


def _num(v, fmt: str = ".4f") -> str:
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if fmt == "p":
            return "&lt;0.0001" if v < 1e-4 else format(v, ".4f")
        return format(v, fmt)
    return html.escape(str(v))


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_num(r.get(k), f)}</td>" for k, _, f in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;
color:#1a1a1a;line-height:1.45;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9em}
.verdict{padding:.8em 1em;border-radius:6px;margin:1em 0;font-size:1.05em}
.yes{background:#e8f5e9;border-left:5px solid #2e7d32} .no{background:#fff3e0;border-left:5px solid #ef6c00}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{padding:.3em .8em;border-bottom:1px solid #e5e5e5;text-align:right}
th{background:#f6f6f6} td:first-child,th:first-child{text-align:left}
img{max-width:100%} .note{color:#555;font-size:.85em}
"""


def _significance_rows(s: dict, label: str) -> list[dict]:
    ci = (
        f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]"
        if s.get("ci_low") is not None and s.get("ci_high") is not None
        else None
    )
    return [
        {
            "test": f"{label}: naive t-test (independent dates)",
            "stat": s["t_naive"],
            "p": s["p_naive"],
            "detail": f"{s['n']} dates",
        },
        {
            "test": f"{label}: Newey-West HAC t-test",
            "stat": s["t_hac"],
            "p": s["p_hac"],
            "detail": f"{s['hac_lags']} lags",
        },
        {
            "test": f"{label}: block bootstrap 95% CI of the mean",
            "stat": None,
            "p": None,
            "detail": ci,
        },
    ]


def write_html_report(report: dict, ic_frame: pl.DataFrame | None, path: str | os.PathLike,
                      ic_png: bytes | None = None) -> Path:
    """Write ``report`` (from :func:`build_validation_report`) as one self-contained HTML file.

    ``ic_frame`` is the per-date Rank IC (``date, ic``) to plot, e.g.
    ``pooled_ic_series(oof)``; ``None`` omits the plot. ``ic_png`` is that plot already
    rendered by :func:`ic_plot_png` (a caller that also shows it elsewhere renders it once).
    Images are inline base64 PNGs. The file is written to a temporary sibling and moved into
    place atomically.
    """
    path = Path(path)
    r = report
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Validation report: {esc(str(r.get('name')))}</title><style>{_CSS}</style>",
        "</head><body>",
        f"<h1>Validation report: {esc(str(r.get('name')))}</h1>",
        (
            f"<div class='meta'>signal <b>{esc(str(r.get('signal')))}</b> vs target "
            f"<b>{esc(str(r.get('target')))}</b> &middot; horizon {r.get('horizon_days')} day(s) "
            f"&middot; {r.get('n_dates')} dates from {r.get('start')} to {r.get('end')} &middot; "
            f"{r.get('n_rows')} rows &middot; {r.get('n_folds')} fold(s)</div>"
        ),
        (
            f"<div class='verdict {'yes' if r.get('significant') else 'no'}'>"
            f"{esc(str(r.get('verdict')))}</div>"
        ),
    ]
    rank, pear = r["rank_ic"], r["ic"]
    parts.append("<h2>Summary</h2>")
    metrics = [
        ("mean", "mean", ".4f"),
        ("std", "std", ".4f"),
        ("icir", "ICIR (per date)", ".3f"),
        ("icir_annual", "ICIR (annualised)", ".2f"),
        ("hit_rate", "hit rate", ".1%"),
        ("n", "dates", ""),
    ]
    rows = [
        {"metric": lbl, "rank": rank.get(k), "ic": pear.get(k), "_f": f} for k, lbl, f in metrics
    ]
    body = "".join(
        f"<tr><td>{esc(x['metric'])}</td><td>{_num(x['rank'], x['_f'])}</td>"
        f"<td>{_num(x['ic'], x['_f'])}</td></tr>"
        for x in rows
    )
    parts.append(
        "<table><thead><tr><th></th><th>Rank IC (Spearman)</th><th>IC (Pearson)</th>"
        f"</tr></thead><tbody>{body}</tbody></table>"
    )
    parts.append(
        "<p class='note'>ICIR (per date) = mean / std of the per-date IC. The annualised "
        f"figure scales it by &radic;({r.get('periods_per_year', 252)} / horizon days): "
        "the ICIR of a year of non-overlapping bets.</p>"
    )
    if ic_png is None and ic_frame is not None and ic_frame.height:
        ic_png = ic_plot_png(ic_frame, title="Rank IC")
    if ic_png is not None:
        png = base64.b64encode(ic_png).decode("ascii")
        parts.append("<h2>IC over time</h2>")
        parts.append(
            f"<img alt='Rank IC time series and cumulative IC' src='data:image/png;base64,{png}'>"
        )
    parts.append("<h2>Significance</h2>")
    sig_rows = _significance_rows(rank, "Rank IC") + _significance_rows(pear, "IC")
    parts.append(
        _table(
            sig_rows,
            [
                ("test", "test", ""),
                ("stat", "t", ".2f"),
                ("p", "p-value", "p"),
                ("detail", "detail", ""),
            ],
        )
    )
    parts.append(
        "<p class='note'>With an h-day target, neighbouring dates share h&minus;1 days of "
        "returns, so daily ICs are autocorrelated and the naive t-test overstates "
        "significance. The Newey-West (Bartlett kernel) t-stat and the stationary block "
        "bootstrap account for that; the verdict uses the HAC test.</p>"
    )
    if r.get("folds"):
        parts.append("<h2>Per fold</h2>")
        parts.append(
            _table(
                r["folds"],
                [
                    ("fold", "fold", ""),
                    ("start", "start", ""),
                    ("end", "end", ""),
                    ("n_dates", "dates", ""),
                    ("ic_mean", "IC", ".4f"),
                    ("rank_ic_mean", "Rank IC", ".4f"),
                    ("rank_icir", "Rank ICIR", ".3f"),
                    ("hit_rate", "hit rate", ".1%"),
                    ("t_hac", "HAC t", ".2f"),
                    ("p_hac", "HAC p", "p"),
                ],
            )
        )
    if r.get("decay"):
        parts.append("<h2>IC decay</h2>")
        hl = r.get("half_life") or {}
        if hl.get("half_life") is not None:
            parts.append(
                f"<p>Fitted half-life: <b>{hl['half_life']:.1f} days</b> "
                f"(R&sup2; {_num(hl.get('r_squared'), '.2f')}).</p>"
            )
        else:
            parts.append(
                "<p>No finite half-life: the IC does not decay over these horizons "
                "(or the fit failed).</p>"
            )
        png = base64.b64encode(_decay_png(r["decay"], hl)).decode("ascii")
        parts.append(f"<img alt='IC decay by horizon' src='data:image/png;base64,{png}'>")
        parts.append(
            _table(
                r["decay"],
                [
                    ("horizon", "horizon (days)", ""),
                    ("ic_mean", "mean IC", ".4f"),
                    ("icir", "ICIR", ".3f"),
                    ("t_hac", "HAC t", ".2f"),
                    ("p_hac", "HAC p", "p"),
                    ("n_dates", "dates", ""),
                ],
            )
        )
    parts.append("</body></html>")
    text = "\n".join(parts)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
