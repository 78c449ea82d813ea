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
    import os

    from dagster_project.cli.backtest import add_backtest_parser
    from dagster_project.cli.ingest import add_ingest_parser
    from dagster_project.cli.models import add_models_parser
    from dagster_project.cli.research import add_research_parsers
    from dagster_project.cli.validate import add_validate_parser

    parser = argparse.ArgumentParser(prog="qf", description="The model layer of a quant research platform.")
    parser.add_argument("--state-dir", default=os.environ.get(STATE_DIR_ENV, ".qf_state"),
                        help="Dagster, MLflow and report state (default: .qf_state or $QF_STATE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    add_research_parsers(sub)
    add_ingest_parser(sub)
    add_validate_parser(sub)
    add_backtest_parser(sub)
    add_models_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
