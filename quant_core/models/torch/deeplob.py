"""DeepLOB classifier ("deeplob"): the direction of the smoothed mid-price from the order book.

The estimator turns order-book snapshots (``timestamp, asset`` and the ``4L`` level columns)
into DeepLOB's inputs, labels and batches, and trains
:class:`~quant_core.models.torch.deeplob_net.DeepLOBNet` with the shared
:class:`~quant_core.models.torch.trainer.Trainer` (cross-entropy, early stopping on the
``valid`` slice, seeding, devices, checkpoints).

* **Inputs**: each sample is the window of the asset's last ``window_events`` snapshots
  (current one last), normalised with a past-only rolling z-score
  (:func:`~quant_core.models.torch.lob_data.normalise_book`). Windows are gathered lazily per
  batch (:class:`~quant_core.models.torch.deeplob_net.WindowBatches`): samples are rows in
  time order, not dates, so this family has its own batcher and ``batch_size`` (the trainer's
  ``dates_per_batch`` is not used).
* **Labels**: the frame's ``target`` column (0 down, 1 stationary, 2 up) when present, else
  :func:`quant_core.targets.lob_labels` on the frame's own mid-price per asset
  (``horizon_events``, ``threshold``, ``smoothing``). Labels are computed within each frame,
  so the last ``horizon_events`` rows of ``train`` have none and are not trained on: no label
  reaches past the end of the training data into ``valid`` or beyond.
* **Warm-up**: the first ``norm_window_events + window_events - 1`` snapshots of each asset
  (in ``train`` + ``valid``) have incomplete normalisation or windows and are not trained on.
  ``valid`` rows use ``train``'s snapshots as their past. The model keeps that many final
  snapshots per asset (``context_``) so ``predict_proba`` on a later frame alone has full
  windows; rows of a frame without such a past get a best-effort probability from zero-padded
  inputs.

Importing this module does not import torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl

from quant_core.models.base import require_columns
from quant_core.models.torch.configs import TrainerConfig, _d, as_trainer_config
from quant_core.models.torch.lob_data import (
    asset_starts,
    book_mid,
    lob_feature_columns,
    normalise_book,
    prepend_book_context,
    sort_book,
)

__all__ = ["DeepLOBClassifier", "DeepLOBConfig", "classification_metrics"]

SMOOTHINGS = ("deeplob", "future_mean", "none")
_UNHASHED = ("progress", "checkpoint_dir", "num_threads")


@dataclass(frozen=True)
class DeepLOBConfig(TrainerConfig):
    """DeepLOB on order-book snapshots (``dates_per_batch`` is unused: see ``batch_size``)."""

    window_events: int = _d(100, "Snapshots per input window (the paper's T), current last.")
    horizon_events: int = _d(10, "Label horizon k in events (mean of the next k mids).")
    threshold: float = _d(
        2e-4, "Relative smoothed mid change beyond which the label is up/down (else stationary)."
    )
    smoothing: str = _d("deeplob", "Label smoothing: 'deeplob', 'future_mean' or 'none'.")
    norm_window_events: int = _d(
        1000, "Earlier snapshots whose mean/std normalise each snapshot (past only)."
    )
    clip_z: float = _d(5.0, "Normalised values are clipped to +-clip_z.")
    conv_channels: int = _d(32, "Channels of the convolution blocks (paper: 32).")
    inception_channels: int = _d(64, "Channels per inception branch (paper: 64).")
    lstm_hidden: int = _d(64, "LSTM state size (paper: 64).")
    batch_size: int = _d(64, "Windows per mini-batch.")

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_params(self)

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`DeepLOBClassifier` (besides ``features``, ``target``)."""
        base = {f.name for f in dataclasses.fields(TrainerConfig)}
        own = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in base
        }
        return {**own, "trainer": self.trainer_config()}


