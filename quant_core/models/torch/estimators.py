"""Torch signal families behind the ``fit(train, valid)`` / ``predict(frame)`` protocol.

Each family only names its network and knobs; data preparation, training and point-in-time
prediction live in :class:`~quant_core.models.torch.panel.TorchPanelRegressor`. Importing this
module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quant_core.models.torch.panel import TorchPanelRegressor

__all__ = [
    "GRURegressor",
    "LSTMRegressor",
    "MLPRegressor",
    "TCNRegressor",
    "TransformerRegressor",
]


class MLPRegressor(TorchPanelRegressor):
    """Feed-forward network on today's features (:class:`~quant_core.models.torch.mlp.MLPNet`)."""

    family = "mlp"

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        hidden_size: int = 32,
        n_layers: int = 2,
        dropout: float = 0.1,
        **kwargs: Any,
    ):
        super().__init__(features, target, seq_len=1, **kwargs)
        self.hidden_size, self.n_layers, self.dropout = hidden_size, n_layers, dropout

    def _network_params(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, "n_layers": self.n_layers, "dropout": self.dropout}

    def _build_network(self, n_features: int) -> Any:
        from quant_core.models.torch.mlp import MLPNet

        return MLPNet(n_features, **self._network_params())


class _RecurrentRegressor(TorchPanelRegressor):
    cell = "lstm"

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        seq_len: int = 10,
        hidden_size: int = 16,
        n_layers: int = 1,
        dropout: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(features, target, seq_len=seq_len, **kwargs)
        self.hidden_size, self.n_layers, self.dropout = hidden_size, n_layers, dropout

    def _network_params(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, "n_layers": self.n_layers, "dropout": self.dropout}

    def _build_network(self, n_features: int) -> Any:
        from quant_core.models.torch.recurrent import RecurrentNet

        return RecurrentNet(n_features, cell=self.cell, **self._network_params())


class LSTMRegressor(_RecurrentRegressor):
    """LSTM over each asset's trailing ``seq_len`` observations."""

    family = cell = "lstm"


class GRURegressor(_RecurrentRegressor):
    """GRU over each asset's trailing ``seq_len`` observations."""

    family = cell = "gru"


class TCNRegressor(TorchPanelRegressor):
    """Causal dilated convolutions over the trailing window (see ``tcn.TCNNet``)."""

    family = "tcn"

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        seq_len: int = 16,
        channels: int = 16,
        n_levels: int = 3,
        kernel_size: int = 3,
        dropout: float = 0.1,
        **kwargs: Any,
    ):
        super().__init__(features, target, seq_len=seq_len, **kwargs)
        self.channels, self.n_levels = channels, n_levels
        self.kernel_size, self.dropout = kernel_size, dropout

    def _network_params(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "n_levels": self.n_levels,
            "kernel_size": self.kernel_size,
            "dropout": self.dropout,
        }

    def _build_network(self, n_features: int) -> Any:
        from quant_core.models.torch.tcn import TCNNet

        return TCNNet(n_features, **self._network_params())


class TransformerRegressor(TorchPanelRegressor):
    """Transformer encoder over the trailing window, read at today's token."""

    family = "transformer"

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        seq_len: int = 10,
        d_model: int = 16,
        n_heads: int = 2,
        n_layers: int = 1,
        dim_feedforward: int = 32,
        dropout: float = 0.1,
        **kwargs: Any,
    ):
        super().__init__(features, target, seq_len=seq_len, **kwargs)
        self.d_model, self.n_heads, self.n_layers = d_model, n_heads, n_layers
        self.dim_feedforward, self.dropout = dim_feedforward, dropout

    def _network_params(self) -> dict[str, Any]:
        return {
            "d_model": self.d_model,
            "n_heads": self.n_heads,
            "n_layers": self.n_layers,
            "dim_feedforward": self.dim_feedforward,
            "dropout": self.dropout,
        }

    def _build_network(self, n_features: int) -> Any:
        from quant_core.models.torch.transformer import TransformerNet

        return TransformerNet(n_features, int(self.seq_len), **self._network_params())
