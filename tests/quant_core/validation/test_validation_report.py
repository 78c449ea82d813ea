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
    ic_decay,
    ic_summary,
    pooled_ic_series,
    significance_verdict,
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
    assert len(pngs) == 2
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
