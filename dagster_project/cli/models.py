"""``qf models``: read the model registry and act on it by hand; every action is recorded.

    qf models list     [--family lightgbm] [--limit 20]
    qf models promote  --version N --reason TEXT [--family lightgbm] [--actor NAME]
    qf models rollback --reason TEXT [--family lightgbm] [--actor NAME]

``promote`` and ``rollback`` move the ``champion`` alias, tag the versions involved, append a line
to ``<state-dir>/registry/audit.jsonl``, then re-pin Dagster's ``champion_model`` asset (a run
tagged ``quantflow/trigger=manual``) so live scoring loads the new champion from its next
partition on. A manual promote bypasses the gate on purpose: the reason is required.
Exit codes: 0 done, 2 the request cannot be applied (unknown version, nothing to roll back).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from dagster_project.cli.instance import prepare_dagster_home
from dagster_project.paths import STATE_DIR_ENV, default_tracking_uri
from quant_registry.registry import Registry

EXIT_REFUSED = 2


def _registry(args: argparse.Namespace) -> Registry:
    state_dir = Path(args.state_dir).resolve()
    (state_dir / "mlflow").mkdir(parents=True, exist_ok=True)
    # the same default as the code location: $QF_MLFLOW_TRACKING_URI, else the state dir's sqlite store
    return Registry(tracking_uri=args.tracking_uri or default_tracking_uri(state_dir), state_dir=str(state_dir))


def repin_champion(state_dir: Path, registry, family: str, actor: str, instance=None) -> str:
    """Materialize ``champion_model`` alone, pinning the registry's champion; returns the run id."""
    import dagster as dg

    from dagster_project.assets.lifecycle.promotion import champion_model
    from dagster_project.resources import ModelRegistry

    if instance is None:
        prepare_dagster_home(state_dir)
        instance = dg.DagsterInstance.get()
    resource = ModelRegistry(tracking_uri=registry.tracking_uri, state_dir=registry.state_dir,
                             registry_prefix=registry.registry_prefix)
    import warnings

    warnings.filterwarnings("ignore", category=dg.BetaWarning)  # Output(data_version=...) is beta
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    result = dg.materialize([champion_model], instance=instance, resources={"registry": resource},
                            run_config={"ops": {"champion_model": {"config": {"family": family}}}},
                            tags={"quantflow/trigger": "manual", "quantflow/actor": actor})
    return result.run_id


def _print_table(rows: list[dict], stream) -> None:
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns), file=stream)
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns), file=stream)


def cmd_models_list(args: argparse.Namespace, stream=None) -> int:
    stream = stream or sys.stdout
    registry = _registry(args)
    name = registry.registered_name(args.family)
    aliases: dict[str, list[str]] = {}
    for alias, version in registry.aliases(name).items():
        aliases.setdefault(version, []).append(alias)
    rows = []
    for v in registry.versions(name)[: args.limit]:
        tags = v.tags
        rows.append({
            "version": v.version,
            "aliases": ",".join(sorted(aliases.get(str(v.version), []))) or "-",
            "trained_through": tags.get("quantflow.train_end", "-"),
            "oos_rank_ic": f"{float(tags['validation.rank_ic_mean']):+.4f}" if "validation.rank_ic_mean" in tags else "-",
            "hac_p": f"{float(tags['validation.p_hac']):.4f}" if "validation.p_hac" in tags else "-",
            "gate": tags.get("quantflow.gate.decision", "-"),
            "data_version": tags.get("data_version", "-"),
            "code_version": tags.get("code_version", "-")[:12],
        })
    if not rows:
        known = sorted(m.name for m in registry.client().search_registered_models())
        if known:  # a family nobody registered: say which exist, and fail
            print(f"error: {name} is not a registered model in {registry.tracking_uri}; registered: "
                  f"{', '.join(known)}", file=sys.stderr)
            return EXIT_REFUSED
        print(f"{name}: no registered models yet in {registry.tracking_uri} (run `make demo` or `qf run`)",
              file=stream)
        return 0
    print(f"{name} (champion history: {' -> '.join(registry.champion_history(name)) or 'none'})", file=stream)
    _print_table(rows, stream)
    recent = [e for e in registry.read_audit() if e.get("model") == name][-5:]
    if recent:
        print("\nrecent decisions (audit log):", file=stream)
        for e in recent:
            print(f"  {e['ts']}  {e['action']:<13} {e.get('from_version')} -> {e.get('to_version')}  "
                  f"by {e['actor']}: {e['reason']}", file=stream)
    return 0


def _act(args: argparse.Namespace, action, stream) -> int:
    registry = _registry(args)
    name = registry.registered_name(args.family)
    try:
        record = action(registry, name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{record['action']}: {name} champion {record['from_version']} -> {record['to_version']} "
          f"(recorded in {registry.audit_log_path})", file=stream)
    if not args.no_repin:
        run_id = repin_champion(Path(args.state_dir).resolve(), registry, args.family, args.actor)
        print(f"champion_model re-pinned to {name}/{record['to_version']} in Dagster run {run_id}", file=stream)
    return 0


def cmd_models_promote(args: argparse.Namespace, stream=None) -> int:
    return _act(args, lambda registry, name: registry.promote(
        name, args.version, actor=args.actor, reason=args.reason, source="manual"), stream or sys.stdout)


def cmd_models_rollback(args: argparse.Namespace, stream=None) -> int:
    return _act(args, lambda registry, name: registry.rollback(name, actor=args.actor, reason=args.reason),
                stream or sys.stdout)


def _family_after_the_subcommand(parser: argparse.ArgumentParser) -> None:
    """``qf models list --family ridge`` works as well as ``qf models --family ridge list``."""
    parser.add_argument("--family", default=argparse.SUPPRESS,
                        help="model family (registered as quantflow-<family>); default lightgbm")


def add_models_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``models list|promote|rollback`` to ``qf``'s subparsers (uses the top-level ``--state-dir``)."""
    models = subparsers.add_parser("models", help="list, promote or roll back registered models")
    models.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $QF_MLFLOW_TRACKING_URI or the state dir's sqlite store)")
    models.add_argument("--family", default="lightgbm", help="model family (registered as quantflow-<family>)")
    sub = models.add_subparsers(dest="models_command", required=True)
    listing = sub.add_parser("list", help="versions, aliases, validation numbers, gate verdicts, recent decisions")
    listing.add_argument("--limit", type=int, default=20, help="newest versions shown")
    _family_after_the_subcommand(listing)
    listing.set_defaults(func=cmd_models_list)
    for name, handler, text in (("promote", cmd_models_promote, "make VERSION the champion (bypasses the gate)"),
                                ("rollback", cmd_models_rollback, "give the champion back to the previous one")):
        action = sub.add_parser(name, help=text)
        if name == "promote":
            action.add_argument("--version", required=True, help="registered version number")
        action.add_argument("--reason", required=True, help="why (recorded in the tags and the audit log)")
        action.add_argument("--actor", default=getpass.getuser(), help="who acts (default: the OS user)")
        action.add_argument("--no-repin", action="store_true",
                            help="only move the alias; do not re-pin Dagster's champion_model")
        _family_after_the_subcommand(action)
        action.set_defaults(func=handler)
    return models


def main(argv: list[str] | None = None) -> int:
    """``python -m dagster_project.cli.models [--state-dir DIR] models ...`` (what ``qf`` runs)."""
    parser = argparse.ArgumentParser(prog="qf")
    parser.add_argument("--state-dir", default=os.environ.get(STATE_DIR_ENV, ".qf_state"))
    add_models_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
