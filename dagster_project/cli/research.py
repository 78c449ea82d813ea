"""``qf``: run the research graph from the command line (the demo, or on your own panel).

    qf demo                          the whole pipeline on the built-in synthetic market
    qf run --panel PATH --out DIR    the same graph on your panel; writes DIR/summary.json

Both execute the Dagster job in-process against a persistent Dagster instance under the state
directory, so their runs, asset materializations and check results show in ``make dev``.
Exit codes: 0 success, 1 a blocking check (leakage or data contract) stopped the graph,
2 bad input (the panel violates the data contract), 3 another step failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from dagster_project.cli.instance import prepare_dagster_home, progress_logger_def
from quant_core.files import finite, write_atomic

EXIT_BLOCKED, EXIT_BAD_INPUT, EXIT_FAILED = 1, 2, 3


def execute_research(state_dir: Path, panel_path: str | None = None, horizon_days: int = 1,
                     lag_days: int = 1, target_kind: str = "raw", synthetic: dict[str, int] | None = None,
                     tracking_uri: str | None = None, quiet: bool = False, instance=None,
                     op_config: dict[str, dict[str, Any]] | None = None, asset_selection=None,
                     job_name: str = "research_job", use_store: bool = False):
    """Execute ``research_job`` in-process; returns ``(result, defs, wall_seconds)``.

    ``instance`` defaults to the persistent Dagster instance under ``state_dir/dagster`` (the one
    ``make dev`` shows); ``op_config`` adds per-asset config, e.g. ``{"folds": {"n_splits": 3}}``;
    ``asset_selection`` (asset keys) runs part of the job.
    """
    import warnings

    import dagster as dg

    from dagster_project.definitions import build_definitions

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    from dagster_project.resources import MarketDataSource

    for folder in ("landing", "inbox", "reports"):  # the documented folders exist from the first run on
        (state_dir / folder).mkdir(parents=True, exist_ok=True)
    if instance is None:
        prepare_dagster_home(state_dir)
        instance = dg.DagsterInstance.get()
    import mlflow  # noqa: F401 - configures its logger on import; quiet it after

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # table-creation notices on first use
    # without a panel: the ingested store (retrain, as the nightly schedule does), else the synthetic market
    store = str(state_dir / "store") if use_store and not panel_path else None
    market = MarketDataSource(panel_path=panel_path, store_dir=store,
                              **{f"synthetic_{k}": v for k, v in (synthetic or {}).items()})
    loggers = None if quiet else {"console": progress_logger_def()}
    defs = build_definitions(state_dir=state_dir, tracking_uri=tracking_uri, market_data=market, loggers=loggers)
    job = defs.resolve_job_def(job_name)
    ops: dict[str, Any] = {"targets": {"config": {"horizon_days": horizon_days, "lag_days": lag_days,
                                                  "kind": target_kind}}}
    for name, config in (op_config or {}).items():
        ops.setdefault(name, {"config": {}})["config"].update(config)
    run_config: dict[str, Any] = {"ops": ops}
    # the progress logger prints one line per step; quiet keeps Dagster's console to warnings
    run_config["loggers"] = {"console": {}} if loggers else {"console": {"config": {"log_level": "WARNING"}}}
    started = time.perf_counter()
    result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False,
                                    asset_selection=asset_selection,
                                    tags={"quantflow/trigger": "cli"})
    return result, defs, time.perf_counter() - started


def run_research(state_dir: Path, **kwargs: Any) -> dict[str, Any]:
    """Execute ``research_job`` and collect its outputs into the summary dict (see ``qf run``)."""
    result, defs, wall_s = execute_research(state_dir, **kwargs)
    return finite(_summarise(result, defs, wall_s))


def _output(result, node: str):
    try:
        return result.output_for_node(node)
    except Exception:  # noqa: BLE001 - the step did not run (blocked or failed)
        return None


def _summarise(result, defs, wall_s: float) -> dict[str, Any]:
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed_checks = {name: e for name, e in checks.items() if not e.passed}
    leak = checks.get("targets_leakage_audit")
    flagged = []
    if leak is not None and "flagged_features" in leak.metadata:
        text = leak.metadata["flagged_features"].value
        flagged = [] if text == "none" else [f.strip() for f in text.split(",")]
    split_check = checks.get("folds_leakage_audit")
    split_problems = []
    if split_check is not None and not split_check.passed:
        split_problems = split_check.metadata["problems"].value.splitlines()
    snapshot = _output(result, "feature_snapshots")
    validation = _output(result, "validation_report")
    ensemble = _output(result, "ensemble_weights")
    routing = _output(result, "regime_routing")
    trading = _output(result, "pnl_attribution") or _output(result, "portfolio_backtest")
    tracker = defs.resources["mlflow"]
    summary: dict[str, Any] = {
        "success": bool(result.success),
        "dagster_run_id": result.run_id,
        "wall_seconds": round(wall_s, 2),
        "data": {},
        "leakage": {
            "passed": bool(leak is not None and leak.passed and (split_check is None or split_check.passed)),
            "flagged_features": flagged,
            "split_problems": split_problems,
        },
        "failed_checks": {name: {k: str(v.value) for k, v in e.metadata.items()} for name, e in failed_checks.items()},
        "models": {},
        "ensemble": None,
        "regime_routing": None,
        "oracle": None,
        "trading": None,
        "mlflow_run_id": tracker.parent_run_id(result.run_id),
        "mlflow_tracking_uri": tracker.tracking_uri,
    }
    if snapshot is not None:
        summary["data"] = {"n_dates": snapshot.n_dates, "n_assets": snapshot.n_assets,
                           "features": list(snapshot.features), "data_version": snapshot.data_version,
                           "source": snapshot.source}
    if validation is not None:
        for report in validation.reports:
            overall = report.overall
            summary["models"][report.family] = {
                "oos_ic_mean": overall.ic_mean, "oos_rank_ic_mean": overall.rank_ic_mean,
                "oos_rank_icir": overall.rank_icir, "t_hac": overall.t_hac, "p_hac": overall.p_hac,
                "n_dates": overall.n_dates, "model_uri": report.report.get("model_uri"),
                "report": str(report.html_path),
            }
        summary["oracle"] = validation.oracle
    if ensemble is not None:
        blend, stack = ensemble.ensemble, ensemble.stacking
        summary["ensemble"] = {
            "method": ensemble.method, "weights": dict(ensemble.weights),
            "oos_rank_ic_mean": blend.rank_ic_mean, "oos_ic_mean": blend.ic_mean,
            "oos_rank_icir": blend.rank_icir, "eval_dates": [str(d) for d in ensemble.eval_dates],
            "p_hac": blend.p_hac, "oracle_held_out": ensemble.oracle_held_out,
            "stacking": {"oos_rank_ic_mean": stack.rank_ic_mean, "oos_ic_mean": stack.ic_mean,
                         "oos_rank_icir": stack.rank_icir, "p_hac": stack.p_hac},
        }
    if routing is not None:
        routed, static = routing.routed, routing.static
        summary["regime_routing"] = {
            "detector": type(routing.detector).__name__, "last_fit_date": str(routing.last_fit_date),
            "oos_rank_ic_mean": routed.rank_ic_mean, "oos_ic_mean": routed.ic_mean,
            "oos_rank_icir": routed.rank_icir, "p_hac": routed.p_hac,
            "static_oos_rank_ic_mean": static.rank_ic_mean,
            "routing": routing.routing.to_dicts(),
        }
    if trading is not None:
        summary["trading"] = {}
        for book in trading.results:
            s = book.summary()
            summary["trading"][book.name] = {
                k: s[k] for k in ("gross_pnl_usd", "net_pnl_usd", "costs_usd", "net_sharpe", "turnover_mean",
                                  "capacity_aum_usd", "half_sharpe_aum_usd")}
            if "attribution" in s:
                summary["trading"][book.name]["attribution"] = s["attribution"]
            if "netting" in s:
                summary["trading"][book.name]["netting"] = s["netting"]
    return summary


def _usd(value: Any) -> str:
    return "-" if value is None else f"{value / 1e6:+.2f}M"


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:+.4f}" if isinstance(value, float) else str(value)


def print_summary(summary: dict[str, Any], state_dir: Path, stream=None) -> None:
    stream = stream or sys.stdout  # looked up at call time, so a redirected stdout is honoured
    data = summary["data"]
    if data:
        print(f"\ndata: {data['n_dates']} dates x {data['n_assets']} assets, {len(data['features'])} features, "
              f"version {data['data_version']}", file=stream)
    print(f"leakage audit: {'passed' if summary['leakage']['passed'] else 'FAILED'}", file=stream)
    rows = [(name, m["oos_ic_mean"], m["oos_rank_ic_mean"], m["oos_rank_icir"], m["p_hac"])
            for name, m in summary["models"].items()]
    if summary["ensemble"]:
        e = summary["ensemble"]
        rows.append((f"ensemble ({e['method']}, held-out dates)", e["oos_ic_mean"], e["oos_rank_ic_mean"],
                     e["oos_rank_icir"], e["p_hac"]))
        s = e["stacking"]
        rows.append(("stacking (ridge meta, held-out dates)", s["oos_ic_mean"], s["oos_rank_ic_mean"],
                     s["oos_rank_icir"], s["p_hac"]))
    if summary["regime_routing"]:
        r = summary["regime_routing"]
        rows.append((f"regime routing ({r['detector'].removesuffix('RegimeDetector')}, held-out)", r["oos_ic_mean"],
                     r["oos_rank_ic_mean"], r["oos_rank_icir"], r["p_hac"]))
    if summary["oracle"]:
        o = summary["oracle"]
        rows.append(("oracle (simulator's truth)", o["ic_mean"], o["rank_ic_mean"], o["rank_icir"], None))
    if summary["ensemble"] and summary["ensemble"].get("oracle_held_out"):
        o = summary["ensemble"]["oracle_held_out"]
        rows.append(("oracle on the held-out dates", o["ic_mean"], o["rank_ic_mean"], o["rank_icir"], None))
    if rows:
        print("\nmodels and oracle: all out-of-fold dates; ensembles: the held-out last dates their "
              "weights never saw", file=stream)
        width = max(len(r[0]) for r in rows) + 2
        print(f"{'signal':<{width}}{'OOS IC':>10}{'Rank IC':>10}{'Rank ICIR':>11}{'HAC p':>9}", file=stream)
        for name, ic, ric, icir, p in rows:
            p_text = "-" if p is None else f"{p:.4f}"
            print(f"{name:<{width}}{_fmt(ic):>10}{_fmt(ric):>10}{_fmt(icir):>11}{p_text:>9}", file=stream)
    if summary["ensemble"]:
        weights = ", ".join(f"{k} {v:.2f}" for k, v in summary["ensemble"]["weights"].items())
        print(f"ensemble weights: {weights}", file=stream)
    if summary.get("trading"):
        print("\ntrading (constant AUM, USD): families on out-of-fold dates, ensembles on held-out dates", file=stream)
        print(f"{'book':<12}{'gross':>10}{'costs':>10}{'net':>10}{'net Sharpe':>12}{'turnover':>10}{'capacity':>12}",
              file=stream)
        for name, t in summary["trading"].items():
            costs = sum(v for v in t["costs_usd"].values() if v is not None)
            sharpe = "-" if t["net_sharpe"] is None else f"{t['net_sharpe']:+.2f}"
            capacity = "-" if t["capacity_aum_usd"] is None else f"{t['capacity_aum_usd']:.2g}"
            print(f"{name:<12}{_usd(t['gross_pnl_usd']):>10}{_usd(costs):>10}{_usd(t['net_pnl_usd']):>10}"
                  f"{sharpe:>12}{t['turnover_mean']:>10.1%}{capacity:>12}", file=stream)
    print(f"\nDagster run {summary['dagster_run_id']} ({summary['wall_seconds']:.1f} s); "
          f"state in {state_dir / 'dagster'} (open it with `make dev`)", file=stream)
    print(f"MLflow run {summary['mlflow_run_id']} in {summary['mlflow_tracking_uri']} "
          f"(open it with `make mlflow-ui`)", file=stream)
    for name, m in summary["models"].items():
        print(f"report ({name}): {m['report']}", file=stream)


def _write_json_atomic(payload: dict[str, Any], path: Path) -> None:
    write_atomic(path, json.dumps(payload, indent=2, default=str, allow_nan=False))


def _exit_code(summary: dict[str, Any]) -> int:
    if summary["success"]:
        return 0
    if summary["failed_checks"]:
        return EXIT_BLOCKED
    return EXIT_FAILED


def _explain_failure(summary: dict[str, Any]) -> None:
    leakage = summary["leakage"]
    if leakage["flagged_features"]:
        print(f"error: leakage audit blocked the graph: features implausibly predictive of their own "
              f"target window: {', '.join(leakage['flagged_features'])}", file=sys.stderr)
    for problem in leakage["split_problems"]:
        print(f"error: split audit: {problem}", file=sys.stderr)
    for name, meta in summary["failed_checks"].items():
        if name not in ("targets_leakage_audit", "folds_leakage_audit"):
            print(f"error: check {name} failed: {meta}", file=sys.stderr)
    if not summary["failed_checks"]:
        print("error: a step failed; see the Dagster run in `make dev` for its log", file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve()
    print(f"quantflow demo: synthetic market ({args.n_assets} assets x {args.n_days} days, seed {args.seed})")
    summary = run_research(state_dir, synthetic={"n_assets": args.n_assets, "n_days": args.n_days,
                                                 "seed": args.seed})
    _write_json_atomic(summary, state_dir / "demo_summary.json")
    print_summary(summary, state_dir)
    code = _exit_code(summary)
    if code:
        _explain_failure(summary)
    return code


def export_reports(summary: dict[str, Any], reports_dir: Path, out_dir: Path, since: float) -> list[Path]:
    """Copy the reports, plots and tables this run wrote into the shared ``reports_dir`` to
    ``out_dir`` (the next run overwrites the shared ones), and point the summary at the copies:
    each model's ``report`` and the ``reports`` list. Files older than ``since`` (an earlier
    run's) are left behind. Each copy is written to a temporary name, then renamed."""
    if not reports_dir.is_dir():
        summary["reports"] = []
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in sorted(reports_dir.iterdir()):
        if not path.is_file() or path.stat().st_mtime < since:
            continue
        target = out_dir / path.name
        tmp = out_dir / f".{path.name}.tmp"
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        copied.append(target.resolve())
    by_name = {p.name: p for p in copied}
    for name, model in summary.get("models", {}).items():
        copy = by_name.get(f"validation_{name}.html")
        if copy is not None:
            model["report"] = str(copy)
    summary["reports"] = [str(p) for p in copied]
    return copied


