"""One self-contained HTML page of backtests: per book the ledger gross -> net, Sharpe, turnover,
shortfall, attribution, capacity, and the plots embedded as PNG."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

__all__ = ["trading_html", "trading_section"]

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.4em}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f3f5f8}td:first-child,th:first-child{text-align:left}img{max-width:100%}h2{margin-top:2em}"""


def _usd(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _num(value: Any, fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


def _table(rows: list[tuple[str, str]], head: tuple[str, str]) -> str:
    body = "".join(f"<tr><td>{html.escape(a)}</td><td>{b}</td></tr>" for a, b in rows)
    return f"<table><thead><tr><th>{head[0]}</th><th>{head[1]}</th></tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def trading_section(name: str, summary: Mapping[str, Any], pngs: Mapping[str, bytes]) -> str:
    """The HTML of one book (also the Trading section of a validation report)."""
    pnl = summary["pnl_usd"]
    ledger = [(k, _usd(pnl[k])) for k in ("gross", "spread", "impact", "commission", "borrow", "net")]
    stats = [("gross Sharpe", _num(summary["sharpe"]["gross"], ".2f")), ("net Sharpe", _num(summary["sharpe"]["net"], ".2f")),
             ("mean daily turnover", _num(summary["turnover_mean"], ".1%")), ("unfilled (USD)", _usd(summary["unfilled_usd"])),
             ("half spread (bps) at which the book stops paying", _num(summary.get("breakeven_half_spread_bps"), ".1f")),
             ("AUM where net Sharpe halves", _usd(summary.get("half_sharpe_aum_usd"))),
             ("capacity: AUM where net alpha reaches 0", _usd(summary.get("capacity_aum_usd")))]
    shortfall = [(k, _usd(v)) for k, v in summary["shortfall_usd"].items()]
    parts = [f"<h2>{html.escape(name)}</h2>", "<h3>Ledger (USD)</h3>", _table(ledger, ("component", "USD")),
             _table(stats, ("statistic", "value")), "<h3>Implementation shortfall (USD)</h3>",
             _table(shortfall, ("component", "USD"))]
    if "attribution" in summary:
        gross, net = summary["attribution"]["gross"], summary["attribution"]["net"]
        names = [k for k in ("market", "sector", "style", "specific") if k in gross]
        rows = "".join(f"<tr><td>{k}</td><td>{_usd(gross.get(k))}</td><td>{_usd(net.get(k))}</td></tr>" for k in names)
        costs = "".join(f"<tr><td>{k}</td><td>-</td><td>{_usd(net.get(k))}</td></tr>"
                        for k in ("spread", "impact", "commission", "borrow") if k in net)
        total = (f"<tr><th>total</th><th>{_usd(gross.get('total'))}</th>"
                 f"<th>{_usd(net.get('net', net.get('total')))}</th></tr>")
        table = (f"<table><thead><tr><th>component</th><th>gross</th><th>net</th></tr></thead>"
                 f"<tbody>{rows}{costs}{total}</tbody></table>")
        parts += ["<h3>Attribution (USD)</h3>", table]
        long, short = summary["attribution"].get("long", {}), summary["attribution"].get("short", {})
        if long:
            legs = "".join(f"<tr><td>{k}</td><td>{_usd(long.get(k))}</td><td>{_usd(short.get(k))}</td></tr>"
                           for k in [*names, "total"])
            parts += ["<h3>Long and short legs, gross (USD)</h3>",
                      (f"<table><thead><tr><th>component</th><th>long</th><th>short</th></tr></thead>"
                       f"<tbody>{legs}</tbody></table>")]
        timing = summary["attribution"].get("tilt_timing", {})
        if timing:
            rows = "".join(f"<tr><td>{g}</td><td>{_usd(timing.get(f'{g}_tilt'))}</td>"
                           f"<td>{_usd(timing.get(f'{g}_timing'))}</td></tr>" for g in ("market", "sector", "style"))
            parts += ["<h3>Tilt (average exposure) and timing (its variation), gross (USD)</h3>",
                      (f"<table><thead><tr><th>group</th><th>tilt</th><th>timing</th></tr></thead>"
                       f"<tbody>{rows}</tbody></table>")]
    if "netting" in summary:
        n = summary["netting"]
        parts.append(_table([("members traded separately", _usd(n["separate_costs_usd"])),
                             ("one combined book", _usd(n["combined_costs_usd"])),
                             ("saved by netting", f"{_usd(n['saved_usd'])} ({n['saved_share']:.1%})")],
                            ("costs (USD)", "value")))
    parts += [_img(png, f"{name} {kind}") for kind, png in pngs.items()]
    return "\n".join(parts)


def trading_html(summaries: Mapping[str, Mapping[str, Any]], pngs: Mapping[str, Mapping[str, bytes]],
                 title: str = "What the signals earn after costs") -> str:
    body = "\n".join(trading_section(name, s, pngs.get(name, {})) for name, s in summaries.items())
    intro = ("<p>Constant capital; trades at the close <i>lag_days</i> after each decision; gross PnL of a day is "
             "the book held over it times the day's returns; costs: spread, square-root impact, commission, "
             "borrow, each charged on the day it is paid.</p>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{intro}{body}</body></html>")
