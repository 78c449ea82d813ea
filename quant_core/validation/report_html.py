"""One self-contained HTML page from a validation report dict (inline PNGs, no external links)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import polars as pl

from quant_core.files import write_atomic
from quant_core.validation.plots import decay_png, ic_plot_png, pbo_logits_png, quantile_bars_png

__all__ = ["write_html_report"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;
color:#1a1a1a;line-height:1.45;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1.2em 0 .3em}
.meta{color:#666;font-size:.9em}
.verdict{padding:.8em 1em;border-radius:6px;margin:1em 0;font-size:1.05em}
.yes{background:#e8f5e9;border-left:5px solid #2e7d32} .no{background:#fff3e0;border-left:5px solid #ef6c00}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{padding:.3em .8em;border-bottom:1px solid #e5e5e5;text-align:right}
th{background:#f6f6f6} td:first-child,th:first-child{text-align:left}
img{max-width:100%} .note{color:#555;font-size:.85em} ul.notes{margin:.3em 0 1em}
"""


def _num(v, fmt: str = ".4f") -> str:
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if fmt == "p":
            return "&lt;0.0001" if v < 1e-4 else format(v, ".4f")
        if fmt == "bp":
            return format(1e4 * v, ".1f")
        return format(v, fmt)
    return html.escape(str(v))


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_num(r.get(k), f)}</td>" for k, _, f in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


_SUMMARY_COLS = [
    ("n_dates", "dates", ""),
    ("mean", "mean IC", ".4f"),
    ("icir", "ICIR", ".3f"),
    ("hit_rate", "hit rate", ".1%"),
    ("t_hac", "HAC t", ".2f"),
    ("p_hac", "HAC p", "p"),
]


def _significance_rows(s: dict, label: str) -> list[dict]:
    ci = (
        f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]"
        if s.get("ci_low") is not None and s.get("ci_high") is not None
        else None
    )
    df = s.get("hac_df")
    return [
        {"test": f"{label}: naive t-test (independent dates)", "stat": s["t_naive"],
         "p": s["p_naive"], "detail": f"{s['n']} dates"},
        {"test": f"{label}: Newey-West HAC t-test", "stat": s["t_hac"], "p": s["p_hac"],
         "detail": f"{s['hac_lags']} lags" + (f", fixed-b t({df:.0f})" if df else ", normal")},
        {"test": f"{label}: block bootstrap 95% CI of the mean", "stat": None, "p": None,
         "detail": ci},
    ]


def _summary_section(r: dict) -> list[str]:
    rank, pear = r["rank_ic"], r["ic"]
    metrics = [("mean", "mean", ".4f"), ("std", "std", ".4f"), ("icir", "ICIR (per date)", ".3f"),
               ("icir_annual", "ICIR (annualised)", ".2f"), ("hit_rate", "hit rate", ".1%"),
               ("n", "dates", "")]
    body = "".join(
        f"<tr><td>{html.escape(lbl)}</td><td>{_num(rank.get(k), f)}</td>"
        f"<td>{_num(pear.get(k), f)}</td></tr>"
        for k, lbl, f in metrics
    )
    return [
        "<h2>Summary</h2>",
        ("<table><thead><tr><th></th><th>Rank IC (Spearman)</th><th>IC (Pearson)</th>"
         f"</tr></thead><tbody>{body}</tbody></table>"),
        ("<p class='note'>ICIR (per date) = mean / std of the per-date IC. The annualised "
         f"figure scales it by &radic;({r.get('periods_per_year', 252)} / horizon days): "
         "the ICIR of a year of non-overlapping bets.</p>"),
    ]


def _significance_section(r: dict) -> list[str]:
    rows = _significance_rows(r["rank_ic"], "Rank IC") + _significance_rows(r["ic"], "IC")
    cols = [("test", "test", ""), ("stat", "t", ".2f"), ("p", "p-value", "p"),
            ("detail", "detail", "")]
    return [
        "<h2>Significance</h2>",
        _table(rows, cols),
        ("<p class='note'>With an h-day target, neighbouring dates share h&minus;1 days of "
         "returns, so daily ICs are autocorrelated and the naive t-test overstates "
         "significance. The Newey-West (Bartlett kernel) t-stat, with at least 3h lags and "
         "fixed-b (Kiefer-Vogelsang) p-values, and the stationary block bootstrap account for "
         "that; the verdict uses the HAC test.</p>"),
    ]


