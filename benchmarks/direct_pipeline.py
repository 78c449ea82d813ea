"""The direct twin of the research graph: the quant_core calls each asset and check makes, in
the Dagster run's step order and with the same defaults, without Dagster or MLflow.

``direct_core_pipeline`` mirrors the subset graph and ``direct_full_pipeline`` the whole
``research_job`` as ``qf demo`` runs it; ``benchmarks.bench_pipeline`` times them against the
orchestrated runs (see its docstring for what is mirrored and what is left out).
"""

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

# the asset/config defaults the direct path mirrors (dagster_project/assets, checks, cli)
HORIZON_DAYS, LAG_DAYS = 1, 1  # TargetConfig (kind raw, no winsorising) and what `qf demo` passes
LGB_PARAMS = {"learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 500, "feature_fraction": 0.8}
LGB_ROUNDS, LGB_EARLY_STOP, LGB_INNER_VALID_DAYS, LGB_SEED = 300, 30, 63, 0
RIDGE_ALPHA = 10.0
DEEP_FAMILIES = ("mlp",)  # DeepModelsConfig.families default
DEEP_SETTINGS = {"max_epochs": 8, "patience": 2, "seed": 0, "num_threads": 0, "progress": "off"}
DEEP_HIDDEN, DEEP_SEQ_LEN, DEEP_INNER_VALID_DAYS = 16, 10, 63
REFERENCE_DAYS = 126  # models.REFERENCE_DAYS: the drift reference each registered model carries
OUTER_TEST_FRACTION, ENSEMBLE_METHOD = 0.3, "ic_weighted"


class _Laps:
    """Seconds per stage: ``laps("name")`` closes the stage that started at the previous call."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self._clock
        self._clock = now


@dataclass
class _Snapshot:
    panel: pl.DataFrame
    features: list[str]
    availability: dict[str, str]
    input_columns: tuple[str, ...]
    oracle: pl.DataFrame | None
    source: str


@dataclass
class _Family:
    name: str
    result: Any  # FoldwiseResult
    fold_table: pl.DataFrame
    final_model: Any

    @property
    def oos_rank_ic(self) -> float:
        return float(self.fold_table.filter(pl.col("fold") == "overall")["rank_ic_mean"][0])


# -- stages shared by both direct paths ------------------------------------------------------------
def _feature_snapshots(n_assets: int, n_days: int, seed: int) -> _Snapshot:
    """MarketDataSource.load_snapshot, synthetic branch."""
    from quant_core.data.contracts import feature_columns
    from quant_core.data.snapshot import availability_map, content_hash
    from quant_core.data.synthetic import SyntheticMarketConfig, simulate_market
    from quant_core.features import build_features, default_feature_set

    market = simulate_market(SyntheticMarketConfig(n_assets=n_assets, n_days=n_days, seed=seed))
    panel = market.panel
    input_columns = tuple(panel.columns)
    features = feature_columns(panel)
    if not features:
        panel = build_features(panel, default_feature_set(panel))
        features = feature_columns(panel)
    content_hash(panel)  # the data version
    return _Snapshot(panel, features, availability_map(panel, features), input_columns, market.oracle,
                     f"synthetic(n_assets={n_assets}, n_days={n_days}, seed={seed})")


def _contract_check(snap: _Snapshot, use_great_expectations: bool) -> None:
    """checks.contracts.feature_snapshots_contract."""
    from quant_core.data.expectations import validate_panel

    result = validate_panel(snap.panel.select(snap.input_columns), snap.source,
                            use_great_expectations=use_great_expectations)
    missing = snap.panel.select([pl.col(f).is_null().mean().alias(f) for f in snap.features]).transpose(
        include_header=True, header_name="feature", column_names=["missing_share"])
    assert result.passed and missing.filter(pl.col("missing_share") > 0.5).is_empty(), "contract failed"


def _targets(snap: _Snapshot) -> pl.DataFrame:
    """assets.targets: the modelling frame."""
    from quant_core.targets import make_target

    labels = make_target(snap.panel, kind="raw", horizon_days=HORIZON_DAYS, lag_days=LAG_DAYS,
                         vol_window_days=20, winsorize_method=None)
    keep = ["date", "asset", *snap.features, *snap.availability.values()]
    return snap.panel.select(keep).join(labels.select(["date", "asset", "target", "label_start", "label_end"]),
                                        on=["date", "asset"], how="inner").sort(["date", "asset"])


def _targets_leakage_audit(frame: pl.DataFrame, snap: _Snapshot) -> None:
    """checks.leakage.targets_leakage_audit."""
    from quant_core.targets.leakage import audit_availability, audit_feature_leakage

    audit = audit_feature_leakage(frame, snap.features)
    late = audit_availability(frame, snap.availability).problems if snap.availability else ()
    assert audit.passed and not late, "leakage audit failed"


def _dates(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return (frame["date"].to_numpy().astype("datetime64[D]"), frame["label_end"].to_numpy().astype("datetime64[D]"))


def _folds(frame: pl.DataFrame, reports: Path) -> tuple:
    """assets.folds: walk-forward, 5 splits, 252 first training dates, embargo = horizon."""
    from quant_core.model_selection import WalkForward, plot_folds

    splitter = WalkForward(n_splits=5, min_train_days=252, embargo_days=HORIZON_DAYS)
    dates, label_end = _dates(frame)
    splits = tuple(splitter.split(dates, label_end))
    splitter.describe(dates, label_end)
    plot_folds(splitter, dates, label_end, path=reports / "fold_layout.png", title="walk_forward folds")
    return splits


def _folds_leakage_audit(frame: pl.DataFrame, splits: tuple) -> None:
    """checks.leakage.folds_leakage_audit."""
    from quant_core.targets.leakage import verify_splits

    assert verify_splits(*_dates(frame), list(splits), HORIZON_DAYS).passed, "split audit failed"


def _train_family(name: str, frame: pl.DataFrame, splits: tuple, features: list[str], make_model, make_final,
                  inner_valid_days: int = 0) -> _Family:
    """assets.models.train_and_register without MLflow: fold-wise fit, IC table, final refit,
    the drift reference scored by the final model."""
    from quant_core.models import train_foldwise
    from quant_core.monitoring.evidently_drift import training_reference
    from quant_core.validation import fold_ic_table

    purge_days = HORIZON_DAYS + LAG_DAYS if inner_valid_days else 0
    result = train_foldwise(frame, list(splits), make_model, inner_valid_days=inner_valid_days,
                            purge_days=purge_days)
    fold_table = fold_ic_table(result.oof, horizon_days=HORIZON_DAYS)
    final_model = make_final(result).fit(frame)
    reference = training_reference(frame, features, REFERENCE_DAYS)
    reference.with_columns(pl.Series("score", final_model.predict(reference), dtype=pl.Float64))
    return _Family(name, result, fold_table, final_model)


def _lightgbm_model(frame: pl.DataFrame, splits: tuple, features: list[str]) -> _Family:
    from quant_core.models import LightGBMRegressor

    def make_model():
        return LightGBMRegressor(features, params=LGB_PARAMS, num_boost_round=LGB_ROUNDS,
                                 early_stopping_rounds=LGB_EARLY_STOP, seed=LGB_SEED)

    def make_final(result):
        rounds = int(np.median([m.best_iteration_ for m in result.models])) or LGB_ROUNDS
        return LightGBMRegressor(features, params=LGB_PARAMS, num_boost_round=max(rounds, 1),
                                 early_stopping_rounds=0, seed=LGB_SEED)

    return _train_family("lightgbm", frame, splits, features, make_model, make_final, LGB_INNER_VALID_DAYS)


def _ridge_model(frame: pl.DataFrame, splits: tuple, features: list[str]) -> _Family:
    from quant_core.models import RidgeRegressor

    def make_model():
        return RidgeRegressor(features, alpha=RIDGE_ALPHA)

    return _train_family("ridge", frame, splits, features, make_model, lambda _result: make_model())


def _held_out_ic(eval_frame: pl.DataFrame, signals: list[str]) -> pl.DataFrame:
    """assets.ensemble.held_out_ic."""
    from quant_core.validation import fold_ic_table

    scored = eval_frame.with_columns(pl.lit(0).alias("fold"))
    return pl.concat([fold_ic_table(scored, signal=name, horizon_days=HORIZON_DAYS)
                      .filter(pl.col("fold") == "overall").with_columns(pl.lit(name).alias("fold"))
                      for name in signals]).rename({"fold": "signal"})


def _members(families: list[_Family]) -> tuple[pl.DataFrame, list[str]]:
    from quant_core.ensemble import oof_wide

    return oof_wide({f.name: f.result.oof for f in families}), [f.name for f in families]


def _ensemble_weights(families: list[_Family], snap: _Snapshot) -> dict[str, float]:
    """assets.ensemble.ensemble_weights: ic-weighted blend, ridge stack, held-out IC, oracle."""
    from quant_core.ensemble import fit_blend, fit_stacking
    from quant_core.validation.oracle import oracle_ic_summary

    wide, names = _members(families)
    blend = fit_blend(wide, names, method=ENSEMBLE_METHOD, outer_test_fraction=OUTER_TEST_FRACTION)
    stack = fit_stacking(wide, names, meta="ridge", outer_test_fraction=OUTER_TEST_FRACTION)
    eval_frame = blend.eval_frame.join(
        stack.eval_frame.select(["date", "asset", pl.col("ensemble").alias("stacking")]), on=["date", "asset"])
    table = _held_out_ic(eval_frame, ["ensemble", "stacking", *names])
    if snap.oracle is not None:
        oracle_ic_summary(snap.oracle, eval_frame)
    ic = dict(zip(table["signal"], table["rank_ic_mean"], strict=True))
    return {"ensemble_held_out_rank_ic": ic["ensemble"], "stacking_held_out_rank_ic": ic["stacking"]}


# -- stages of the full graph only -----------------------------------------------------------------
def _deep_models(snap: _Snapshot, frame: pl.DataFrame, splits: tuple, state: Path) -> list[_Family]:
    """assets.deep_models: each default torch family, same trainer settings (seed, threads, checkpoints)."""
    from quant_core.models import build_model

    prices = snap.panel.select([c for c in ("date", "asset", "close", "sector") if c in snap.panel.columns])
    trained = []
    for family in DEEP_FAMILIES:
        checkpoints = state / "checkpoints" / family
        checkpoints.mkdir(parents=True, exist_ok=True)
        settings = {**DEEP_SETTINGS, "checkpoint_dir": str(checkpoints)}
        if family in ("mlp", "lstm", "gru", "gnn"):
            settings["hidden_size"] = DEEP_HIDDEN
        if family in ("lstm", "gru", "tcn", "transformer"):
            settings["seq_len"] = DEEP_SEQ_LEN
        extra = {"prices": prices} if family == "gnn" else {}

        def make_model(family=family, settings=settings, extra=extra):
            return build_model(family, snap.features, settings, **extra)

        def make_final(result, settings=settings, make_model=make_model):
            epochs = max(1, int(np.median([m.best_epoch_ for m in result.models])))
            return make_model(settings={**settings, "max_epochs": epochs})

        trained.append(_train_family(family, frame, splits, snap.features, make_model, make_final,
                                     DEEP_INNER_VALID_DAYS))
    return trained


def _deep_shap(frame: pl.DataFrame, splits: tuple, deep: list[_Family], features: list[str], reports: Path) -> None:
    """assets.explain.deep_shap: gradient SHAP of each row-wise family's last fold model."""
    from quant_core.explain import (
        ROW_WISE_FAMILIES,
        mean_abs_shap,
        panel_gradient_shap,
        shap_summary_plot,
    )

    tables = []
    test_rows = frame[splits[-1][1]]
    for trained in deep:
        if trained.name not in ROW_WISE_FAMILIES:
            continue
        values, rows = panel_gradient_shap(trained.result.models[-1], test_rows, max_rows=500, n_samples=100, seed=0)
        X = rows.join(test_rows.select(["date", "asset", *features]), on=["date", "asset"], how="left")
        tables.append(mean_abs_shap(values, features).with_columns(pl.lit(trained.name).alias("family")))
        shap_summary_plot(values, X.select(features), features, reports / f"shap_{trained.name}.png")
    if tables:
        pl.concat(tables).select(["family", "feature", "mean_abs_shap"]).write_parquet(
            reports / "shap_deep_models.parquet")


def _permutation_importance(frame: pl.DataFrame, splits: tuple, lgb: _Family, features: list[str],
                            reports: Path) -> float:
    """assets.explain.permutation_importance: per feature and per feature family; returns the baseline IC."""
    from quant_core.explain import (
        feature_groups,
        fold_permutation_importance,
        permutation_importance_plot,
    )

    kwargs = {"n_repeats": 3, "seed": 0, "n_boot": 300}
    models = lgb.result.models
    result = fold_permutation_importance(models, frame, splits, features, **kwargs)
    table = result.table
    families = {name: cols for name, cols in feature_groups(features).items() if len(cols) > 1}
    if len(families) > 1:
        grouped = fold_permutation_importance(models, frame, splits, groups=families, **kwargs)
        table = pl.concat([table, grouped.table], how="diagonal_relaxed")
    permutation_importance_plot(result.table, reports / "permutation_lightgbm.png")
    table.write_parquet(reports / "permutation_lightgbm.parquet")
    return float(result.baseline["ic"].mean())


def _regime_routing(families: list[_Family], snap: _Snapshot, state: Path) -> tuple[dict, float]:
    """assets.ensemble.regime_routing: HMM regimes, per-regime ic-weighted blend, routing table."""
    from quant_core.ensemble import (
        HMMRegimeDetector,
        fit_regime_blend,
        ic_by_regime,
        market_state,
        outer_split,
    )

    wide, names = _members(families)
    last_fit = outer_split(wide["date"], OUTER_TEST_FRACTION)
    states = market_state(snap.panel)
    regimes = HMMRegimeDetector().fit(states, last_fit).predict(states)
    result = fit_regime_blend(wide, names, regimes.select(["date", "regime"]), method=ENSEMBLE_METHOD,
                              outer_test_fraction=OUTER_TEST_FRACTION, min_regime_dates=20)
    table = _held_out_ic(result.eval_frame, ["ensemble", "static", *names])
    ic_by_regime(result.eval_frame, ["ensemble", "static", *names], regimes.select(["date", "regime"]))
    (state / "ensemble").mkdir(parents=True, exist_ok=True)
    result.routing.write_parquet(state / "ensemble" / "routing.parquet")
    regimes.write_parquet(state / "ensemble" / "regimes.parquet")
    return {"routing": result.routing, "regimes": regimes}, float(table["rank_ic_mean"][0])


def _ensemble_model(families: list[_Family], snap: _Snapshot, routing: dict) -> None:
    """assets.ensemble.ensemble_model without MLflow: the routed ensemble scores the newest date."""
    from quant_core.ensemble import RoutedEnsemble

    ensemble = RoutedEnsemble({f.name: f.final_model for f in families}, routing["routing"], tuple(snap.features))
    panel = snap.panel
    latest = panel.filter(pl.col("date") == panel["date"].max()).select(["date", "asset", *snap.features]).join(
        routing["regimes"].select(["date", "regime"]), on="date", how="left")
    ensemble.member_scores(latest).with_columns(pl.Series("ensemble", ensemble.predict(latest)))


def _shap_values(frame: pl.DataFrame, splits: tuple, lgb: _Family, features: list[str], regimes: pl.DataFrame,
                 reports: Path) -> None:
    """assets.explain.shap_values: TreeSHAP per fold, stability, families, regimes, interactions, plots."""
    from quant_core.explain import (
        feature_groups,
        fold_shap,
        group_bar_plot,
        group_contributions,
        importance_stability,
        mean_abs_shap,
        mean_abs_shap_by_fold,
        regime_importance_plot,
        shap_by_regime,
        shap_dependence_plot,
        shap_summary_plot,
        top_interactions,
        tree_interactions,
    )

    models = lgb.result.models
    shap_frame = fold_shap(models, frame, splits, features, max_rows_per_fold=2000, seed=0)
    values = shap_frame.select(features).to_numpy()
    X = shap_frame.select(["date", "asset"]).join(
        frame.select(["date", "asset", *features]), on=["date", "asset"], how="left").select(features)
    importance = mean_abs_shap(values, features)
    by_fold = mean_abs_shap_by_fold(shap_frame, features)
    importance_stability(by_fold, threshold=0.5)
    families = group_contributions(shap_frame, feature_groups(features))
    by_regime = shap_by_regime(shap_frame, regimes.select(["date", "regime"]), features)
    interaction_values, _ = tree_interactions(models[-1], frame[splits[-1][1]].select(features), features,
                                              max_rows=300, seed=0)
    interactions = top_interactions(interaction_values, features)
    shap_summary_plot(values, X, features, reports / "shap_lightgbm.png")
    shap_dependence_plot(values, X, features, reports / "shap_dependence_lightgbm.png")
    group_bar_plot(families, reports / "shap_families_lightgbm.png")
    regime_importance_plot(by_regime, reports / "shap_regimes_lightgbm.png")
    for table, name in ((importance, "mean_abs"), (by_fold, "by_fold"), (families, "families"),
                        (by_regime, "by_regime"), (interactions, "interactions")):
        table.write_parquet(reports / f"shap_{name}.parquet")


def _validation_report(families: list[_Family], snap: _Snapshot, regimes: pl.DataFrame,
                       reports: Path) -> dict[str, float]:
    """assets.validation.validation_report: per family the full report as HTML (with its Rank IC
    plot), the plot as PNG, and the report as JSON; returns each family's pooled OOS Rank IC."""
    from quant_core.validation import (
        build_validation_report,
        ic_plot_png,
        pooled_ic_series,
        write_html_report,
    )
    from quant_core.validation.oracle import oracle_ic_summary
    from quant_core.validation.trials import trial_ic_matrix

    panel = snap.panel
    context_kwargs = {
        "prices": panel.select(["date", "asset", "close"]),
        "lag_days": LAG_DAYS,
        "regimes": regimes.select(["date", "regime"]),
        "sectors": panel.select(["date", "asset", "sector"]) if "sector" in panel.columns else None,
        "trials": trial_ic_matrix({f.name: f.result.oof for f in families}),
    }
    oracle = oracle_ic_summary(snap.oracle, families[0].result.oof) if snap.oracle is not None else None
    rank_ics = {}
    for trained in families:
        report = build_validation_report(trained.name, trained.result.oof, horizon_days=HORIZON_DAYS,
                                         selected_trial=trained.name, **context_kwargs)
        rank, pearson = report["rank_ic"], report["ic"]
        report["overall"] = {"ic_mean": pearson["mean"], "rank_ic_mean": rank["mean"], "rank_icir": rank["icir"],
                             "t_hac": rank["t_hac"], "p_hac": rank["p_hac"], "n_dates": rank["n"]}
        if oracle is not None:
            report["oracle"] = oracle
        rank_ic = pooled_ic_series(trained.result.oof)
        png_bytes = ic_plot_png(rank_ic, title=f"{trained.name}: out-of-sample Rank IC")
        write_html_report(report, rank_ic, reports / f"validation_{trained.name}.html", ic_png=png_bytes)
        (reports / f"rank_ic_{trained.name}.png").write_bytes(png_bytes)
        (reports / f"validation_{trained.name}.json").write_text(json.dumps(report, indent=2, default=str))
        rank_ics[f"{trained.name}_report_rank_ic"] = float(rank["mean"])
    return rank_ics


# -- the two direct paths --------------------------------------------------------------------------
def _data_stages(laps: _Laps, n_assets: int, n_days: int, seed: int, reports: Path,
                 use_great_expectations: bool) -> tuple[_Snapshot, pl.DataFrame, tuple]:
    """Snapshots, contract, targets, leakage audit, folds, split audit: the start of both graphs."""
    snap = _feature_snapshots(n_assets, n_days, seed)
    laps("feature_snapshots")
    _contract_check(snap, use_great_expectations=use_great_expectations)
    laps("contract_check")
    frame = _targets(snap)
    laps("targets")
    _targets_leakage_audit(frame, snap)
    laps("targets_leakage_audit")
    splits = _folds(frame, reports)
    laps("folds")
    _folds_leakage_audit(frame, splits)
    laps("folds_leakage_audit")
    return snap, frame, splits


def direct_core_pipeline(n_assets: int, n_days: int, seed: int = 7, record: dict | None = None) -> dict[str, float]:
    """The subset graph's computations with plain function calls; returns seconds per stage.

    ``record``, when given, receives the out-of-sample numbers compared in ``parity``.
    """
    laps = _Laps()
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        reports.mkdir()
        snap, frame, splits = _data_stages(laps, n_assets, n_days, seed, reports, use_great_expectations=False)
        lgb = _lightgbm_model(frame, splits, snap.features)
        laps("lightgbm_model")
        ridge = _ridge_model(frame, splits, snap.features)
        laps("ridge_model")
        held_out = _ensemble_weights([lgb, ridge], snap)
        laps("ensemble_weights")
    if record is not None:
        record.update({"lightgbm_oos_rank_ic": lgb.oos_rank_ic, "ridge_oos_rank_ic": ridge.oos_rank_ic, **held_out})
    return laps.timings


def direct_full_pipeline(n_assets: int, n_days: int, seed: int = 7, record: dict | None = None) -> dict[str, float]:
    """Every asset and check of ``research_job`` as ``qf demo`` runs it, with plain function calls,
    in the Dagster run's step order; returns seconds per stage (``record`` as in
    :func:`direct_core_pipeline`)."""
    laps = _Laps()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        reports = state / "reports"
        reports.mkdir()
        snap, frame, splits = _data_stages(laps, n_assets, n_days, seed, reports, use_great_expectations=True)
        features = snap.features
        deep = _deep_models(snap, frame, splits, state)
        laps("deep_models")
        lgb = _lightgbm_model(frame, splits, features)
        laps("lightgbm_model")
        ridge = _ridge_model(frame, splits, features)
        laps("ridge_model")
        families = [lgb, ridge, *deep]
        _deep_shap(frame, splits, deep, features, reports)
        laps("deep_shap")
        baseline = _permutation_importance(frame, splits, lgb, features, reports)
        laps("permutation_importance")
        held_out = _ensemble_weights(families, snap)
        laps("ensemble_weights")
        routing, routed_ic = _regime_routing(families, snap, state)
        laps("regime_routing")
        _ensemble_model(families, snap, routing)
        laps("ensemble_model")
        _shap_values(frame, splits, lgb, features, routing["regimes"], reports)
        laps("shap_values")
        report_ics = _validation_report(families, snap, routing["regimes"], reports)
        laps("validation_report")
    if record is not None:
        record.update({**{f"{f.name}_oos_rank_ic": f.oos_rank_ic for f in families}, **report_ics, **held_out,
                       "routing_held_out_rank_ic": routed_ic, "permutation_baseline_rank_ic": baseline})
    return laps.timings


DIRECT = {"subset": direct_core_pipeline, "full": direct_full_pipeline}
