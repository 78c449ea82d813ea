"""Graph attention signal family ("gnn"): each asset's score also listens to its graph neighbours.

The network (:class:`~quant_core.models.torch.gat.GATNet`) scores every asset of a date from
its own standardised features plus attention-weighted messages from its neighbours in that
date's asset graph (:mod:`quant_core.features.asset_graph`: same-sector peers and the top-``k``
trailing-return correlates, built point-in-time). Training, standardisation, target
normalisation and early stopping are those of every torch family
(:class:`~quant_core.models.torch.panel.TorchPanelRegressor`); batches are whole dates, so each
batch holds complete cross-sections and their graphs.

Where the graph's data come from
    The modelling frame holds features and the target, not prices, so the graph needs one of:

    * ``prices``: a panel ``date, asset, close[, sector]`` given at construction (e.g. the
      market panel the features were built from, covering the training and test dates).
      Edges at ``t`` use closes up to ``t`` only; the panel is kept with the model (pickled)
      so ``predict`` on later dates works when it covers them;
    * ``returns_feature``: the name of a column of the frames passed to ``fit``/``predict``
      holding each asset's return known at ``t`` (e.g. a 1-day return feature). The model
      keeps the last ``corr_window_days - 1`` dates it was fitted on so that test dates'
      correlation windows reach into the past.

    Sectors come from ``prices[sector_col]``, else from the frames' ``sector_col``; with
    neither (or ``sector_edges=False``) the graph is correlation-only.

Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from quant_core.features.asset_graph import asset_graph_arrays
from quant_core.models.base import require_columns
from quant_core.models.torch.configs import TorchFamilyConfig, _d
from quant_core.models.torch.data import date_codes, standardised_matrix
from quant_core.models.torch.panel import TorchPanelRegressor

__all__ = ["GNNConfig", "GraphAttentionRegressor"]

_VALUE, _SECTOR = "_graph_value", "_graph_sector"


@dataclass(frozen=True)
class GNNConfig(TorchFamilyConfig):
    """Graph attention over the daily asset graph (sector peers + trailing-return correlates)."""

    hidden_size: int = _d(16, "Width of the node encoder and of each attention layer.")
    n_heads: int = _d(2, "Attention heads per layer (averaged).")
    n_layers: int = _d(1, "Residual graph-attention layers (0 = no message passing: an MLP).")
    dropout: float = _d(0.1, "Dropout on the encoder, the attention weights and each layer.")
    corr_window_days: int = _d(60, "Trailing dates of daily returns per correlation window.")
    corr_min_days: int = _d(20, "Jointly observed returns a pair needs for a correlation edge.")
    top_k: int = _d(5, "Correlation neighbours per asset and date (0 = none).")
    min_corr: float = _d(0.0, "A correlation edge needs a trailing correlation above this.")
    sector_edges: bool = _d(True, "Connect every pair of assets in the same sector.")
    returns_feature: str = _d(
        "",
        "Frame column with each asset's return known at the date, used for the correlations "
        "when no prices panel is given to the model ('' = prices required).",
    )
    sector_col: str = _d("sector", "Column with each asset's sector (in prices or the frames).")

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_graph_params(self.corr_window_days, self.corr_min_days, self.top_k, self.n_heads)


def _check_graph_params(window: int, min_days: int, top_k: int, n_heads: int) -> None:
    if window < 2:
        raise ValueError(f"corr_window_days must be >= 2, got {window}")
    if not 2 <= min_days <= window:
        raise ValueError(f"corr_min_days must be in [2, corr_window_days={window}], got {min_days}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    if n_heads < 1:
        raise ValueError(f"n_heads must be >= 1, got {n_heads}")


class GraphAttentionRegressor(TorchPanelRegressor):
    """Graph attention network over the point-in-time asset graph of each date.

    Parameters
    ----------
    features : sequence of str
    target : str, default "target"
    hidden_size, n_heads, n_layers, dropout
        Network size (see :class:`GNNConfig`).
    corr_window_days, corr_min_days, top_k, min_corr, sector_edges, sector_col
        Graph construction (see :func:`quant_core.features.asset_graph.asset_graph_arrays`).
    returns_feature : str
        Frame column of returns known at each date, used when ``prices`` is None.
    prices : pl.DataFrame, optional
        ``date, asset, close[, sector]`` panel the graph is built from.
    **kwargs
        ``loss``, ``target_norm``, ``trainer``, ``callbacks`` as for every torch family.

    Attributes
    ----------
    mean_degree_ : float
        Mean neighbours per fitted row (self excluded).
    graph_context_ : pl.DataFrame
        With ``returns_feature``: the last ``corr_window_days - 1`` fitted dates of returns
        (and sectors), the past that test dates' correlation windows need.
    Plus those of :class:`~quant_core.models.torch.panel.TorchPanelRegressor`.
    """

    family = "gnn"

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        hidden_size: int = 16,
        n_heads: int = 2,
        n_layers: int = 1,
        dropout: float = 0.1,
        corr_window_days: int = 60,
        corr_min_days: int = 20,
        top_k: int = 5,
        min_corr: float = 0.0,
        sector_edges: bool = True,
        returns_feature: str = "",
        sector_col: str = "sector",
        prices: pl.DataFrame | None = None,
        **kwargs: Any,
    ):
        super().__init__(features, target, seq_len=1, **kwargs)
        self.hidden_size, self.n_heads, self.n_layers = hidden_size, n_heads, n_layers
        self.dropout = dropout
        self.corr_window_days, self.corr_min_days = corr_window_days, corr_min_days
        self.top_k, self.min_corr, self.sector_edges = top_k, min_corr, sector_edges
        self.returns_feature, self.sector_col = returns_feature, sector_col
        self.prices = prices

    # -- family hooks ---------------------------------------------------------------
    def _network_params(self) -> dict[str, Any]:
        return {
            "hidden_size": self.hidden_size,
            "n_heads": self.n_heads,
            "n_layers": self.n_layers,
            "dropout": self.dropout,
            "corr_window_days": self.corr_window_days,
            "corr_min_days": self.corr_min_days,
            "top_k": self.top_k,
            "min_corr": self.min_corr,
            "sector_edges": self.sector_edges,
            "returns_feature": self.returns_feature,
        }

    def _build_network(self, n_features: int) -> Any:
        from quant_core.models.torch.gat import GATNet

        return GATNet(
            n_features, hidden_size=self.hidden_size, n_heads=self.n_heads,
            n_layers=self.n_layers, dropout=self.dropout,
        )  # fmt: skip

    def _check_params(self) -> None:
        super()._check_params()
        _check_graph_params(self.corr_window_days, self.corr_min_days, self.top_k, self.n_heads)
        if self.prices is None and not self.returns_feature:
            raise ValueError(
                "the gnn needs the data of its asset graph: pass prices=<panel with date, asset, "
                "close[, sector]> or returns_feature=<frame column of returns known at the date>"
            )

    # -- the graph's data -----------------------------------------------------------
    def _sectors(self, frames: Sequence[pl.DataFrame]) -> pl.DataFrame | None:
        col = self.sector_col
        if not self.sector_edges or not frames or not all(col in f.columns for f in frames):
            return None
        rows = [
            f.select("date", "asset", pl.col(col).cast(pl.String).alias(_SECTOR)) for f in frames
        ]
        return pl.concat(rows).unique(["date", "asset"], keep="last", maintain_order=True)

    def _graph_source(
        self, frames: Sequence[pl.DataFrame], history: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """``date, asset, _graph_value (close or return)[, _graph_sector]`` for the graph."""
        keys = ["date", "asset"]
        if self.prices is not None:
            require_columns(self.prices, [*keys, "close"], "prices")
            cols = [*keys, pl.col("close").alias(_VALUE)]
            if self.sector_edges and self.sector_col in self.prices.columns:
                cols.append(pl.col(self.sector_col).cast(pl.String).alias(_SECTOR))
                return self.prices.select(cols)
            source = self.prices.select(cols)
            sectors = self._sectors(frames)
            return source if sectors is None else source.join(sectors, on=keys, how="left")
        source = self._returns_source(frames)
        past = [getattr(self, "graph_context_", None)]
        if history is not None and history.height:
            past.append(self._returns_source([history]))
        past = [p for p in past if p is not None]
        if past:
            first = source.get_column("date").min()
            prior = pl.concat(past, how="diagonal_relaxed").filter(pl.col("date") < first)
            prior = prior.unique(keys, keep="last", maintain_order=True)
            source = pl.concat([prior, source], how="diagonal_relaxed")
        return source.sort(keys)

    def _returns_source(self, frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
        keys = ["date", "asset"]
        for f in frames:
            require_columns(f, [*keys, self.returns_feature], "frame")
        parts = [f.select(*keys, pl.col(self.returns_feature).cast(pl.Float64).alias(_VALUE))
                 for f in frames]  # fmt: skip
        source = pl.concat(parts).unique(keys, keep="last", maintain_order=True)
        sectors = self._sectors(frames)
        return source if sectors is None else source.join(sectors, on=keys, how="left")

    def _graph_kwargs(self, source: pl.DataFrame) -> dict[str, Any]:
        prices_mode = self.prices is not None
        return {
            "window_days": self.corr_window_days,
            "min_periods": self.corr_min_days,
            "top_k": self.top_k,
            "min_corr": self.min_corr,
            "sector_edges": self.sector_edges,
            "price_col": _VALUE,
            "returns_col": None if prices_mode else _VALUE,
            "sector_col": _SECTOR if _SECTOR in source.columns else None,
        }

    def _edge_rows(self, combined: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Row positions ``(receiver, sender)`` in ``combined`` of every same-date edge."""
        source = self._graph_input
        dates = combined.get_column("date").unique()
        g = asset_graph_arrays(source, dates=dates, **self._graph_kwargs(source))
        names = pl.Series(g.assets, dtype=pl.String)
        asset = combined.get_column("asset").cast(pl.String)
        a = names.search_sorted(asset).to_numpy().astype(np.int64)
        d = g.dates.search_sorted(combined.get_column("date")).to_numpy().astype(np.int64)
        ok = (a < names.len()) & (d < g.dates.len())
        ok[ok] &= (names.gather(a[ok]) == asset.filter(ok)).to_numpy()
        lookup = np.full((g.dates.len(), max(len(g.assets), 1)), -1, dtype=np.int64)
        lookup[d[ok], a[ok]] = np.flatnonzero(ok)
        dst, src = lookup[g.date_index, g.asset], lookup[g.date_index, g.neighbour]
        keep = (dst >= 0) & (src >= 0)
        return dst[keep], src[keep]

    def _collate(self, combined: pl.DataFrame, y: np.ndarray | None, device: Any):
        import torch

        from quant_core.models.torch.gat import GraphCollate

        X = standardised_matrix(
            combined, self.feature_names_, self.feature_mean_, self.feature_scale_
        )
        dst, src = self._edge_rows(combined)
        self._n_edges = int(dst.size)  # read by fit() for mean_degree_
        collate = GraphCollate(
            torch.from_numpy(X).to(device),
            date_codes(combined),
            dst,
            src,
            None if y is None else torch.from_numpy(y).to(device),
        )
        return collate, (X, dst, src)

    # -- protocol -------------------------------------------------------------------
    def fit(
        self, train: pl.DataFrame, valid: pl.DataFrame | None = None
    ) -> GraphAttentionRegressor:
        """Fit on ``train``; ``valid`` (later, purged dates) early-stops and picks the epoch."""
        self._check_params()
        frames = [train] + ([valid] if valid is not None and valid.height > 0 else [])
        self.__dict__.pop("graph_context_", None)  # a refit starts from its own past
        self._graph_input = self._graph_source(frames)
        try:
            super().fit(train, valid)
        finally:
            source = self.__dict__.pop("_graph_input")
        n_edges = self.__dict__.pop("_n_edges")
        self.mean_degree_ = n_edges / max(self.n_train_rows_ + self.n_valid_rows_, 1)
        if self.prices is None:
            days = source.get_column("date").unique().sort()
            first = days[max(0, days.len() - (self.corr_window_days - 1))]
            self.graph_context_ = source.filter(pl.col("date") >= first)
        return self

    def predict(self, frame: pl.DataFrame, history: pl.DataFrame | None = None) -> np.ndarray:
        """Score every row of ``frame`` (float64, row order kept).

        ``history`` (``date, asset, returns_feature[, sector]``) adds past returns for the
        correlation windows when the model uses ``returns_feature``; ignored with ``prices``.
        """
        if not hasattr(self, "module_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        if frame.height == 0:
            return np.empty(0, dtype=np.float64)
        self._graph_input = self._graph_source([frame], history)
        try:
            return super().predict(frame)
        finally:
            self.__dict__.pop("_graph_input", None)
            self.__dict__.pop("_n_edges", None)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_graph_input", None)
        return state
