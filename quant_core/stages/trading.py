"""Stage: what a signal earns after it is traded. A long-short book from the signal, the daily
ledger gross -> net, the attribution of gross and net PnL to factors, the capacity curve, and
the cost members of an ensemble save by trading one combined book."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from quant_core.config_fields import described, same_as
from quant_core.files import finite, write_atomic
from quant_core.portfolio.capacity import DEFAULT_AUM_GRID_USD, capacity_curve, capacity_points
from quant_core.portfolio.construction import (
    ConstructionSpec,
    WeightsResult,
    build_weights,
    weights_from_frame,
)
from quant_core.portfolio.costs import CostModel
from quant_core.portfolio.ledger import LEDGER_COSTS, Backtest, SimulationSpec, simulate
from quant_core.portfolio.market import MarketData

__all__ = [
    "FactorSpec",
    "TradingBooks",
    "TradingResult",
    "TradingSpec",
    "attribute_books",
    "backtest_book",
    "ensemble_netting",
    "paired_net_pnl",
    "research_factor_model",
    "research_market",
    "trade_research_books",
    "write_trading_report",
]


@dataclass(frozen=True)
class TradingSpec:
    """Book construction, execution and costs of a backtest, flat (one run-config section)."""

    aum_usd: float = same_as(SimulationSpec, "aum_usd")
    lag_days: int = same_as(SimulationSpec, "lag_days")
    adjustment_rate: float = same_as(SimulationSpec, "adjustment_rate")
    scheme: Literal["rank", "zscore"] = same_as(ConstructionSpec, "scheme")
    quantile: float | None = same_as(ConstructionSpec, "quantile")
    dollar_neutral: bool = same_as(ConstructionSpec, "dollar_neutral")
    beta_neutral: bool = same_as(ConstructionSpec, "beta_neutral")
    sector_neutral: bool = same_as(ConstructionSpec, "sector_neutral")
    gross_leverage: float = same_as(ConstructionSpec, "gross_leverage")
    max_weight: float = same_as(ConstructionSpec, "max_weight")
    max_adv_fraction: float | None = same_as(ConstructionSpec, "max_adv_fraction")
    half_spread_bps: float = same_as(CostModel, "half_spread_bps")
    spread_estimator: Literal["fixed", "corwin_schultz"] = same_as(CostModel, "spread_estimator")
    commission_bps: float = same_as(CostModel, "commission_bps")
    commission_per_share_usd: float = same_as(CostModel, "commission_per_share_usd")
    impact_coef: float = same_as(CostModel, "impact_coef")
    borrow_bps_per_year: float = same_as(CostModel, "borrow_bps_per_year")
    max_participation: float = same_as(CostModel, "max_participation")
    capacity_grid_usd: tuple[float, ...] = described(DEFAULT_AUM_GRID_USD, "AUM levels of the capacity curve (USD)")

    def _pick(self, owner: type) -> dict[str, Any]:
        """This section's values of ``owner``'s fields (the rest keep ``owner``'s defaults)."""
        names = {f.name for f in dataclasses.fields(self)}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(owner) if f.name in names}

    def construction(self) -> ConstructionSpec:
        return ConstructionSpec(**self._pick(ConstructionSpec))

    def simulation(self) -> SimulationSpec:
        return SimulationSpec(**self._pick(SimulationSpec), costs=CostModel(**self._pick(CostModel)))