def cmd_run(args: argparse.Namespace) -> int:
    from quant_core.data.contracts import DataContractError
    from quant_core.data.readers import read_panel

    state_dir = Path(args.state_dir).resolve()
    for flag, value in (("--permutation-repeats", args.permutation_repeats), ("--permutation-boot", args.permutation_boot),
                        ("--shap-rows-per-fold", args.shap_rows_per_fold)):
        if value is not None and value < 1:
            print(f"error: {flag} must be >= 1, got {value}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        read_panel(args.panel)
    except DataContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"quantflow run: {args.panel} (horizon {args.horizon_days} d, lag {args.lag_days} d, "
          f"target {args.target_kind})")
    started = time.time()
    given = {"permutation_importance": {"n_repeats": args.permutation_repeats, "n_boot": args.permutation_boot},
             "shap_values": {"max_rows_per_fold": args.shap_rows_per_fold}}
    explain = {op: {k: v for k, v in knobs.items() if v is not None} for op, knobs in given.items()}
    explain = {op: knobs for op, knobs in explain.items() if knobs}
    summary = run_research(state_dir, panel_path=str(Path(args.panel).resolve()),
                           horizon_days=args.horizon_days, lag_days=args.lag_days,
                           target_kind=args.target_kind, op_config=explain)
    out = Path(args.out)
    export_reports(summary, state_dir / "reports", out / "reports", since=started)
    _write_json_atomic(summary, out / "summary.json")
    print_summary(summary, state_dir)
    print(f"summary: {out / 'summary.json'}")
    code = _exit_code(summary)
    if code:
        _explain_failure(summary)
    return code




