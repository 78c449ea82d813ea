"""What the signals earn after they are traded: a ledger per family and per ensemble, its
attribution to factors, and its capacity."""

from typing import Literal

import dagster as dg
import polars as pl

from dagster_project.config import core, to_core
from dagster_project.metadata import image, markdown_table
from dagster_project.resources import MlflowTracker, ProjectState
from dagster_project.types import (
    EnsembleResult,
    FeatureSnapshot,
    ModellingFrame,
    RoutingResult,
    TradingBooks,
    TrainedFamilies,
    TrainedFamily,
    oofs_of,
)
from quant_core.stages import (
    TradingSpec,
    attribute_books,
    trade_research_books,
    write_trading_report,
)
from quant_core.stages.trading import FactorSpec, research_factor_model


class TradingConfig(dg.Config):
    aum_usd: float = core(TradingSpec, "aum_usd")
    lag_days: int = core(TradingSpec, "lag_days")
    adjustment_rate: float = core(TradingSpec, "adjustment_rate")
    scheme: Literal["rank", "zscore"] = core(TradingSpec, "scheme")
    quantile: float | None = core(TradingSpec, "quantile")
    dollar_neutral: bool = core(TradingSpec, "dollar_neutral")
    beta_neutral: bool = core(TradingSpec, "beta_neutral")
    sector_neutral: bool = core(TradingSpec, "sector_neutral")
    gross_leverage: float = core(TradingSpec, "gross_leverage")
    max_weight: float = core(TradingSpec, "max_weight")
    max_adv_fraction: float | None = core(TradingSpec, "max_adv_fraction")
    half_spread_bps: float = core(TradingSpec, "half_spread_bps")
    spread_estimator: Literal["fixed", "corwin_schultz"] = core(TradingSpec, "spread_estimator")
    commission_bps: float = core(TradingSpec, "commission_bps")
    commission_per_share_usd: float = core(TradingSpec, "commission_per_share_usd")
    impact_coef: float = core(TradingSpec, "impact_coef")
    borrow_bps_per_year: float = core(TradingSpec, "borrow_bps_per_year")
    max_participation: float = core(TradingSpec, "max_participation")
    capacity_grid_usd: list[float] = core(TradingSpec, "capacity_grid_usd")


class AttributionConfig(dg.Config):
    factors_path: str = core(FactorSpec, "factors_path")
    beta_window_days: int = core(FactorSpec, "beta_window_days")


def _table(books: TradingBooks) -> pl.DataFrame:
    rows = []
    for r in books.results:
        s = r.summary()
        rows.append({"book": r.name, "gross_pnl_usd": s["gross_pnl_usd"], **{f"{k}_usd": v for k, v in s["costs_usd"].items()},
                     "net_pnl_usd": s["net_pnl_usd"], "net_sharpe": s["net_sharpe"], "turnover_mean": s["turnover_mean"],
                     "capacity_aum_usd": s["capacity_aum_usd"]})
    return pl.DataFrame(rows)


def _log(context, mlflow: MlflowTracker, targets: ModellingFrame, books: TradingBooks, paths: dict, prefix: str) -> None:
    with mlflow.asset_run(context, targets.data_version) as run:
        metrics = {}
        for r in books.results:
            s = r.summary()
            metrics.update({f"{prefix}{r.name}_net_pnl_usd": s["net_pnl_usd"], f"{prefix}{r.name}_net_sharpe": s["net_sharpe"],
                            f"{prefix}{r.name}_gross_pnl_usd": s["gross_pnl_usd"],
                            f"{prefix}{r.name}_turnover_mean": s["turnover_mean"]})
        run.log_metrics(metrics)
        for path in paths.values():
            run.log_artifact(path, "trading")


@dg.asset(group_name="research")
def portfolio_backtest(context: dg.AssetExecutionContext, config: TradingConfig, feature_snapshots: FeatureSnapshot,
                       targets: ModellingFrame, lightgbm_model: TrainedFamily, ridge_model: TrainedFamily,
                       deep_models: TrainedFamilies, ensemble_weights: EnsembleResult, regime_routing: RoutingResult,
                       mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """Long-short books of every family (OOF dates) and ensemble (held-out dates): gross -> costs -> net, capacity."""
    books = trade_research_books(feature_snapshots.panel, oofs_of(lightgbm_model, ridge_model, deep_models),
                                 ensemble_weights, regime_routing, to_core(config, TradingSpec))
    paths = write_trading_report(books.results, state.reports_dir / "trading")
    _log(context, mlflow, targets, books, paths, "")
    return dg.Output(books, metadata={
        "books": markdown_table(_table(books)),
        "netting": markdown_table(pl.DataFrame([dict(books.netting)])),
        "pnl_lightgbm": image(paths["pnl_lightgbm"]),
        "pnl_blend": image(paths["pnl_blend"]),
        "capacity_lightgbm": image(paths["capacity_lightgbm"]),
        "report": dg.MetadataValue.path(str(paths["html"])),
    })


@dg.asset(group_name="research")
def pnl_attribution(context: dg.AssetExecutionContext, config: AttributionConfig, targets: ModellingFrame,
                    portfolio_backtest: TradingBooks, mlflow: MlflowTracker, state: ProjectState) -> dg.Output:
    """Every book's gross and net PnL split into market, sectors, styles and specific; capacity by net alpha."""
    model = research_factor_model(portfolio_backtest.market, to_core(config, FactorSpec))
    books = attribute_books(portfolio_backtest, model)
    paths = write_trading_report(books.results, state.reports_dir / "trading")
    _log(context, mlflow, targets, books, paths, "attributed_")
    rows = []
    for r in books.results:
        summary = r.summary()["attribution"]
        rows.append({"book": r.name, **{f"gross_{k}": summary["gross"].get(k) for k in ("market", "sector", "style", "specific")},
                     "net_total": summary["net"].get("net", summary["net"].get("total"))})
    return dg.Output(books, metadata={
        "attribution": markdown_table(pl.DataFrame(rows)),
        "books": markdown_table(_table(books)),
        "factors": ", ".join(model.names),
        "attribution_lightgbm": image(paths["attribution_lightgbm"]),
        "report": dg.MetadataValue.path(str(paths["html"])),
    })
