"""Config dataclasses of the torch trainer and the torch families (importing this loads no torch).

Every field is described (``metadata={"description": ...}``) so the orchestration's config
classes and the UI show the knobs. A family config is a :class:`TrainerConfig` (the shared
training knobs) plus the loss and the network's own fields; ``model_kwargs()`` splits them
back into the estimator's arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LOSSES",
    "MONITORS",
    "TARGET_NORMS",
    "GRUConfig",
    "LSTMConfig",
    "MLPConfig",
    "TCNConfig",
    "TorchFamilyConfig",
    "TrainerConfig",
    "TransformerConfig",
]

LOSSES = ("mse", "ic")
TARGET_NORMS = ("cs_zscore", "none")
MONITORS = ("valid_loss", "valid_rank_ic")
LR_SCHEDULES = ("constant", "cosine")


def _d(default: Any, description: str) -> Any:
    return field(default=default, metadata={"description": description})


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class TrainerConfig:
    """Knobs of :class:`~quant_core.models.torch.trainer.Trainer`, shared by every network."""

    max_epochs: int = _d(20, "Maximum passes over the training dates.")
    patience: int = _d(
        4, "Early stopping: epochs without validation improvement before stopping (0 disables)."
    )
    min_delta: float = _d(0.0, "Smallest change of the monitored score that counts as progress.")
    monitor: str = _d(
        "valid_loss",
        "Early-stopping score on the inner validation slice: 'valid_loss' (lower is better) "
        "or 'valid_rank_ic' (higher is better).",
    )
    dates_per_batch: int = _d(
        16, "Whole dates per mini-batch (cross-sectional losses need complete dates)."
    )
    learning_rate: float = _d(3e-3, "AdamW learning rate.")
    weight_decay: float = _d(1e-4, "AdamW decoupled weight decay.")
    lr_schedule: str = _d("constant", "'constant' or 'cosine' (annealed over max_epochs).")
    grad_clip_norm: float = _d(1.0, "Clip the gradient's global L2 norm to this (0 disables).")
    seed: int = _d(0, "Seed of weight init, dropout and batch order; fixed seed = same model.")
    device: str = _d("auto", "'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N'.")
    mixed_precision: bool = _d(True, "float16 autocast + gradient scaling; used on CUDA only.")
    num_threads: int = _d(0, "CPU threads for torch; 0 = every core (os.cpu_count()).")
    deterministic: bool = _d(
        True, "Deterministic kernels (bit-identical on CPU; best effort on CUDA)."
    )
    progress: str = _d("auto", "Progress bar: 'auto' (only on a terminal), 'on' or 'off'.")
    checkpoint_dir: str = _d(
        "", "Folder for per-epoch checkpoints; a killed run resumes from it ('' disables)."
    )

    def __post_init__(self) -> None:
        _check(self.max_epochs >= 1, f"max_epochs must be >= 1, got {self.max_epochs}")
        _check(self.patience >= 0, f"patience must be >= 0, got {self.patience}")
        _check(self.min_delta >= 0, f"min_delta must be >= 0, got {self.min_delta}")
        _check(self.monitor in MONITORS, f"monitor must be one of {MONITORS}, got {self.monitor!r}")
        _check(
            self.dates_per_batch >= 1, f"dates_per_batch must be >= 1, got {self.dates_per_batch}"
        )
        _check(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
        _check(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        _check(
            self.lr_schedule in LR_SCHEDULES,
            f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}",
        )
        _check(self.grad_clip_norm >= 0, f"grad_clip_norm must be >= 0, got {self.grad_clip_norm}")
        _check(self.num_threads >= 0, f"num_threads must be >= 0, got {self.num_threads}")
        _check(
            self.progress in ("auto", "on", "off"),
            f"progress must be 'auto', 'on' or 'off', got {self.progress!r}",
        )
        dev = self.device
        _check(
            dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit()),
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {dev!r}",
        )

    def trainer_config(self) -> TrainerConfig:
        """The :class:`TrainerConfig` part of this config (itself for a plain TrainerConfig)."""
        names = [f.name for f in dataclasses.fields(TrainerConfig)]
        return TrainerConfig(**{n: getattr(self, n) for n in names})


@dataclass(frozen=True)
class TorchFamilyConfig(TrainerConfig):
    """Training knobs plus the regression loss of a torch signal family."""

    loss: str = _d(
        "mse",
        "'mse' on the target, or 'ic': minus the per-date Pearson correlation of score and "
        "target (only the cross-sectional ordering and spread matter).",
    )
    target_norm: str = _d(
        "cs_zscore",
        "'cs_zscore': standardise the target within each date before fitting (removes the "
        "market's common move); 'none': raw forward return.",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.loss in LOSSES, f"loss must be one of {LOSSES}, got {self.loss!r}")
        _check(
            self.target_norm in TARGET_NORMS,
            f"target_norm must be one of {TARGET_NORMS}, got {self.target_norm!r}",
        )

    def _network_kwargs(self) -> dict[str, Any]:
        base = {f.name for f in dataclasses.fields(TorchFamilyConfig)}
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in base
        }

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the family's estimator (besides ``features`` and ``target``)."""
        return {
            **self._network_kwargs(),
            "loss": self.loss,
            "target_norm": self.target_norm,
            "trainer": self.trainer_config(),
        }