def cmd_retrain(args: argparse.Namespace) -> int:
    """``qf retrain``: the research graph plus the promotion gate (``retrain_job``), in-process."""
    from quant_core.data.contracts import DataContractError
    from quant_core.data.readers import read_panel

    state_dir = Path(args.state_dir).resolve()
    panel = str(Path(args.panel).resolve()) if args.panel else None
    if panel:
        try:
            read_panel(panel)
        except DataContractError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    source = panel or f"the store under {state_dir / 'store'} (else the synthetic market)"
    print(f"quantflow retrain: {source} (horizon {args.horizon_days} d, lag {args.lag_days} d)")
    gate = {"require_net_improvement": True} if args.require_net_improvement else {}
    result, defs, wall_s = execute_research(
        state_dir, panel_path=panel, horizon_days=args.horizon_days, lag_days=args.lag_days,
        target_kind=args.target_kind, job_name="retrain_job", use_store=True,
        op_config={"challenger_model_promotion_gate": gate} if gate else None)
    summary = finite(_summarise(result, defs, wall_s))
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    verdict = checks.get("promotion_gate")
    champion = _output(result, "champion_model")
    summary["gate"] = None if verdict is None else {
        "decision": verdict.metadata["decision"].value, "reason": verdict.metadata["reason"].value,
        "challenger_version": verdict.metadata["challenger_version"].value}
    summary["champion"] = None if champion is None else {"model_uri": champion.model_uri, "run_id": champion.run_id}
    _write_json_atomic(summary, state_dir / "retrain_summary.json")
    print_summary(summary, state_dir)
    if verdict is not None:
        print(f"\npromotion gate: {summary['gate']['decision']} challenger version "
              f"{summary['gate']['challenger_version']}: {summary['gate']['reason']}")
    if champion is not None:
        print(f"champion: {champion.model_uri}")
    failed = {name for name, e in checks.items() if not e.passed}
    if failed == {"promotion_gate"}:  # a rejected challenger is an answer, not a failure
        return 0
    code = _exit_code(summary)
    if code:
        _explain_failure(summary)
    return code


