import base64
import json
import os
import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from quant_core.validation import (
    build_validation_report,
    deflated_sharpe_ratio,
    ic_by_group,
    ic_by_regime,
    ic_decay,
    ic_series,
    ic_summary,
    pooled_ic_series,
    probability_of_backtest_overfitting,
    quantile_analysis,
    significance_verdict,
    sup_wald_test,
    write_html_report,
)


def test_report_is_json_without_nan_and_has_the_numbers(make_oof):
    oof = make_oof(n_days=120, n_assets=40, strength=0.2, n_folds=3)
    # A last "fold" with a single date: its std/ICIR/t are NaN and must become None.
    lone = make_oof(n_days=1, n_assets=40, seed=9).with_columns(
        pl.lit(9, dtype=pl.Int64).alias("fold"), pl.col("date").dt.offset_by("1y")
    )
    oof = pl.concat([oof, lone])
    rep = build_validation_report("ridge", oof, horizon_days=1, n_boot=200)
    text = json.dumps(rep, allow_nan=False)  # raises on NaN/inf
    assert json.loads(text) == rep
    assert rep["n_dates"] == 121 and rep["n_folds"] == 4 and rep["n_rows"] == oof.height
    assert rep["significant"] is True
    ref = ic_summary(pooled_ic_series(oof), horizon_days=1, n_boot=200)
    assert rep["rank_ic"]["mean"] == pytest.approx(ref.mean, rel=1e-12)
    assert rep["rank_ic"]["t_hac"] == pytest.approx(ref.t_hac, rel=1e-12)
    assert rep["rank_ic"]["ci_low"] == pytest.approx(ref.ci_low, rel=1e-12)
    assert [f["fold"] for f in rep["folds"]] == ["0", "1", "2", "9", "overall"]
    assert rep["folds"][3]["rank_ic_std"] is None and rep["folds"][3]["t_hac"] is None
    assert rep["start"] == "2021-01-04"
    assert rep["verdict"].startswith(f"Rank IC {ref.mean:.3f} is significant after correcting")
    assert rep["decay"] is None and rep["half_life"] is None
    # Sections that need only the OOF frame are always there; optional inputs are None.
    assert rep["stability"]["by_regime"] is None and rep["stability"]["by_sector"] is None
    assert rep["multiple_testing"] is None
    assert [r["period"] for r in rep["stability"]["by_year"]] == ["2021", "2022"]
    assert rep["quantiles"]["n_quantiles"] == 5 and rep["diagnostics"]["ljung_box"]


def test_verdicts_in_plain_language():
    null = ic_summary([0.01, -0.02, 0.015, -0.01, 0.0, 0.005, -0.004, 0.002] * 10, n_boot=0)
    v = significance_verdict(null)
    assert "not distinguishable from zero" in v and "HAC t=" in v
    sig = ic_summary([0.03, 0.05, 0.02, 0.04, 0.01, 0.06] * 20, n_boot=0)
    assert "is significant" in significance_verdict(sig) and "p<0.001" in significance_verdict(sig)
    neg = ic_summary([-0.03, -0.05, -0.02, -0.04, -0.01, -0.06] * 20, n_boot=0)
    assert "wrong sign" in significance_verdict(neg)
    # Persistent IC series: the naive test says yes, HAC says no, and the verdict says why.
    rng = np.random.default_rng(2)
    x = np.empty(300)
    x[0] = 0.0
    for i, e in enumerate(rng.standard_normal(300)[1:], start=1):
        x[i] = 0.9 * x[i - 1] + e
    s = ic_summary(0.01 + 0.05 * x, horizon_days=5, n_boot=0)
    assert s.p_naive < 0.05 <= s.p_hac
    v = significance_verdict(s)
    assert "not distinguishable" in v and "naive t-test" in v and "autocorrelated" in v
    assert "cannot be assessed" in significance_verdict(ic_summary([0.1], n_boot=0))


def test_html_report_is_self_contained_and_atomic(make_oof, tmp_path):
    oof = make_oof(n_days=150, n_assets=30, strength=0.1, n_folds=3)
    panel = oof.rename({"prediction": "sig"})
    decay = ic_decay(panel, "sig", targets={1: "target"})
    rep = build_validation_report("lgbm <v1>", oof, horizon_days=1, n_boot=100, decay=decay)
    path = write_html_report(rep, pooled_ic_series(oof), tmp_path / "sub" / "report.html")
    assert path == tmp_path / "sub" / "report.html"
    assert os.listdir(path.parent) == ["report.html"]  # no temp file left behind
    text = path.read_text(encoding="utf-8")
    assert "lgbm &lt;v1&gt;" in text  # escaped
    assert "significant after correcting for serial correlation" in text
    assert "Per fold" in text and "overall" in text and "IC decay" in text
    assert "http" not in text  # nothing fetched from outside
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(pngs) == 3  # IC over time, decay, quantile bars
    for p in pngs:
        assert base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n"
    # Overwrite in place works.
    write_html_report(rep, None, path)
    assert "data:image/png" in path.read_text() and os.listdir(path.parent) == ["report.html"]


