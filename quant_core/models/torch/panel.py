"""The common base of the torch signal families: panel rows in, one score per row out.

Every family scores a row ``(t, a)`` from asset ``a``'s trailing window of standardised
features (the MLP's window is today's row only), trained by the shared
:class:`~quant_core.models.torch.trainer.Trainer`. The preparation is common:

* features are standardised with the mean and std of the **fitting rows only** (never the
  validation or test rows); missing values become 0, the training mean;
* the target is, by default, z-scored within each date (``target_norm="cs_zscore"``): the
  network learns the cross-sectional ranking, not the market's daily move;
* windows are point-in-time (see :mod:`~quant_core.models.torch.data`); a validation row's
  window reaches back into the fitting rows (their features only: the past). The model keeps
  the last ``seq_len - 1`` rows per asset it was fitted on as context, so ``predict`` on a test
  fold alone still sees each asset's past. ``predict(frame, history=...)`` accepts fresher history
  for live scoring.

Importing this module does not import torch; ``fit`` and ``predict`` do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from quant_core.features.preprocessing import StandardScaler
from quant_core.models.base import require_columns, target_vector
from quant_core.models.torch.configs import LOSSES, TARGET_NORMS, TrainerConfig, as_trainer_config
from quant_core.models.torch.data import (
    date_codes,
    prepend_context,
    sequence_windows,
    standardised_matrix,
    trailing_context,
)
from quant_core.targets.cross_section import cs_zscore

__all__ = ["TorchPanelRegressor"]

_UNHASHED = ("progress", "checkpoint_dir", "num_threads")  # do not change the result


def _valid_rank_ic(target: np.ndarray, dates: np.ndarray) -> Callable:
    """``valid_metrics`` for the trainer: mean per-date Spearman IC of the validation outputs."""
    from quant_core.validation.ic import ic_series

    def metric(outputs: np.ndarray, data: Any) -> dict[str, float]:
        rows = data.ordered_rows
        frame = pl.DataFrame({"date": dates[rows], "score": outputs, "target": target[rows]})
        ic = ic_series(frame, "score", "target", "spearman", min_assets=2)["ic"]
        return {"valid_rank_ic": float(ic.mean()) if ic.len() else float("nan")}

    return metric


class TorchPanelRegressor:
    """Base class of the torch families; subclasses define the network.

    Parameters
    ----------
    features : sequence of str
    target : str, default "target"
    seq_len : int
        Trailing observations per window, today included.
    loss : {"mse", "ic"}
    target_norm : {"cs_zscore", "none"}
    trainer : TrainerConfig or mapping, optional
        Training knobs (epochs, early stopping, device, seed, checkpoint_dir, ...).
    callbacks : sequence of callable
        Passed to the trainer; each gets every epoch's history record.

    Attributes
    ----------
    module_ : torch.nn.Module
        Fitted network (CPU, eval mode; picklable).
    history_ : list of dict
        Per-epoch ``train_loss``, ``valid_loss``, ``valid_rank_ic``, ``lr``, ``train_seconds``.
    best_epoch_, n_epochs_ : int
    stopped_early_ : bool
    resumed_from_epoch_ : int
    device_ : str
        Device the network was trained on.
    feature_names_ : list of str
    feature_mean_, feature_scale_ : np.ndarray
        Training standardisation.
    context_ : pl.DataFrame
        Last ``seq_len - 1`` fitted rows per asset (``date, asset, features``).
    """

    family = "torch"

    def __init__(
        self,
        features: Sequence[str],
        target: str = "target",
        *,
        seq_len: int = 1,
        loss: str = "mse",
        target_norm: str = "cs_zscore",
        trainer: TrainerConfig | Mapping[str, Any] | None = None,
        callbacks: Sequence[Callable[[dict[str, float]], None]] = (),
    ):
        self.features = list(features)
        self.target = target
        self.seq_len = seq_len
        self.loss = loss
        self.target_norm = target_norm
        self.trainer = trainer
        self.callbacks = tuple(callbacks)

    # -- subclasses ---------------------------------------------------------------
    def _network_params(self) -> dict[str, Any]:
        raise NotImplementedError

    def _build_network(self, n_features: int) -> Any:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------
    def _trainer_config(self) -> TrainerConfig:
        return as_trainer_config(self.trainer)

    def _check_params(self) -> None:
        if not self.features:
            raise ValueError("features must name at least one column, got []")
        if int(self.seq_len) < 1:
            raise ValueError(f"seq_len must be >= 1, got {self.seq_len}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.target_norm not in TARGET_NORMS:
            raise ValueError(f"target_norm must be one of {TARGET_NORMS}, got {self.target_norm!r}")

    def _target(self, frame: pl.DataFrame) -> np.ndarray:
        y = target_vector(frame, self.target)
        if self.target_norm == "cs_zscore":
            z = frame.select(pl.Series("_y", y), pl.col("date")).select(
                cs_zscore("_y", by="date").fill_null(0.0)
            )
            y = z.to_series().to_numpy()
        return y.astype(np.float32)

    def _run_key(self, cfg: TrainerConfig, device: str, arrays: Sequence[np.ndarray]) -> str:
        settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _UNHASHED}
        spec = {
            "family": self.family,
            "features": self.features,
            "seq_len": int(self.seq_len),
            "loss": self.loss,
            "target_norm": self.target_norm,
            "network": self._network_params(),
            "trainer": settings,
            "device": device,
        }
        h = hashlib.blake2b(json.dumps(spec, sort_keys=True, default=str).encode(), digest_size=16)
        for a in arrays:
            h.update(str((a.dtype, a.shape)).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return f"{self.family}-{h.hexdigest()}"

    def _collate(self, combined: pl.DataFrame, y: np.ndarray | None, device: Any):
        """Standardised features, 1-based windows and target on ``device``, as a collate."""
        import torch

        from quant_core.models.torch.batches import SequenceCollate

        X = standardised_matrix(
            combined, self.feature_names_, self.feature_mean_, self.feature_scale_
        )
        X = np.vstack([np.zeros((1, X.shape[1]), dtype=np.float32), X])
        windows = sequence_windows(combined, int(self.seq_len)) + 1
        collate = SequenceCollate(
            torch.from_numpy(X).to(device),
            torch.from_numpy(windows).to(device),
            None if y is None else torch.from_numpy(y).to(device),
        )
        return collate, (X, windows)

    # -- protocol -----------------------------------------------------------------
    def fit(self, train: pl.DataFrame, valid: pl.DataFrame | None = None) -> TorchPanelRegressor:
        """Fit on ``train``; ``valid`` (later, purged dates) early-stops and picks the epoch."""
        from quant_core.models.torch.batches import DateBatches
        from quant_core.models.torch.losses import make_loss
        from quant_core.models.torch.trainer import Trainer

        self._check_params()
        cfg = self._trainer_config()
        if train.height == 0:
            raise ValueError("train frame has 0 rows")
        cols = ["date", "asset", *self.features, self.target]
        require_columns(train, cols, "train")
        parts = [train.select(cols)]
        if valid is not None and valid.height > 0:
            require_columns(valid, cols, "valid")
            parts.append(valid.select(cols).cast(parts[0].schema))
        combined = pl.concat(parts)
        n_train = train.height
        fitted = StandardScaler(tuple(self.features)).fit(train)
        self.feature_names_ = list(self.features)
        self.feature_mean_ = np.array([fitted.mean_[c] for c in self.features])
        self.feature_scale_ = np.array([fitted.std_[c] for c in self.features])
        y = np.concatenate([self._target(p) for p in parts])
        dates = date_codes(combined)
        trainer = Trainer(cfg, callbacks=self.callbacks, name=self.family)
        device = trainer.device
        rows = np.arange(combined.height)
        collate, arrays = self._collate(combined, y, device)
        train_src = DateBatches(dates, rows[:n_train], collate, cfg.dates_per_batch, device)
        valid_src = None
        if combined.height > n_train:
            valid_src = DateBatches(dates, rows[n_train:], collate, cfg.dates_per_batch, device)
        run_key = None
        if cfg.checkpoint_dir:
            run_key = self._run_key(cfg, device.type, [*arrays, y, dates, np.array([n_train])])
        n_features = len(self.features)
        result = trainer.fit(
            lambda: self._build_network(n_features),
            train_src,
            make_loss(self.loss),
            valid_src,
            valid_metrics=_valid_rank_ic(y, dates) if valid_src is not None else None,
            run_key=run_key,
        )
        for name, value in result.fitted_attributes().items():
            setattr(self, name, value)
        self.n_train_rows_ = n_train
        self.n_valid_rows_ = combined.height - n_train
        self.context_ = trailing_context(combined, self.features, int(self.seq_len) - 1)
        return self

    def predict(self, frame: pl.DataFrame, history: pl.DataFrame | None = None) -> np.ndarray:
        """Score every row of ``frame`` (float64, row order kept).

        Parameters
        ----------
        frame : pl.DataFrame
            ``date, asset`` and the features.
        history : pl.DataFrame, optional
            Extra past rows (``date, asset, features``), e.g. the recent days before a live
            scoring date; they take precedence over the context kept from ``fit``. Per asset
            only rows dated before its first row in ``frame`` are used.
        """
        from quant_core.models.torch.batches import DateBatches
        from quant_core.models.torch.trainer import Trainer

        if not hasattr(self, "module_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        require_columns(frame, ["date", "asset", *self.feature_names_], "frame")
        if frame.height == 0:
            return np.empty(0, dtype=np.float64)
        context = self.context_
        if history is not None:
            require_columns(history, ["date", "asset", *self.feature_names_], "history")
            fresh = trailing_context(history, self.feature_names_, history.height)
            context = (
                pl.concat([context.cast(fresh.schema), fresh])
                .unique(["date", "asset"], keep="last", maintain_order=True)
                .sort(["date", "asset"])
            )
        combined, n_ctx = prepend_context(
            frame, context, self.feature_names_, int(self.seq_len) - 1
        )
        cfg = self._trainer_config()
        trainer = Trainer(cfg, name=self.family)
        device = trainer.device
        collate, _ = self._collate(combined, None, device)
        source = DateBatches(
            date_codes(combined),
            np.arange(n_ctx, combined.height),
            collate,
            cfg.dates_per_batch,
            device,
        )
        try:
            out = trainer.predict(self.module_, source)
        finally:
            self.module_.cpu()
        pred = np.empty(frame.height, dtype=np.float64)
        pred[source.ordered_rows - n_ctx] = out
        return pred

    @property
    def evals_result_(self) -> dict[str, dict[str, list[float]]]:
        """Curves in LightGBM's layout: ``{"train": {"loss": [...]}, "valid": {...}}``."""
        if not hasattr(self, "history_"):
            raise AttributeError("evals_result_ exists after fit()")
        from quant_core.models.torch.trainer import history_curves

        return history_curves(self.history_, ("valid_loss", "valid_rank_ic"))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without ``callbacks`` (run-time hooks such as progress reporters)."""
        state = self.__dict__.copy()
        state["callbacks"] = ()
        return state

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._network_params().items())
        name = type(self).__name__
        return f"{name}(n_features={len(self.features)}, seq_len={self.seq_len}, {params})"