@dataclass(frozen=True)
class TradingResult:
    """One book: ledger, attribution (gross and net), capacity curve and its points."""

    name: str
    backtest: Backtest
    attribution: Any | None  # quant_core.portfolio.attribution.Attribution
    net_attribution: pl.DataFrame | None
    capacity: pl.DataFrame
    capacity_points: Mapping[str, float | None]
    max_residual_exposure: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    weights: WeightsResult | None = field(default=None, repr=False)
    """The target weights at ``backtest``'s AUM (attribution re-uses them instead of re-building)."""

    def summary(self) -> dict[str, Any]:
        """The numbers ``qf backtest`` and ``summary.json`` report (USD unless named otherwise)."""
        totals = self.backtest.totals()
        daily = self.backtest.daily
        out: dict[str, Any] = {
            "pnl_usd": totals,
            "gross_pnl_usd": totals["gross"], "net_pnl_usd": totals["net"],
            "costs_usd": {c: totals[c] for c in LEDGER_COSTS},
            "sharpe": {"gross": self.backtest.sharpe("gross"), "net": self.backtest.sharpe("net")},
            "net_sharpe": self.backtest.sharpe("net"),
            "turnover_mean": self.backtest.turnover_mean(),
            "unfilled_usd": float(daily["unfilled_usd"].sum()),
            "breakeven_half_spread_bps": _breakeven_half_spread_bps(totals, float(daily["traded_usd"].sum())),
            "shortfall_usd": {"delay": float(daily["delay"].sum()), **{c: totals[c] for c in ("spread", "impact",
                              "commission")}, "opportunity": float(daily["opportunity"].sum())},
            "capacity_aum_usd": self.capacity_points.get("capacity_aum_usd"),
            "half_sharpe_aum_usd": self.capacity_points.get("half_sharpe_aum_usd"),
            "capacity": self.capacity.to_dicts(),
            "max_residual_exposure": self.max_residual_exposure,
            **dict(self.extra),
        }
        if self.attribution is not None:
            out["attribution"] = {"gross": _column_sums(self.attribution.daily),
                                  "net": _column_sums(self.net_attribution),
                                  "long": _column_sums(self.attribution.long_daily),
                                  "short": _column_sums(self.attribution.short_daily),
                                  "tilt_timing": _column_sums(self.attribution.tilt_timing)}
        return out


def _breakeven_half_spread_bps(totals: Mapping[str, float], traded_usd: float) -> float | None:
    """The half spread (bps) at which the book stops paying: net PnL = 0 with every other cost as charged."""
    if traded_usd <= 0:
        return None
    before_spread = totals["gross"] - totals["impact"] - totals["commission"] - totals["borrow"]
    return before_spread / (traded_usd * 1e-4)


def _column_sums(frame: pl.DataFrame) -> dict[str, float]:
    return {c: float(frame[c].sum()) for c in frame.columns if c != "date" and frame.schema[c].is_numeric()}


def backtest_book(market: MarketData, book: WeightsResult | pl.DataFrame, spec: TradingSpec = TradingSpec(),
                  factor_model: Any | None = None, name: str = "book", kind: Literal["signal", "weights"] = "signal",
                  column: str | None = None) -> TradingResult:
    """Backtest a signal (``date, asset, signal``) or a weight file (``date, asset, weight``).

    The book is rebuilt at each AUM of the capacity grid when its caps depend on dollar volume.
    With ``factor_model`` (``quant_core.portfolio.factors.FactorModel``) gross and net PnL are
    attributed to its factors; net alpha (specific minus costs) then defines capacity.
    """
    weights_at = _weights_at(market, book, spec, kind, column)
    weights = weights_at(spec.aum_usd)
    backtest = simulate(market, weights, spec.simulation())
    return _attributed(market, name, weights_at, weights, backtest, spec, factor_model)


def _weights_at(market: MarketData, book: WeightsResult | pl.DataFrame, spec: TradingSpec,
                kind: Literal["signal", "weights"], column: str | None, built: WeightsResult | None = None) -> Any:
    """The book's weights as a function of AUM: rebuilt per AUM only when its caps use dollar volume.
    ``built`` is the book already built at ``spec.aum_usd``, if any."""
    construction = spec.construction()
    if isinstance(book, WeightsResult):
        return lambda aum: book
    if kind == "weights" or not construction.max_adv_fraction:
        fixed = built or (weights_from_frame(book, market, column or "weight") if kind == "weights" else
                          build_weights(book, market, construction, aum_usd=spec.aum_usd, column=column or "signal"))
        return lambda aum: fixed
    return lambda aum: build_weights(book, market, construction, aum_usd=aum, column=column or "signal")


