"""Stage: the validation report of every family (IC suite, decay, stability, quantiles,
diagnostics, multiple testing over the families the run tried), as HTML, PNG and JSON files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from quant_core.data.dataset import ModellingFrame
from quant_core.data.snapshot import FeatureSnapshot
from quant_core.stages.frame import oracle_applies
from quant_core.stages.numbers import SignalIC
from quant_core.validation import (
    build_validation_report,
    ic_plot_png,
    pooled_ic_series,
    write_html_report,
)
from quant_core.validation.oracle import oracle_ic_summary
from quant_core.validation.trials import trial_ic_matrix

__all__ = ["FamilyReport", "ValidationResult", "validate_families"]


@dataclass(frozen=True)
class FamilyReport:
    """One family's report: the JSON document (``report``), its headline numbers and its files."""

    family: str
    overall: SignalIC
    report: Mapping[str, Any] = field(repr=False)
    html_path: Path
    png_path: Path
    json_path: Path


@dataclass(frozen=True)
class ValidationResult:
    """Every family's report, and the simulator's ceiling on the same rows when it applies."""

    reports: tuple[FamilyReport, ...]
    oracle: Mapping[str, float] | None = None

    def by_family(self) -> dict[str, FamilyReport]:
        return {r.family: r for r in self.reports}

    def summary_table(self) -> pl.DataFrame:
        return pl.DataFrame([{"model": r.family, **r.overall.to_dict()} for r in self.reports])


def validate_families(snapshot: FeatureSnapshot, frame: ModellingFrame, oofs: Mapping[str, pl.DataFrame],
                      regimes: pl.DataFrame, reports_dir: str | Path,
                      model_uris: Mapping[str, str] | None = None,
                      trading_html: Mapping[str, str] | None = None) -> ValidationResult:
    """Build, and write under ``reports_dir``, the report of each family's OOF predictions.

    ``oofs`` maps family to its out-of-fold frame (``date, asset, fold, prediction, target``), in
    the order the run trained them; every family is a trial of the deflated Sharpe and PBO.
    ``regimes`` (``date, regime``) adds the stability-by-regime table; ``trading_html`` (family ->
    HTML of its backtest) the Trading section.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    panel = snapshot.panel
    context = {
        "prices": panel.select(["date", "asset", "close"]),
        "lag_days": frame.lag_days,
        "regimes": regimes.select(["date", "regime"]),
        "sectors": panel.select(["date", "asset", "sector"]) if "sector" in panel.columns else None,
        "trials": trial_ic_matrix(dict(oofs)),
    }
    oracle = None
    first = next(iter(oofs.values()))
    if snapshot.oracle is not None and oracle_applies(frame):
        oracle = oracle_ic_summary(snapshot.oracle, first)
    reports = []
    for family, oof in oofs.items():
        report = build_validation_report(family, oof, horizon_days=frame.horizon_days,
                                         selected_trial=family, **context)
        if model_uris and family in model_uris:
            report["model_uri"] = model_uris[family]
        overall = SignalIC.from_report(report)
        report["overall"] = overall.to_dict()
        if oracle is not None:
            report["oracle"] = oracle
        html = reports_dir / f"validation_{family}.html"
        png = reports_dir / f"rank_ic_{family}.png"
        js = reports_dir / f"validation_{family}.json"
        rank_ic = pooled_ic_series(oof)
        png_bytes = ic_plot_png(rank_ic, title=f"{family}: out-of-sample Rank IC")
        write_html_report(report, rank_ic, html, ic_png=png_bytes,
                          trading_html=(trading_html or {}).get(family))
        png.write_bytes(png_bytes)
        js.write_text(json.dumps(report, indent=2, default=str))
        reports.append(FamilyReport(family=family, overall=overall, report=report, html_path=html,
                                    png_path=png, json_path=js))
    return ValidationResult(reports=tuple(reports), oracle=oracle)

