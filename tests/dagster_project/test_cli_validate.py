"""``qf validate`` as a user calls it: a signal file and prices or returns in, a report out."""

import argparse
import json
import subprocess
import sys

import polars as pl
import pytest

from dagster_project.cli.validate import add_validate_parser, cmd_validate
from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market


def _parse(argv):
    parser = argparse.ArgumentParser(prog="qf")
    add_validate_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["validate", *argv])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("qf_validate")
    m = simulate_market(SyntheticMarketConfig(n_assets=40, n_days=200, n_sectors=4, seed=2))
    m.panel.select("date", "asset", pl.col("sig_fast").alias("signal")).write_csv(d / "signal.csv")
    m.panel.select("date", "asset", "close", "sector").write_parquet(d / "prices.parquet")
    return d


def test_defaults_and_exit_zero_with_both_files_written(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = _parse(["--signal", str(inputs / "signal.csv"), "--returns",
                   str(inputs / "prices.parquet")])
    assert (args.horizon_days, args.lag_days, args.out) == (1, 1, "validation_report")
    assert args.func is cmd_validate
    assert cmd_validate(args) == 0
    out = capsys.readouterr().out
    assert "is significant after correcting for serial correlation" in out
    report = json.loads((tmp_path / "validation_report" / "report.json").read_text())
    assert report["inputs"]["returns_kind"] == "prices" and report["horizon_days"] == 1
    assert report["significant"] is True and report["stability"]["by_sector"]
    html = (tmp_path / "validation_report" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Quantiles" in html


def test_horizon_and_out_are_honoured(inputs, tmp_path):
    args = _parse(["--signal", str(inputs / "signal.csv"), "--returns",
                   str(inputs / "prices.parquet"), "--horizon-days", "5", "--out",
                   str(tmp_path / "five")])
    assert cmd_validate(args) == 0
    report = json.loads((tmp_path / "five" / "report.json").read_text())
    assert report["horizon_days"] == 5 and report["rank_ic"]["hac_lags"] == 15


def test_bad_input_exits_2_names_the_problem_and_writes_nothing(inputs, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    pl.read_csv(inputs / "signal.csv").rename({"signal": "score"}).write_csv(bad)
    args = _parse(["--signal", str(bad), "--returns", str(inputs / "prices.parquet"),
                   "--out", str(tmp_path / "out")])
    assert cmd_validate(args) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'signal'" in err and "required columns" in err
    assert not (tmp_path / "out").exists()
    # The column can be named instead.
    ok = _parse(["--signal", str(bad), "--returns", str(inputs / "prices.parquet"),
                 "--signal-column", "score", "--out", str(tmp_path / "out")])
    assert cmd_validate(ok) == 0
    bad_h = _parse(["--signal", str(bad), "--returns", str(inputs / "prices.parquet"),
                    "--horizon-days", "0"])
    assert cmd_validate(bad_h) == 2 and "--horizon-days" in capsys.readouterr().err


def test_module_entry_point_does_not_import_dagster(inputs, tmp_path):
    code = (
        "import sys\n"
        "from dagster_project.cli.validate import main\n"
        f"rc = main(['--signal', {str(inputs / 'signal.csv')!r}, '--returns', "
        f"{str(inputs / 'prices.parquet')!r}, '--out', {str(tmp_path / 'o')!r}])\n"
        "assert rc == 0\n"
        "assert 'dagster' not in sys.modules and 'mlflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True)
    assert (tmp_path / "o" / "report.html").exists()


def test_the_reports_are_readable_by_others_as_the_umask_says(tmp_path, inputs):
    import os
    import stat

    from dagster_project.cli.validate import main as validate_main

    signal, prices = inputs / "signal.csv", inputs / "prices.parquet"
    old = os.umask(0o022)
    try:
        assert validate_main(["--signal", str(signal), "--returns", str(prices), "--out", str(tmp_path / "o")]) == 0
    finally:
        os.umask(old)
    for name in ("report.html", "report.json"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == 0o644


def test_the_report_opens_with_its_timing_convention(tmp_path, inputs):
    from dagster_project.cli.validate import main as validate_main

    out = tmp_path / "lag0"
    assert validate_main(["--signal", str(inputs / "signal.csv"), "--returns", str(inputs / "prices.parquet"),
                          "--lag-days", "0", "--horizon-days", "2", "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert html.index("Timing:") < html.index("Summary") if "Summary" in html else "Timing:" in html
    assert "close of <i>t+0</i> to the close of <i>t+2</i>" in html
