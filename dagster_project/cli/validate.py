"""``qf validate``: the validation report for any signal file, prices or returns in.

    qf validate --signal SIGNAL --returns PRICES_OR_RETURNS [--horizon-days H] [--out DIR]

``SIGNAL`` is a parquet or CSV file with ``date, asset, signal`` (a number known at that
date's close; an optional ``sector`` column adds a per-sector table). ``PRICES_OR_RETURNS``
holds ``date, asset, close`` (prices) or ``date, asset, return`` (simple daily returns); which
one is told by the column name. Writes ``DIR/report.html`` and ``DIR/report.json``.
Exit codes: 0 success, 2 bad input (the message names the file, column, expectation and
example rows; nothing is written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_validate_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``validate`` sub-command to ``qf``'s sub-parsers; returns its parser."""
    parser = subparsers.add_parser(
        "validate", help="validation report for a signal file (prices or returns in)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--signal", required=True,
                        help="parquet or CSV: date, asset, signal [, sector]")
    parser.add_argument("--returns", required=True,
                        help="parquet or CSV: date, asset, close (prices) or date, asset, return")
    parser.add_argument("--horizon-days", type=int, default=1,
                        help="forward-return horizon in trading dates (default 1)")
    parser.add_argument("--lag-days", type=int, default=1,
                        help="dates between the signal's close and the entry close (default 1)")
    parser.add_argument("--signal-column", default="signal",
                        help="name of the signal column (default 'signal')")
    parser.add_argument("--name", default=None, help="name shown in the report (default: file stem)")
    parser.add_argument("--out", default="validation_report",
                        help="directory for report.html and report.json (default ./validation_report)")
    parser.set_defaults(func=cmd_validate)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    """Run ``qf validate``; returns the exit code."""
    from quant_core.data.contracts import DataContractError
    from quant_core.validation.signal_file import validate_signal_file, write_validation_outputs

    for flag, value, minimum in (("--horizon-days", args.horizon_days, 1),
                                 ("--lag-days", args.lag_days, 0)):
        if value < minimum:
            print(f"error: {flag} must be >= {minimum}, got {value}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        report, ic_frame = validate_signal_file(
            args.signal, args.returns, args.horizon_days, args.lag_days,
            signal_col=args.signal_column, name=args.name,
        )
    except DataContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    paths = write_validation_outputs(report, ic_frame, Path(args.out))
    inputs = report["inputs"]
    print(f"quantflow validate: {inputs['n_aligned_rows']} rows on {report['n_dates']} dates; "
          f"{args.horizon_days}-day forward returns from the {inputs['returns_kind']} file, "
          f"entered {args.lag_days} date(s) after the signal")
    print(report["verdict"])
    for note in report.get("notes") or []:
        print(f"  - {note}")
    print(f"report: {paths['html']}")
    print(f"numbers: {paths['json']}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m dagster_project.cli.validate ...``), same flags."""
    parser = argparse.ArgumentParser(prog="qf")
    add_validate_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validate", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