def _attributed(market: MarketData, name: str, weights_at: Any, weights: WeightsResult, backtest: Backtest,
                spec: TradingSpec, factor_model: Any | None) -> TradingResult:
    """A simulated book's attribution (with a factor model) and capacity curve."""
    from quant_core.portfolio.attribution import attribute_net, attribute_pnl, specific_pnl

    attribution = net = specific = None
    if factor_model is not None:
        attribution = attribute_pnl(market.grid, backtest.held_usd, market.returns, factor_model)
        net = attribute_net(attribution, {c: backtest.column(c) for c in LEDGER_COSTS})

        def specific(held: np.ndarray) -> np.ndarray:
            return specific_pnl(held, market.returns, factor_model)

    curve = capacity_curve(market, weights_at, spec.simulation(), spec.capacity_grid_usd, specific_pnl=specific)
    return TradingResult(name=name, backtest=backtest, attribution=attribution, net_attribution=net,
                         capacity=curve, capacity_points=capacity_points(curve),
                         max_residual_exposure=weights.max_residual_exposure, weights=weights)


def ensemble_netting(market: MarketData, member_signals: Mapping[str, pl.DataFrame], member_weights: Mapping[str, float],
                     spec: TradingSpec = TradingSpec(), column: str = "signal") -> dict[str, float]:
    """What one combined book ``sum_m w_m * book_m`` saves against its members traded separately.

    Separately, each member's trades reach the market on their own: per asset and day the buys of
    all members add up to one buy order and the sells to one sell order, each paying spread,
    commission and impact on its own size, and each member pays borrow on its own shorts. Combined,
    opposing trades cross inside the book (one net order) and opposing positions offset (less
    short to borrow). The difference is the netting saving; it is never negative.
    """
    from quant_core.portfolio.costs import trade_costs
    from quant_core.portfolio.ledger import cost_inputs

    construction, simulation = spec.construction(), spec.simulation()
    books = {m: build_weights(s, market, construction, spec.aum_usd, column) for m, s in member_signals.items()}
    total_w = sum(abs(w) for w in member_weights.values()) or 1.0
    shares = {m: member_weights[m] / total_w for m in books}
    combined_w = sum(shares[m] * books[m].weights for m in books)
    decision = np.logical_or.reduce([b.decision for b in books.values()])
    together = simulate(market, WeightsResult(grid=market.grid, weights=combined_w, decision=decision), simulation)
    buys = np.zeros(market.grid.shape)
    sells = np.zeros(market.grid.shape)
    borrow = 0.0
    for m, b in books.items():
        alone = simulate(market, WeightsResult(grid=market.grid, weights=shares[m] * b.weights, decision=b.decision),
                         simulation)
        buys += np.maximum(alone.trades_usd, 0.0)
        sells += np.maximum(-alone.trades_usd, 0.0)
        borrow += float(alone.daily["borrow"].sum())
    sigma, adv, half_spread = cost_inputs(market, simulation.costs)
    separate = borrow
    for flow in (buys, sells):
        c = trade_costs(flow, market.close, sigma, adv, half_spread, simulation.costs)
        separate += float(np.nansum(c.spread) + np.nansum(c.commission) + np.nansum(c.impact))
    combined = sum(together.totals()[c] for c in LEDGER_COSTS)
    return {"combined_costs_usd": combined, "separate_costs_usd": separate, "saved_usd": separate - combined,
            "saved_share": (separate - combined) / separate if separate > 0 else 0.0}