def _check_params(p: Any) -> None:
    checks = [
        (p.window_events >= 1, f"window_events must be >= 1, got {p.window_events}"),
        (p.horizon_events >= 1, f"horizon_events must be >= 1, got {p.horizon_events}"),
        (np.isfinite(p.threshold) and p.threshold >= 0,
         f"threshold must be a finite number >= 0, got {p.threshold}"),
        (p.smoothing in SMOOTHINGS, f"smoothing must be one of {SMOOTHINGS}, got {p.smoothing!r}"),
        (p.norm_window_events >= 2, f"norm_window_events must be >= 2, got {p.norm_window_events}"),
        (p.clip_z > 0, f"clip_z must be > 0, got {p.clip_z}"),
        (p.batch_size >= 1, f"batch_size must be >= 1, got {p.batch_size}"),
        (min(p.conv_channels, p.inception_channels, p.lstm_hidden) >= 1,
         ("conv_channels, inception_channels and lstm_hidden must be >= 1, got "
          f"{p.conv_channels}, {p.inception_channels}, {p.lstm_hidden}")),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    monitor = getattr(p, "monitor", "valid_loss")
    if monitor != "valid_loss":
        raise ValueError(f"deeplob early-stops on 'valid_loss' only, got monitor={monitor!r}")


def _check_valid_follows_train(train: pl.DataFrame, valid: pl.DataFrame) -> None:
    """Per asset, every ``valid`` snapshot must be later than every ``train`` snapshot."""
    last = train.group_by("asset").agg(pl.col("timestamp").max().alias("_last"))
    early = valid.join(last, on="asset", how="inner").filter(pl.col("timestamp") <= pl.col("_last"))
    if early.height:
        raise ValueError(
            f"valid must follow train in time per asset; {early.height} valid rows are not "
            f"later than train's last snapshot, e.g. {early.select('asset', 'timestamp').head(3).rows()}"
        )


def classification_metrics(labels: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 of ``argmax(proba)`` against ``labels`` (classes 0, 1, 2)."""
    pred = np.asarray(proba).argmax(axis=1)
    labels = np.asarray(labels)
    f1 = []
    for c in range(proba.shape[1]):
        tp = np.sum((pred == c) & (labels == c))
        denom = np.sum(pred == c) + np.sum(labels == c)
        f1.append(2 * tp / denom if denom else 0.0)
    accuracy = float(np.mean(pred == labels)) if labels.size else float("nan")
    return {"accuracy": accuracy, "macro_f1": float(np.mean(f1))}


class DeepLOBClassifier:
    """Three-class DeepLOB classifier: ``fit`` / ``predict_proba`` / ``predict``.

    Parameters
    ----------
    features : sequence of str, optional
        The ``4L`` book columns in DeepLOB order (ask price, ask size, bid price, bid size per
        level); default :func:`~quant_core.models.torch.lob_data.lob_feature_columns` (10).
    target : str, default "target"
        Column of given labels; when absent, labels come from :func:`quant_core.targets.lob_labels`.
    window_events, horizon_events, threshold, smoothing, norm_window_events, clip_z,
    conv_channels, inception_channels, lstm_hidden, batch_size
        See :class:`DeepLOBConfig`.
    trainer : TrainerConfig or mapping, optional
    callbacks : sequence of callable

    Attributes
    ----------
    module_ : DeepLOBNet (CPU, eval mode)
    classes_ : np.ndarray ``[0, 1, 2]`` (down, stationary, up)
    class_counts_ : np.ndarray, training windows per class
    history_ : list of dict (``train_loss``, ``valid_loss``, ``valid_accuracy``,
        ``valid_macro_f1``, ...); best_epoch_, n_epochs_, stopped_early_, resumed_from_epoch_,
        device_, n_train_windows_, n_valid_windows_
    context_ : pl.DataFrame, the last snapshots per asset kept for later windows
    """

    family = "deeplob"

    def __init__(
        self,
        features: Sequence[str] | None = None,
        target: str = "target",
        *,
        window_events: int = 100,
        horizon_events: int = 10,
        threshold: float = 2e-4,
        smoothing: str = "deeplob",
        norm_window_events: int = 1000,
        clip_z: float = 5.0,
        conv_channels: int = 32,
        inception_channels: int = 64,
        lstm_hidden: int = 64,
        batch_size: int = 64,
        trainer: TrainerConfig | Mapping[str, Any] | None = None,
        callbacks: Sequence[Callable[[dict[str, float]], None]] = (),
    ):
        self.features = list(features) if features is not None else lob_feature_columns(10)
        self.target = target
        self.window_events, self.horizon_events = window_events, horizon_events
        self.threshold, self.smoothing = threshold, smoothing
        self.norm_window_events, self.clip_z = norm_window_events, clip_z
        self.conv_channels, self.inception_channels = conv_channels, inception_channels
        self.lstm_hidden, self.batch_size = lstm_hidden, batch_size
        self.trainer = trainer
        self.callbacks = tuple(callbacks)

    # -- helpers ------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        names = (
            "window_events",
            "horizon_events",
            "threshold",
            "smoothing",
            "norm_window_events",
            "clip_z",
            "conv_channels",
            "inception_channels",
            "lstm_hidden",
            "batch_size",
        )
        return {n: getattr(self, n) for n in names}

    def _trainer_config(self) -> TrainerConfig:
        return as_trainer_config(self.trainer)

    @property
    def n_levels(self) -> int:
        return len(self.features) // 4

    def _check(self, cfg: TrainerConfig) -> None:
        if not self.features or len(self.features) % 4:
            raise ValueError(
                f"features must be 4 columns per level (ask_px, ask_sz, bid_px, bid_sz), got "
                f"{len(self.features)}"
            )
        _check_params(SimpleNamespace(**self._params(), monitor=cfg.monitor))

    def _build_network(self) -> Any:
        from quant_core.models.torch.deeplob_net import DeepLOBNet

        return DeepLOBNet(
            self.n_levels, self.conv_channels, self.inception_channels, self.lstm_hidden
        )

    def _warmup(self) -> int:
        return int(self.norm_window_events) + int(self.window_events) - 1

    def labels(self, frame: pl.DataFrame) -> np.ndarray:
        """Labels of ``frame``'s rows (int64; -1 where undefined), in ``frame``'s row order."""
        from quant_core.targets import lob_labels

        if self.target in frame.columns:
            y = frame.get_column(self.target).cast(pl.Int64).fill_null(-1).to_numpy()
            if not np.isin(y, (-1, 0, 1, 2)).all():
                raise ValueError(f"target column {self.target!r} must hold 0, 1, 2 or null")
            return y.astype(np.int64)
        ask, bid = self.features[0], self.features[2]
        require_columns(frame, ["timestamp", "asset", ask, bid], "frame")
        sorted_frame, pos = sort_book(frame)
        out = np.full(frame.height, -1, dtype=np.int64)
        starts = np.r_[np.unique(asset_starts(sorted_frame)), sorted_frame.height]
        mid = book_mid(sorted_frame, ask, bid).to_numpy()
        k = int(self.horizon_events)
        for lo, hi in itertools.pairwise(starts):
            lab = lob_labels(mid[lo:hi], k, self.threshold, self.smoothing)[f"label_{k}"]
            out[pos[lo:hi]] = lab.fill_null(-1).to_numpy()
        return out

    def _run_key(self, cfg: TrainerConfig, device: str, arrays: Sequence[np.ndarray]) -> str:
        settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _UNHASHED}
        spec = {"family": self.family, "features": self.features, "target": self.target,
                "params": self._params(), "trainer": settings, "device": device}  # fmt: skip
        h = hashlib.blake2b(json.dumps(spec, sort_keys=True, default=str).encode(), digest_size=16)
        for a in arrays:
            h.update(str((a.dtype, a.shape)).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return f"{self.family}-{h.hexdigest()}"

    def _prepared(self, book: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted book -> (padded normalised matrix, asset starts, order positions)."""
        Z = normalise_book(book, self.features, int(self.norm_window_events), self.clip_z)
        Z = np.vstack([np.zeros((1, Z.shape[1]), dtype=np.float32), Z])
        return Z, asset_starts(book), np.arange(book.height)

    # -- protocol -------------------------------------------------------------------
    def fit(self, train: pl.DataFrame, valid: pl.DataFrame | None = None) -> DeepLOBClassifier:
        """Fit on ``train`` snapshots; ``valid`` (later snapshots) early-stops the training."""
        import torch

        from quant_core.models.torch.deeplob_net import CrossEntropyLoss, WindowBatches
        from quant_core.models.torch.trainer import Trainer

        cfg = self._trainer_config()
        self._check(cfg)
        cols = ["timestamp", "asset", *self.features]
        parts = [train] + ([valid] if valid is not None and valid.height > 0 else [])
        for name, part in zip(("train", "valid"), parts, strict=False):
            require_columns(part, cols, name)
        if len(parts) == 2:
            _check_valid_follows_train(parts[0], parts[1])
        labelled = [
            p.select(cols).with_columns(
                pl.Series("_y", self.labels(p)), pl.lit(i, pl.Int8).alias("_part")
            )
            for i, p in enumerate(parts)
        ]
        book, _ = sort_book(pl.concat(labelled, how="vertical_relaxed"))
        Z, starts, pos = self._prepared(book)
        y = book.get_column("_y").to_numpy()
        part = book.get_column("_part").to_numpy()
        eligible = (y >= 0) & (pos - starts >= self._warmup())
        train_rows = np.flatnonzero(eligible & (part == 0))
        valid_rows = np.flatnonzero(eligible & (part == 1))
        if train_rows.size == 0:
            raise ValueError(
                f"no training windows: every row is in the warm-up of {self._warmup()} events "
                f"per asset or has no label (train has {train.height} rows)"
            )
        trainer = Trainer(cfg, callbacks=self.callbacks, name=self.family)
        device = trainer.device
        X_t = torch.from_numpy(Z).to(device)
        y_t = torch.from_numpy(np.maximum(y, 0)).to(device)

        def make(rows: np.ndarray) -> WindowBatches:
            return WindowBatches(X_t, rows, starts, int(self.window_events), self.batch_size, y_t)

        valid_src = make(valid_rows) if valid_rows.size else None

        def metrics(outputs: np.ndarray, data: Any) -> dict[str, float]:
            scores = classification_metrics(y[data.ordered_rows], outputs.reshape(-1, 3))
            return {f"valid_{k}": v for k, v in scores.items()}

        run_key = None
        if cfg.checkpoint_dir:
            run_key = self._run_key(cfg, device.type, [Z, y, train_rows, valid_rows])
        result = trainer.fit(
            self._build_network,
            make(train_rows),
            CrossEntropyLoss(),
            valid_src,
            valid_metrics=metrics if valid_src is not None else None,
            run_key=run_key,
        )
        for name, value in result.fitted_attributes().items():
            setattr(self, name, value)
        self.classes_ = np.array([0, 1, 2])
        self.class_counts_ = np.bincount(y[train_rows], minlength=3)
        self.n_train_windows_, self.n_valid_windows_ = int(train_rows.size), int(valid_rows.size)
        self.context_ = (
            book.select(cols).group_by("asset", maintain_order=True).tail(self._warmup())
        )
        return self

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        """``(n_rows, 3)`` float64 probabilities of down, stationary, up (row order kept)."""
        import torch

        from quant_core.models.torch.deeplob_net import WindowBatches
        from quant_core.models.torch.trainer import Trainer

        if not hasattr(self, "module_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        require_columns(frame, ["timestamp", "asset", *self.features], "frame")
        if frame.height == 0:
            return np.empty((0, 3), dtype=np.float64)
        combined, n_ctx = prepend_book_context(frame, self.context_, self.features)
        book, order = sort_book(combined)
        Z, starts, _ = self._prepared(book)
        rows = np.flatnonzero(order >= n_ctx)
        cfg = self._trainer_config()
        trainer = Trainer(cfg, name=self.family)
        X_t = torch.from_numpy(Z).to(trainer.device)
        source = WindowBatches(X_t, rows, starts, int(self.window_events), int(self.batch_size))
        try:
            logits = trainer.predict(self.module_, source).reshape(-1, 3)
        finally:
            self.module_.cpu()
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        out = np.empty_like(proba)
        out[order[rows] - n_ctx] = proba
        return out

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Most likely class per row (int64: 0 down, 1 stationary, 2 up)."""
        return self.predict_proba(frame).argmax(axis=1).astype(np.int64)

    @property
    def evals_result_(self) -> dict[str, dict[str, list[float]]]:
        """Curves in LightGBM's layout: ``{"train": {"loss": [...]}, "valid": {...}}``."""
        if not hasattr(self, "history_"):
            raise AttributeError("evals_result_ exists after fit()")
        from quant_core.models.torch.trainer import history_curves

        return history_curves(self.history_, ("valid_loss", "valid_accuracy", "valid_macro_f1"))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["callbacks"] = ()
        return state

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"DeepLOBClassifier(n_levels={self.n_levels}, {params})"