def _folds_section(r: dict) -> list[str]:
    if not r.get("folds"):
        return []
    cols = [("fold", "fold", ""), ("start", "start", ""), ("end", "end", ""),
            ("n_dates", "dates", ""), ("ic_mean", "IC", ".4f"), ("rank_ic_mean", "Rank IC", ".4f"),
            ("rank_icir", "Rank ICIR", ".3f"), ("hit_rate", "hit rate", ".1%"),
            ("t_hac", "HAC t", ".2f"), ("p_hac", "HAC p", "p")]
    return ["<h2>Per fold</h2>", _table(r["folds"], cols)]


def _decay_section(r: dict) -> list[str]:
    if not r.get("decay"):
        return []
    parts = ["<h2>IC decay</h2>"]
    hl = r.get("half_life") or {}
    if hl.get("half_life") is not None:
        parts.append(f"<p>Fitted half-life: <b>{hl['half_life']:.1f} days</b> "
                     f"(R&sup2; {_num(hl.get('r_squared'), '.2f')}).</p>")
    else:
        parts.append("<p>No finite half-life: the IC does not decay over these horizons "
                     "(or the fit failed).</p>")
    single = r.get("decay_kind") == "single_day"
    xlabel = "day held after entry (single-day return)" if single else "horizon (days)"
    parts.append(_img(decay_png(r["decay"], hl, xlabel=xlabel), "IC decay by horizon"))
    if single:
        parts.append("<p class='note'>Each point is the IC of today's signal against the "
                     "return of one later day, so the curve shows how long the information "
                     "lasts: a signal whose IC halves every 3 days must be traded fast.</p>")
    cols = [("horizon", "horizon (days)", ""), ("ic_mean", "mean IC", ".4f"),
            ("icir", "ICIR", ".3f"), ("t_hac", "HAC t", ".2f"), ("p_hac", "HAC p", "p"),
            ("n_dates", "dates", "")]
    parts.append(_table(r["decay"], cols))
    return parts


def _quantile_section(r: dict) -> list[str]:
    q = r.get("quantiles")
    if not q or not q.get("by_quantile"):
        return []
    h = r.get("horizon_days", 1)
    parts = ["<h2>Quantiles</h2>",
             _img(quantile_bars_png(q["by_quantile"], q.get("spread_mean"), h),
                  "Mean forward return by signal quantile")]
    cols = [("quantile", "quantile", ""), ("mean_return", "mean return (bp)", "bp"),
            ("std_return", "std across dates (bp)", "bp"), ("n_dates", "dates", ""),
            ("mean_assets", "assets per date", ".1f")]
    parts.append(_table(q["by_quantile"], cols))
    rows = [
        {"k": "top minus bottom, mean (bp)", "v": q.get("spread_mean"), "f": "bp"},
        {"k": f"top minus bottom, HAC t ({q.get('hac_lags')} lags)", "v": q.get("spread_t_hac"),
         "f": ".2f"},
        {"k": "top minus bottom, HAC p", "v": q.get("spread_p_hac"), "f": "p"},
        {"k": "monotonicity (Spearman of quantile vs return)", "v": q.get("monotonicity"),
         "f": "+.2f"},
        {"k": "turnover of the top quantile per date", "v": q.get("turnover_top"), "f": ".1%"},
        {"k": "turnover of the bottom quantile per date", "v": q.get("turnover_bottom"),
         "f": ".1%"},
    ]
    rows += [{"k": f"signal rank autocorrelation, lag {a['lag']}",
              "v": a.get("mean_autocorrelation"), "f": ".3f"}
             for a in q.get("rank_autocorrelation") or []]
    body = "".join(f"<tr><td>{html.escape(x['k'])}</td><td>{_num(x['v'], x['f'])}</td></tr>"
                   for x in rows)
    parts.append(f"<table><tbody>{body}</tbody></table>")
    return parts