def write_trading_report(results: Sequence[TradingResult], out_dir: str | Path) -> dict[str, Path]:
    """Per book: ``<name>_daily.parquet`` (every ledger column), the three plots and one HTML page
    with all books (``trading.html``); ``trading.json`` with every summary. Files are written to a
    temporary name and renamed."""
    from quant_core.portfolio.plots import attribution_plot_png, capacity_plot_png, pnl_plot_png
    from quant_core.portfolio.report import trading_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    pngs: dict[str, dict[str, bytes]] = {}
    for result in results:
        write_atomic(out / f"{result.name}_daily.parquet", _parquet_bytes(result.backtest.daily))
        paths[f"{result.name}_daily"] = out / f"{result.name}_daily.parquet"
        images = {"pnl": pnl_plot_png(result.backtest.daily, result.name),
                  "capacity": capacity_plot_png(result.capacity, result.capacity_points, result.name)}
        if result.attribution is not None:
            summary = result.summary()["attribution"]
            images["attribution"] = attribution_plot_png(_components(summary["gross"]), _components(summary["net"]),
                                                         result.name)
        for kind, png in images.items():
            write_atomic(out / f"trading_{kind}_{result.name}.png", png)
            paths[f"{kind}_{result.name}"] = out / f"trading_{kind}_{result.name}.png"
        pngs[result.name] = images
    summaries = {r.name: r.summary() for r in results}
    write_atomic(out / "trading.json", json.dumps(finite(summaries), indent=2, default=str))
    write_atomic(out / "trading.html", trading_html(summaries, pngs))
    paths["json"], paths["html"] = out / "trading.json", out / "trading.html"
    return paths


def _components(sums: Mapping[str, float]) -> dict[str, float]:
    keep = ("market", "sector", "style", "specific", "spread", "impact", "commission", "borrow")
    return {k: v for k, v in sums.items() if k in keep}


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class TradingBooks:
    """The books of one research run: each family on its out-of-fold predictions, the static blend,
    the ridge stack and the routed ensemble on their held-out dates, and the blend's netting saving."""

    market: MarketData
    results: tuple[TradingResult, ...]
    signals: Mapping[str, pl.DataFrame]
    spec: TradingSpec
    netting: Mapping[str, float] = field(default_factory=dict)

    def by_name(self) -> dict[str, TradingResult]:
        return {r.name: r for r in self.results}


def research_market(panel: pl.DataFrame) -> MarketData:
    """The price columns of a research panel on a grid (the snapshot passed its contract)."""
    from quant_core.portfolio.market import market_data

    keep = [c for c in ("date", "asset", "close", "high", "low", "volume", "sector") if c in panel.columns]
    return market_data(panel.select(keep), "feature snapshot")