def add_research_parsers(sub) -> None:
    """``qf demo``, ``qf run`` and ``qf retrain``."""
    demo = sub.add_parser("demo", help="run the whole pipeline on the built-in synthetic market")
    demo.add_argument("--n-assets", type=int, default=300)
    demo.add_argument("--n-days", type=int, default=1008)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)
    run = sub.add_parser("run", help="run the research graph on your panel")
    run.add_argument("--panel", required=True, help="parquet or CSV long panel: date, asset, close, ...")
    run.add_argument("--out", required=True, help="directory for summary.json and the run's reports (DIR/reports)")
    run.add_argument("--horizon-days", type=int, default=1, help="forward-return horizon (trading days)")
    run.add_argument("--lag-days", type=int, default=1, help="days between feature close and entry close")
    run.add_argument("--target-kind", default="raw",
                     choices=["raw", "excess", "residual", "vol_scaled", "rank", "zscore"],
                     help="raw forward return, excess over the market, sector residual, vol-scaled, "
                          "or per-date rank / z-score")
    # unset flags leave the pipeline's defaults (the core configs'); reading them here would load
    # every stage module, LightGBM included, for any qf command
    run.add_argument("--permutation-repeats", type=int, default=None,
                     help="shuffles per feature in permutation importance, the slowest step on wide panels "
                          "(>= 1; default: the permutation_importance asset's)")
    run.add_argument("--permutation-boot", type=int, default=None,
                     help="bootstrap draws of each permutation-importance interval (default: the asset's)")
    run.add_argument("--shap-rows-per-fold", type=int, default=None,
                     help="test rows per fold TreeSHAP explains (default: the shap_values asset's)")
    run.set_defaults(func=cmd_run)
    retrain = sub.add_parser("retrain", help="the research graph plus the promotion gate (retrain_job)")
    retrain.add_argument("--panel", default=None,
                         help="parquet or CSV long panel (default: the ingested store, else the synthetic market)")
    retrain.add_argument("--horizon-days", type=int, default=1)
    retrain.add_argument("--lag-days", type=int, default=1)
    retrain.add_argument("--target-kind", default="raw",
                         choices=["raw", "excess", "residual", "vol_scaled", "rank", "zscore"])
    retrain.add_argument("--require-net-improvement", action="store_true",
                         help="the gate also requires a higher net-of-cost PnL than the champion's")
    retrain.set_defaults(func=cmd_retrain)