def _month_grid(by_month: list[dict]) -> str:
    """Year x month table of mean IC, cells shaded green (positive) or orange (negative)."""
    cells: dict[str, dict[int, float | None]] = {}
    for row in by_month:
        year, month = row["period"].split("-")
        cells.setdefault(year, {})[int(month)] = row.get("mean")
    scale = max((abs(v) for m in cells.values() for v in m.values() if v is not None),
                default=0.0) or 1.0

    def cell(v):
        if v is None:
            return "<td></td>"
        a = min(1.0, abs(v) / scale) * 0.6
        rgb = "46,125,50" if v > 0 else "239,108,0"
        return f"<td style='background:rgba({rgb},{a:.2f})'>{v:+.3f}</td>"

    head = "<th>year</th>" + "".join(f"<th>{m}</th>" for m in range(1, 13))
    body = "".join(f"<tr><td>{y}</td>" + "".join(cell(cells[y].get(m)) for m in range(1, 13))
                   + "</tr>" for y in sorted(cells))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stability_section(r: dict) -> list[str]:
    s = r.get("stability")
    if not s:
        return []
    parts = ["<h2>Stability</h2>"]
    share, roll = s.get("positive_share") or {}, s.get("rolling") or {}
    if share:
        parts.append(
            f"<p>Rank IC positive on {_num(share.get('days'), '.0%')} of days, "
            f"{_num(share.get('months'), '.0%')} of {share.get('n_months')} months and "
            f"{_num(share.get('years'), '.0%')} of {share.get('n_years')} years. "
            f"The {roll.get('window_days')}-day rolling mean is positive "
            f"{_num(roll.get('share_positive'), '.0%')} of the time, lowest "
            f"{_num(roll.get('min_mean'), '+.3f')} (window ending {_num(roll.get('min_end'))}), "
            f"highest {_num(roll.get('max_mean'), '+.3f')}.</p>")
    cols = [("period", "year", ""), *_SUMMARY_COLS]
    parts += ["<h3>By year</h3>", _table(s.get("by_year") or [], cols)]
    if s.get("by_month"):
        parts += ["<h3>Mean Rank IC by month</h3>", _month_grid(s["by_month"])]
    if s.get("by_regime"):
        cols = [("regime", "regime", ""), ("share", "share of dates", ".0%"), *_SUMMARY_COLS]
        parts += ["<h3>By market regime</h3>", _table(s["by_regime"], cols)]
    if s.get("by_sector"):
        cols = [("group", "sector", ""), ("mean_assets", "assets per date", ".1f"),
                *_SUMMARY_COLS]
        parts += ["<h3>Within each sector</h3>", _table(s["by_sector"], cols),
                  ("<p class='note'>The IC among the stocks of one sector: stock selection "
                   "inside the sector, not the sector's own move.</p>")]
    breaks = s.get("breaks") or {}
    rows = [
        {**(breaks.get("sup_wald") or {}), "test": "sup-Wald (Andrews), unknown date"},
        {**(breaks.get("cusum") or {}), "test": "OLS-residual CUSUM"},
    ]
    cols = [("test", "test", ""), ("statistic", "statistic", ".2f"), ("p_value", "p-value", "p"),
            ("break_date", "break date", ""), ("mean_before", "mean before", ".4f"),
            ("mean_after", "mean after", ".4f"), ("hac_lags", "HAC lags", "")]
    parts += ["<h3>Structural break in the mean IC</h3>", _table(rows, cols),
              ("<p class='note'>A small p-value says the mean IC was not constant: the signal "
               "may have been crowded out or changed character around the break date.</p>")]
    return parts


def _diagnostics_section(r: dict) -> list[str]:
    d = r.get("diagnostics")
    if not d:
        return []
    parts = ["<h2>Diagnostics</h2>"]
    if d.get("ljung_box"):
        cols = [("lag", "up to lag", ""), ("autocorrelation", "autocorrelation at lag", ".3f"),
                ("q_stat", "Ljung-Box Q", ".1f"), ("p_value", "p-value", "p")]
        parts += ["<h3>Serial correlation of the Rank IC</h3>", _table(d["ljung_box"], cols)]
    het = d.get("heteroskedasticity")
    if het:
        reg = het["regression"]
        parts.append(
            "<h3>Return on signal regression (date-demeaned, pooled)</h3>"
            f"<p>slope {_num(reg.get('slope'), '.3g')}, classical t "
            f"{_num(reg.get('t_slope'), '.2f')} (treats every row as independent, so it "
            f"overstates significance; judge significance by the HAC test above), "
            f"R&sup2; {_num(reg.get('r_squared'), '.5f')}, {reg.get('n')} rows.</p>")
        rows = [{**het["breusch_pagan"], "test": "Breusch-Pagan (studentized)"},
                {**het["white"], "test": "White"}]
        cols = [("test", "test", ""), ("lm", "LM", ".1f"), ("df", "df", ""),
                ("lm_p", "LM p", "p"), ("f", "F", ".2f"), ("f_p", "F p", "p")]
        parts += [_table(rows, cols),
                  ("<p class='note'>A small p-value means return noise varies with the signal "
                   "(heteroskedasticity): use robust standard errors for the slope.</p>")]
    return parts


