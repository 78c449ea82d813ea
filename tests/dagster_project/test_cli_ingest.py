"""``qf ingest``: exit 0 with a data version, exit 2 with one clean message and no traceback."""

import argparse
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl

from dagster_project.cli.ingest import EXIT_BAD_INPUT, add_ingest_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _panel() -> pl.DataFrame:
    return pl.DataFrame({"date": [dt.date(2024, 1, 2)] * 2 + [dt.date(2024, 1, 3)] * 2,
                         "asset": ["A", "B"] * 2, "close": [10.0, 20.0, 11.0, 19.0],
                         "f1": [0.1, -0.2, 0.3, 0.0]})


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_subcommand_plugs_into_a_qf_parser_and_ingests(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="qf")
    parser.add_argument("--state-dir", default=str(tmp_path / "state"))
    add_ingest_parser(parser.add_subparsers(dest="command", required=True))
    path = tmp_path / "panel.csv"
    _panel().write_csv(path)
    args = parser.parse_args(["ingest", str(path), "--today", "2024-06-30", "--json"])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    manifest = json.loads((tmp_path / "state" / "store" / "manifest.json").read_text())
    assert summary["version"] == manifest["version"] and summary["n_rows"] == 4
    assert summary["first_date"] == "2024-01-02" and summary["changed"] is True
    assert main([str(path), "--store", str(tmp_path / "state" / "store"),
                 "--today", "2024-06-30"]) == 0
    assert "already ingested (no change)" in capsys.readouterr().out


def test_bad_input_exits_2_with_the_message_on_stderr_and_no_traceback(tmp_path):
    store = tmp_path / "store"
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    _panel().write_parquet(good)
    _panel().with_columns(pl.lit(float("inf")).alias("f1")).write_parquet(bad)
    assert main([str(good), "--store", str(store), "--today", "2024-06-30",
                 "--no-great-expectations"]) == 0
    before = _tree(store)
    done = subprocess.run(
        [sys.executable, "-m", "dagster_project.cli.ingest", str(bad), "--store", str(store),
         "--today", "2024-06-30"],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == EXIT_BAD_INPUT == 2
    assert done.stdout == ""
    assert done.stderr.startswith(
        f"error: {bad}: column 'f1' failed expectation: values are finite (no inf)")
    assert "example rows" in done.stderr and "Traceback" not in done.stderr
    assert _tree(store) == before