@dataclass(frozen=True)
class MLPConfig(TorchFamilyConfig):
    """Feed-forward network on the features of the row's own date."""

    hidden_size: int = _d(32, "Units per hidden layer.")
    n_layers: int = _d(2, "Hidden layers.")
    dropout: float = _d(0.1, "Dropout after each hidden layer.")


@dataclass(frozen=True)
class _RecurrentFields(TorchFamilyConfig):
    seq_len: int = _d(10, "Trailing observations of the asset fed to the network (incl. today).")
    hidden_size: int = _d(16, "Recurrent state size.")
    n_layers: int = _d(1, "Stacked recurrent layers.")
    dropout: float = _d(0.0, "Dropout between stacked layers and before the output head.")


@dataclass(frozen=True)
class LSTMConfig(_RecurrentFields):
    """LSTM over each asset's trailing feature sequence."""


@dataclass(frozen=True)
class GRUConfig(_RecurrentFields):
    """GRU over each asset's trailing feature sequence."""


@dataclass(frozen=True)
class TCNConfig(TorchFamilyConfig):
    """Temporal convolutional network (causal dilated convolutions) over the trailing sequence."""

    seq_len: int = _d(16, "Trailing observations of the asset fed to the network (incl. today).")
    channels: int = _d(16, "Channels of every convolution.")
    n_levels: int = _d(3, "Residual blocks; block k dilates by 2**k.")
    kernel_size: int = _d(3, "Convolution width in observations.")
    dropout: float = _d(0.1, "Dropout inside each residual block.")


@dataclass(frozen=True)
class TransformerConfig(TorchFamilyConfig):
    """Transformer encoder over the trailing sequence, read out at the last (today's) token."""

    seq_len: int = _d(10, "Trailing observations of the asset fed to the network (incl. today).")
    d_model: int = _d(16, "Token embedding width.")
    n_heads: int = _d(2, "Attention heads (must divide d_model).")
    n_layers: int = _d(1, "Encoder layers.")
    dim_feedforward: int = _d(32, "Width of each layer's feed-forward block.")
    dropout: float = _d(0.1, "Dropout in attention and feed-forward blocks.")


def as_trainer_config(trainer: TrainerConfig | Mapping[str, Any] | None) -> TrainerConfig:
    """A model's ``trainer`` argument (a config, a mapping of its fields, or None) as a TrainerConfig."""
    if trainer is None:
        return TrainerConfig()
    if isinstance(trainer, TrainerConfig):
        return trainer.trainer_config()
    if isinstance(trainer, Mapping):
        return TrainerConfig(**trainer)
    raise ValueError(f"trainer must be a TrainerConfig, a mapping or None, got {type(trainer).__name__}")