def _multiple_testing_section(r: dict) -> list[str]:
    mt = r.get("multiple_testing")
    if not mt:
        return []
    d, p = mt["dsr"], mt["pbo"]
    parts = ["<h2>Multiple testing</h2>",
             (f"<p>{mt['n_configs']} configurations were tried over {mt['n_obs']} periods; "
              f"the selected one is <b>{html.escape(str(mt['selected']))}</b>.</p>")]
    rows = [
        {"k": "Sharpe ratio per period of the selected configuration", "v": d.get("sharpe"),
         "f": ".4f"},
        {"k": "expected best Sharpe of as many worthless trials", "v": d.get("sharpe_benchmark"),
         "f": ".4f"},
        {"k": "probabilistic Sharpe ratio vs 0 (no selection correction)", "v": d.get("psr"),
         "f": ".3f"},
        {"k": "deflated Sharpe ratio (probability the edge is real)", "v": d.get("dsr"),
         "f": ".3f"},
        {"k": f"probability of backtest overfitting (CSCV, {p['n_splits']} blocks, "
              f"{p['n_combinations']} splits)", "v": p.get("pbo"), "f": ".1%"},
        {"k": "share of splits where the in-sample winner loses out of sample",
         "v": p.get("prob_oos_loss"), "f": ".1%"},
    ]
    body = "".join(f"<tr><td>{html.escape(x['k'])}</td><td>{_num(x['v'], x['f'])}</td></tr>"
                   for x in rows)
    parts.append(f"<table><tbody>{body}</tbody></table>")
    hist = p.get("histogram") or {}
    if hist.get("counts"):
        parts.append(_img(pbo_logits_png(hist["edges"], hist["counts"], p["pbo"]),
                          "CSCV logit histogram"))
    return parts


def write_html_report(report: dict, ic_frame: pl.DataFrame | None, path: str | os.PathLike,
                      ic_png: bytes | None = None, trading_html: str | None = None) -> Path:
    """Write ``report`` (from :func:`build_validation_report`) as one self-contained HTML file.

    ``ic_frame`` is the per-date Rank IC (``date, ic``) to plot, e.g.
    ``pooled_ic_series(oof)``; ``None`` omits the plot. ``ic_png`` is that plot already
    rendered by :func:`ic_plot_png` (a caller that also shows it elsewhere renders it once).
    ``trading_html`` (what the signal earns after costs, from ``quant_core.portfolio.report``)
    becomes the report's Trading section. Images are inline base64 PNGs. The file is written to a temporary sibling and moved into
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
        _timing_line(r),
        (f"<div class='meta'>signal <b>{esc(str(r.get('signal')))}</b> vs target "
         f"<b>{esc(str(r.get('target')))}</b> &middot; horizon {r.get('horizon_days')} day(s) "
         f"&middot; {r.get('n_dates')} dates from {r.get('start')} to {r.get('end')} &middot; "
         f"{r.get('n_rows')} rows"
         + (f" &middot; {r['n_folds']} fold(s)" if r.get("n_folds") is not None else "")
         + "</div>"),
        (f"<div class='verdict {'yes' if r.get('significant') else 'no'}'>"
         f"{esc(str(r.get('verdict')))}</div>"),
    ]
    if r.get("notes"):
        parts.append("<ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in r["notes"])
                     + "</ul>")
    parts += _summary_section(r)
    if ic_png is None and ic_frame is not None and ic_frame.height:
        ic_png = ic_plot_png(ic_frame, title="Rank IC")
    if ic_png is not None:
        parts += ["<h2>IC over time</h2>", _img(ic_png, "Rank IC time series and cumulative IC")]
    parts += _significance_section(r)
    parts += _folds_section(r)
    parts += _decay_section(r)
    parts += _quantile_section(r)
    parts += _stability_section(r)
    parts += _diagnostics_section(r)
    parts += _multiple_testing_section(r)
    if trading_html:
        parts += ["<h2>Trading: what the signal earns after costs</h2>", trading_html]
    parts.append("</body></html>")
    write_atomic(path, "\n".join(parts))
    return path


def _timing_line(r: dict) -> str:
    """The timing convention the numbers rest on, first: it decides the answer."""
    lag, h = r.get("lag_days"), r.get("horizon_days")
    if lag is None or h is None:
        return ""
    return (f"<div class='meta'><b>Timing:</b> a signal dated <i>t</i> is known at the close of <i>t</i>; it is "
            f"judged on the return from the close of <i>t+{lag}</i> to the close of <i>t+{lag + h}</i> "
            f"(lag {lag} day(s), horizon {h} day(s)).</div>")
