"""``qf ingest PATH [--store DIR]``: validate a panel file and commit it to the snapshot store.

The file is read, checked against the whole data contract (polars checks, then the Great
Expectations suite) and written as date-partitioned parquet snapshots under ``DIR`` (default
``STATE_DIR/store``), versioned by content hash. Exit codes: 0 ingested (or already the current
version), 2 the file breaks the data contract (the message names the file, the column, the failed
expectation and example rows; the store is left untouched), 3 the store could not be written.

Wire it into the ``qf`` parser with :func:`add_ingest_parser`; ``python -m
dagster_project.cli.ingest PATH`` runs it on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from dagster_project.paths import STATE_DIR_ENV

EXIT_OK, EXIT_BAD_INPUT, EXIT_FAILED = 0, 2, 3


def default_store_dir(state_dir: str | Path | None = None) -> Path:
    """The project's snapshot store: ``STATE_DIR/store``."""
    return Path(state_dir or os.environ.get(STATE_DIR_ENV, ".qf_state")) / "store"


def add_ingest_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``ingest`` sub-command to a ``qf`` sub-parser collection."""
    parser = subparsers.add_parser(
        "ingest", help="validate a panel file and write it to the snapshot store",
        description=__doc__.split("\n\n")[1],
    )
    _add_arguments(parser)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="parquet or CSV long panel: date, asset, close, ...")
    parser.add_argument("--store", default=None,
                        help="snapshot store directory (default: STATE_DIR/store)")
    parser.add_argument("--mode", choices=["upsert", "replace"], default="upsert",
                        help="upsert: the file's dates replace the same dates (default); "
                             "replace: the new version holds only this file")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                        help="dates after this YYYY-MM-DD fail the contract (default: today)")
    parser.add_argument("--no-great-expectations", action="store_true",
                        help="run only the polars checks (faster)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run ``qf ingest``; returns the exit code."""
    from quant_core.data.contracts import DataContractError
    from quant_core.data.ingest import ingest_panel

    store = Path(args.store) if args.store else default_store_dir(getattr(args, "state_dir", None))
    try:
        result = ingest_panel(args.path, store, today=args.today, mode=args.mode,
                              use_great_expectations=not args.no_great_expectations)
    except DataContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: could not write the snapshot store at {store}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    verb = "ingested" if result.changed else "already ingested (no change)"
    print(f"{verb}: {summary['source']}: {summary['n_rows']} rows, {summary['n_dates']} dates "
          f"({summary['first_date']} .. {summary['last_date']})")
    print(f"data version {result.version} in {store}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m dagster_project.cli.ingest [--state-dir DIR] PATH [--store DIR] ...``"""
    parser = argparse.ArgumentParser(prog="qf ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", default=os.environ.get(STATE_DIR_ENV, ".qf_state"))
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