def _as_signal(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``date, asset, signal``: one value per key (a row tested by several folds gets their mean)."""
    return frame.group_by(["date", "asset"]).agg(pl.col(column).mean().alias("signal")).sort(["date", "asset"])


def trade_research_books(panel: pl.DataFrame, oofs: Mapping[str, pl.DataFrame], ensemble: Any, routing: Any,
                         spec: TradingSpec = TradingSpec()) -> TradingBooks:
    """Backtest every family on its OOF predictions and the ensembles on their held-out dates.

    ``ensemble`` is a :class:`~quant_core.stages.ensemble.EnsembleResult`, ``routing`` a
    :class:`~quant_core.stages.ensemble.RoutingResult`. Capacity here is where the net PnL
    reaches zero; :func:`attribute_books` refines it to net alpha.
    """
    market = research_market(panel)
    signals = {family: _as_signal(oof, "prediction") for family, oof in oofs.items()}
    signals["blend"] = _as_signal(ensemble.signals, "ensemble")
    signals["stacking"] = _as_signal(ensemble.signals, "stacking")
    signals["routed"] = _as_signal(routing.signals, "ensemble")
    results = tuple(backtest_book(market, s, spec, name=name) for name, s in signals.items())
    members = {m: _as_signal(ensemble.signals, m) for m in ensemble.weights}
    netting = ensemble_netting(market, members, ensemble.weights, spec)
    results = tuple(replace_extra(r, {"netting": netting}) if r.name == "blend" else r for r in results)
    return TradingBooks(market=market, results=results, signals=signals, spec=spec, netting=netting)


def replace_extra(result: TradingResult, extra: Mapping[str, Any]) -> TradingResult:
    from dataclasses import replace

    return replace(result, extra={**result.extra, **extra})


def attribute_books(books: TradingBooks, factor_model: Any) -> TradingBooks:
    """Every book's gross and net PnL attributed to ``factor_model``'s factors, and its capacity
    re-measured as the AUM where net alpha (specific PnL minus costs) reaches zero. The ledger at
    the book's own AUM is the one already simulated; only the capacity grid is re-run."""
    results = []
    for r in books.results:
        weights_at = _weights_at(books.market, books.signals[r.name], books.spec, "signal", None, built=r.weights)
        weights = weights_at(books.spec.aum_usd)
        attributed = _attributed(books.market, r.name, weights_at, weights, r.backtest, books.spec, factor_model)
        results.append(replace_extra(attributed, r.extra))
    return TradingBooks(market=books.market, results=tuple(results), signals=books.signals, spec=books.spec,
                        netting=books.netting)


@dataclass(frozen=True)
class FactorSpec:
    """Where the attribution's factor returns come from."""

    factors_path: str = described(
        "", "Kenneth French daily CSV of factor returns; empty = estimated from the panel by daily "
        "cross-sectional regression (market beta, sectors, size, momentum, volatility)")
    beta_window_days: int = described(252, "Trailing days of the point-in-time loadings")


def read_french_factors(paths: str) -> pl.DataFrame:
    """One or several Kenneth French daily files (comma-separated paths, e.g. the three factors and
    momentum), joined on the dates they all cover; a repeated column (RF) is kept once."""
    from quant_core.portfolio.factors import read_french_daily

    frames = [read_french_daily(p.strip()) for p in paths.split(",") if p.strip()]
    out = frames[0]
    for frame in frames[1:]:
        out = out.join(frame.select(["date", *[c for c in frame.columns if c not in out.columns]]), on="date")
    return out.sort("date")


def research_factor_model(market: MarketData, spec: FactorSpec = FactorSpec()) -> Any:
    """The factor model a run attributes with: from ``spec.factors_path`` or estimated from the panel."""
    from quant_core.portfolio.factors import (
        estimate_factor_model,
        factor_model_from_returns,
    )

    if spec.factors_path:
        return factor_model_from_returns(read_french_factors(spec.factors_path), market,
                                         window_days=spec.beta_window_days)
    return estimate_factor_model(market, beta_window_days=spec.beta_window_days)


def paired_net_pnl(panel: pl.DataFrame, champion_oof: pl.DataFrame, challenger_oof: pl.DataFrame,
                   spec: TradingSpec = TradingSpec(), horizon_days: int = 1) -> Any:
    """Both models' out-of-fold predictions traded as the same book on their common rows, and a
    paired one-sided HAC test of the challenger's higher daily net PnL (what the promotion gate
    records beside its Rank IC test)."""
    from dataclasses import replace

    from quant_core.monitoring.promotion import paired_net_test

    champion = _as_signal(champion_oof, "prediction")
    challenger = _as_signal(challenger_oof, "prediction")
    common = champion.select(["date", "asset"]).join(challenger.select(["date", "asset"]), on=["date", "asset"])
    if common.height == 0:
        return paired_net_test(np.empty(0), np.empty(0), horizon_days)
    market = research_market(panel)
    quick = replace(spec, capacity_grid_usd=())
    nets = [backtest_book(market, s.join(common, on=["date", "asset"]), quick).backtest for s in (champion, challenger)]
    active = nets[0].active_days() | nets[1].active_days()
    return paired_net_test(nets[0].column("net")[active], nets[1].column("net")[active], horizon_days)
