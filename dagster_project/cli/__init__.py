"""``qf``: the command line of the platform.

    qf demo                          the whole pipeline on the built-in synthetic market
    qf run --panel PATH --out DIR    the same graph on your panel; writes DIR/summary.json
    qf ingest PATH                   contract-check a panel into the snapshot store
    qf validate --signal --returns   the validation report of any signal file
    qf backtest --signal|--weights --prices --out DIR   what a book earns after costs
    qf models list|promote|rollback  the model registry, by hand

One module per command group (research, ingest, validate, backtest, models); ``instance`` holds the local
Dagster instance they run against.
"""

from __future__ import annotations

import argparse
import sys

from dagster_project.paths import STATE_DIR_ENV


def build_parser() -> argparse.ArgumentParser:
    from dagster_project.cli.backtest import add_backtest_parser
    from dagster_project.cli.ingest import add_ingest_parser
    from dagster_project.cli.models import add_models_parser
    from dagster_project.cli.research import add_research_parsers
    from dagster_project.cli.validate import add_validate_parser

    parser = argparse.ArgumentParser(prog="qf", description="The model layer of a quant research platform.")
    parser.add_argument("--state-dir", default=None,
                        help=f"Dagster, MLflow and report state (default: ${STATE_DIR_ENV}, else the nearest "
                             ".qf_state in this folder or a parent, else the project's)")
    sub = parser.add_subparsers(dest="command", required=True)
    add_research_parsers(sub)
    add_ingest_parser(sub)
    add_validate_parser(sub)
    add_backtest_parser(sub)
    add_models_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.state_dir is None:
        from dagster_project.paths import default_state_dir

        args.state_dir = str(default_state_dir())
        print(f"qf: state directory {args.state_dir}", file=sys.stderr)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