def test_building_the_dict_does_not_import_matplotlib():
    code = (
        "import sys, datetime as dt, polars as pl\n"
        "from quant_core.validation import build_validation_report\n"
        "oof = pl.DataFrame({'date': [dt.date(2020,1,1+i//6) for i in range(60)],"
        " 'asset': [str(i%6) for i in range(60)], 'fold': [0]*60,"
        " 'prediction': [float(i%7) for i in range(60)], 'target': [float(i%5) for i in range(60)]})\n"
        "build_validation_report('x', oof, 1, n_boot=10)\n"
        "assert 'matplotlib' not in sys.modules\n"
        "assert 'dagster' not in sys.modules and 'mlflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture(scope="module")
def synthetic_oof():
    """A 5-day-target 'model' (sig_calm) on a small synthetic market, with its truth."""
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.targets import forward_returns

    m = simulate_market(SyntheticMarketConfig(n_assets=60, n_days=300, seed=5))
    frame = m.panel.join(forward_returns(m.panel, horizon_days=5), on=["date", "asset"])
    oof = frame.select("date", "asset", "sector", pl.col("sig_calm").alias("prediction"), "target")
    oof = oof.with_columns((pl.int_range(pl.len()) * 3 // pl.len()).alias("fold"))
    trials = None
    for name in m.feature_names:  # the "configurations tried": each feature's daily Rank IC
        ic = ic_series(frame, name).select("date", pl.col("ic").alias(name))
        trials = ic if trials is None else trials.join(ic, on="date")
    return m, oof, trials


def test_optional_sections_equal_the_standalone_functions(synthetic_oof):
    m, oof, trials = synthetic_oof
    rep = build_validation_report(
        "sig_calm", oof, horizon_days=5, n_boot=50, prices=m.panel, decay_horizons=(1, 2, 3, 5),
        regimes=m.regimes, sectors="sector", trials=trials, pbo_splits=8,
    )
    json.dumps(rep, allow_nan=False)
    rank_ic = pooled_ic_series(oof)
    assert [r["horizon"] for r in rep["decay"]] == [1, 2, 3, 5] and rep["decay_kind"] == "single_day"
    assert rep["decay"][0]["ic_mean"] == pytest.approx(
        ic_decay(oof, "prediction", prices=m.panel, horizons=(1,))["ic_mean"][0], rel=1e-12)
    regime = ic_by_regime(rank_ic, m.regimes, horizon_days=5)
    assert [r["mean"] for r in rep["stability"]["by_regime"]] == pytest.approx(regime["mean"].to_list())
    sector = ic_by_group(oof, "prediction", group="sector", horizon_days=5)
    assert [r["group"] for r in rep["stability"]["by_sector"]] == sector["group"].to_list()
    assert rep["stability"]["breaks"]["sup_wald"]["statistic"] == pytest.approx(
        sup_wald_test(rank_ic, horizon_days=5).statistic, rel=1e-12)
    qa = quantile_analysis(oof, "prediction", horizon_days=5)
    assert rep["quantiles"]["spread_t_hac"] == pytest.approx(qa.spread_t_hac, rel=1e-12)
    mt = rep["multiple_testing"]
    assert mt["n_configs"] == 8 and mt["selected"] in m.signal_names
    pbo = probability_of_backtest_overfitting(trials.drop("date"), n_splits=8)
    assert mt["pbo"]["pbo"] == pbo.pbo and mt["pbo"]["n_combinations"] == 70
    assert sum(mt["pbo"]["histogram"]["counts"]) == 70
    sel = trials[mt["selected"]].to_numpy()
    srs = [trials[c].mean() / trials[c].std() for c in m.feature_names]
    assert mt["dsr"]["dsr"] == pytest.approx(deflated_sharpe_ratio(sel, trial_sharpes=srs).dsr)
    assert any("probability of backtest overfitting" in n for n in rep["notes"])


def test_full_html_report_has_every_section(synthetic_oof, tmp_path):
    m, oof, trials = synthetic_oof
    rep = build_validation_report(
        "sig_calm", oof, horizon_days=5, n_boot=50, prices=m.panel, regimes=m.regimes,
        sectors=m.panel.select("asset", "sector").unique(), trials=trials, pbo_splits=8,
    )
    text = write_html_report(rep, pooled_ic_series(oof), tmp_path / "r.html").read_text()
    for heading in ("IC decay", "Quantiles", "Stability", "By year", "Mean Rank IC by month",
                    "By market regime", "Within each sector", "Structural break",
                    "Diagnostics", "Ljung-Box", "Breusch-Pagan", "White", "Multiple testing",
                    "deflated Sharpe ratio", "probability of backtest overfitting"):
        assert heading in text, heading
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(pngs) == 4  # IC over time, decay, quantile bars, CSCV logits
    assert "http" not in text
