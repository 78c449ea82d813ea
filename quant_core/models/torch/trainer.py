"""One training loop for every network: early stopping, seeding, devices, AMP, checkpoints.

The trainer knows nothing about finance or architectures. It gets a factory of the network,
a training source of batches, an optional validation source (the inner slice that
``train_foldwise`` carves from the end of the training fold, behind a purge gap: never the
test fold) and a loss, and returns the network with the weights of the best validation epoch.

Reproducibility: the same config and data give bit-identical weights on CPU. Python, NumPy and
torch are seeded before the network is built; batch order comes from its own seeded generator;
deterministic kernels are on. With ``checkpoint_dir`` every epoch ends with an atomic checkpoint
of all state (see :mod:`~quant_core.models.torch.checkpoint`), and a new ``fit`` with the same
``run_key`` continues from it, so a run killed after epoch ``k`` and restarted ends with exactly
the weights of an uninterrupted run.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from quant_core.models.torch.checkpoint import (
    capture_rng_state,
    checkpoint_path,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from quant_core.models.torch.configs import TrainerConfig
from quant_core.models.torch.device import (
    amp_enabled,
    resolve_device,
    seed_everything,
    torch_runtime,
)

__all__ = ["BatchSource", "Loss", "TrainResult", "Trainer"]

Batch = dict[str, Any]


class BatchSource(Protocol):
    """What the trainer iterates: ``n_rows`` samples, batches in generator order."""

    n_rows: int

    def batches(self, generator: torch.Generator | None = None) -> Iterator[Batch]: ...


class Loss(Protocol):
    """``loss(output, batch)`` is the batch's mean; ``units(batch)`` what it is a mean over."""

    name: str

    def __call__(self, output: torch.Tensor, batch: Batch) -> torch.Tensor: ...

    def units(self, batch: Batch) -> int: ...


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`.

    Attributes
    ----------
    module : nn.Module
        The network in eval mode on the training device, holding the best validation epoch's
        weights (the last epoch's when there was no validation source).
    history : list of dict
        One record per epoch: ``epoch`` (1-based), ``train_loss``, ``lr``, ``train_seconds``,
        ``n_train_rows`` and, with validation, ``valid_loss`` plus the validation metrics.
    best_epoch : int
        Epoch whose weights were kept.
    stopped_early : bool
    resumed_from_epoch : int
        Epochs read from a checkpoint rather than trained in this call (0 = fresh start).
    device : str
    """

    module: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    resumed_from_epoch: int
    device: str

    def fitted_attributes(self) -> dict[str, object]:
        """What an estimator keeps after ``fit``: ``module_`` (moved to the CPU), ``history_``,
        ``best_epoch_``, ``n_epochs_``, ``stopped_early_``, ``resumed_from_epoch_``, ``device_``."""
        return {
            "module_": self.module.cpu(),
            "history_": self.history,
            "best_epoch_": self.best_epoch,
            "n_epochs_": len(self.history),
            "stopped_early_": self.stopped_early,
            "resumed_from_epoch_": self.resumed_from_epoch,
            "device_": self.device,
        }


def _state_copy(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def _progress_enabled(setting: str) -> bool:
    if setting == "auto":
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return setting == "on"


class _TrainingState:
    """Everything the next epoch depends on; ``state_dict()`` is the checkpoint's payload."""

    def __init__(self, module: nn.Module, cfg: TrainerConfig, device: torch.device, use_amp: bool):
        self.module, self.cfg = module, cfg
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.optimizer = torch.optim.AdamW(
            module.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        self.scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=cfg.max_epochs)
            if cfg.lr_schedule == "cosine"
            else None
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
        self.epoch = 0  # completed epochs
        self.history: list[dict[str, float]] = []
        self.best_score = -math.inf  # signed: larger is better
        self.best_epoch = 0
        self.bad_epochs = 0
        self.stopped = False
        self.best_state: dict[str, torch.Tensor] | None = None

    def update_early_stopping(self, monitored: float) -> None:
        """Track the best epoch (keeping its weights) and stop after ``patience`` misses."""
        score = -monitored if self.cfg.monitor == "valid_loss" else monitored
        if math.isfinite(score) and score > self.best_score + self.cfg.min_delta:
            self.best_score, self.best_epoch, self.bad_epochs = score, self.epoch, 0
            self.best_state = _state_copy(self.module)
        else:
            self.bad_epochs += 1
            self.stopped = bool(self.cfg.patience) and self.bad_epochs >= self.cfg.patience

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "rng": capture_rng_state(self.generator),
            "early_stopping": {
                "best_score": self.best_score,
                "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs,
                "stopped": self.stopped,
                "best_state": self.best_state,
            },
            "history": self.history,
        }

    def load(self, payload: dict[str, Any]) -> None:
        self.module.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        restore_rng_state(payload["rng"], self.generator)
        es = payload["early_stopping"]
        self.best_score, self.best_epoch = float(es["best_score"]), int(es["best_epoch"])
        self.bad_epochs, self.stopped = int(es["bad_epochs"]), bool(es["stopped"])
        self.best_state = es["best_state"]
        self.history = list(payload["history"])
        self.epoch = int(payload["epoch"])


class Trainer:
    """Fit and apply torch networks under one :class:`TrainerConfig`.

    Parameters
    ----------
    config : TrainerConfig, optional
    callbacks : sequence of callable
        Each is called as ``callback(record)`` with the epoch's history record after the
        epoch's checkpoint is written (an exception raised there stops training, resumable).
    name : str
        Label of the progress bar.
    """

    def __init__(
        self,
        config: TrainerConfig | None = None,
        *,
        callbacks: Sequence[Callable[[dict[str, float]], None]] = (),
        name: str = "train",
    ):
        self.config = config if config is not None else TrainerConfig()
        if not isinstance(self.config, TrainerConfig):
            raise TypeError(f"config must be a TrainerConfig, got {type(self.config).__name__}")
        self.callbacks = tuple(callbacks)
        self.name = name

    @property
    def device(self) -> torch.device:
        """The device ``config.device`` resolves to on this machine."""
        return resolve_device(self.config.device)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        build_module: Callable[[], nn.Module],
        train: BatchSource,
        loss: Loss,
        valid: BatchSource | None = None,
        *,
        valid_metrics: Callable[[np.ndarray, BatchSource], dict[str, float]] | None = None,
        run_key: str | None = None,
    ) -> TrainResult:
        """Train a network built by ``build_module()`` (called after seeding).

        Parameters
        ----------
        build_module : callable
            Returns a fresh ``nn.Module``; ``module(*batch["inputs"])`` gives the output.
        train, valid : BatchSource
            ``valid`` drives early stopping and best-epoch selection; never pass test rows.
        loss : Loss
        valid_metrics : callable, optional
            ``valid_metrics(outputs, valid) -> {"valid_rank_ic": ...}`` on the validation
            outputs in ``valid``'s unshuffled order; recorded in the history and usable as
            ``config.monitor``.
        run_key : str, optional
            Fingerprint of (data, config); required with ``config.checkpoint_dir``, it names
            the checkpoint folder so a different run never resumes this one.
        """
        cfg = self.config
        if train.n_rows == 0:
            raise ValueError("train source has 0 rows")
        if cfg.checkpoint_dir and not run_key:
            raise ValueError("checkpoint_dir is set, so fit() needs a run_key")
        has_valid = valid is not None and valid.n_rows > 0
        if has_valid and cfg.monitor != "valid_loss" and valid_metrics is None:
            raise ValueError(f"monitor={cfg.monitor!r} needs valid_metrics that compute it")
        device = self.device
        use_amp = amp_enabled(device, cfg.mixed_precision)
        with torch_runtime(device, cfg.num_threads, cfg.deterministic):
            seed_everything(cfg.seed)
            state = _TrainingState(build_module().to(device), cfg, device, use_amp)
            path = checkpoint_path(cfg.checkpoint_dir, run_key) if cfg.checkpoint_dir else None
            payload = load_checkpoint(path, run_key) if path is not None else None
            if payload is not None:
                state.load(payload)
            resumed_from = state.epoch
            module = state.module

            from tqdm.auto import tqdm

            bar = tqdm(
                total=cfg.max_epochs,
                initial=state.epoch,
                desc=self.name,
                disable=not _progress_enabled(cfg.progress),
                leave=False,
            )
            try:
                while state.epoch < cfg.max_epochs and not state.stopped:
                    state.epoch += 1
                    record = {
                        "epoch": state.epoch,
                        **self._run_epoch(state, train, loss, device, use_amp),
                    }
                    if has_valid:
                        valid_loss, outputs = self._evaluate(
                            module, valid, loss, device, use_amp, collect=valid_metrics is not None
                        )
                        record["valid_loss"] = valid_loss
                        if valid_metrics is not None:
                            record.update(valid_metrics(outputs, valid))
                        state.update_early_stopping(float(record[cfg.monitor]))
                    if state.scheduler is not None:
                        state.scheduler.step()
                    state.history.append(record)
                    if path is not None:
                        save_checkpoint(path, {"run_key": run_key, **state.state_dict()})
                    bar.set_postfix(
                        {k: f"{v:.4g}" for k, v in record.items() if k.endswith(("loss", "ic"))},
                        refresh=False,
                    )
                    bar.update(1)
                    for callback in self.callbacks:
                        callback(record)
            finally:
                bar.close()
            best_epoch = state.epoch
            if has_valid and state.best_state is not None:
                module.load_state_dict(state.best_state)
                best_epoch = state.best_epoch
            module.eval()
        return TrainResult(
            module=module,
            history=copy.deepcopy(state.history),
            best_epoch=best_epoch,
            stopped_early=state.stopped,
            resumed_from_epoch=resumed_from,
            device=str(device),
        )

    def _run_epoch(self, state, train, loss, device, use_amp) -> dict[str, float]:
        cfg = self.config
        module, optimizer, scaler = state.module, state.optimizer, state.scaler
        module.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        units = 0
        started = time.perf_counter()
        for batch in train.batches(state.generator):
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                output = module(*batch["inputs"])
            value = loss(output.float(), batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(value).backward()
            if cfg.grad_clip_norm > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip_norm)
            scaler.step(optimizer)
            scaler.update()
            n = loss.units(batch)
            total += value.detach().double() * n
            units += n
        train_loss = float(total.item()) / max(units, 1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
        if not math.isfinite(train_loss) and not use_amp:
            raise FloatingPointError(
                f"train loss is {train_loss}; lower learning_rate (now {cfg.learning_rate})"
            )
        return {
            "train_loss": train_loss,
            "lr": float(optimizer.param_groups[0]["lr"]),
            "train_seconds": seconds,
            "n_train_rows": float(train.n_rows),
        }

    @torch.no_grad()
    def _evaluate(self, module, data, loss, device, use_amp, collect):
        module.eval()
        total, units, outputs = 0.0, 0, []
        for batch in data.batches(None):
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                output = module(*batch["inputs"])
            output = output.float()
            n = loss.units(batch)
            total += float(loss(output, batch)) * n
            units += n
            if collect:
                outputs.append(output.reshape(-1).cpu())
        values = torch.cat(outputs).numpy().astype(np.float64) if outputs else np.empty(0)
        return total / max(units, 1), values

    # --------------------------------------------------------------- prediction
    def predict(self, module: nn.Module, data: BatchSource) -> np.ndarray:
        """Outputs for ``data`` in its unshuffled batch order (float64, rows first)."""
        device = self.device
        use_amp = amp_enabled(device, self.config.mixed_precision)
        with torch_runtime(device, self.config.num_threads, self.config.deterministic):
            module.to(device).eval()
            parts = []
            with torch.no_grad():
                for batch in data.batches(None):
                    with torch.autocast(
                        device_type=device.type, dtype=torch.float16, enabled=use_amp
                    ):
                        out = module(*batch["inputs"])
                    parts.append(out.float().reshape(out.shape[0], -1).cpu())
        if not parts:
            return np.empty(0, dtype=np.float64)
        out = torch.cat(parts).numpy().astype(np.float64)
        return out[:, 0] if out.shape[1] == 1 else out


def history_curves(history: list[dict[str, Any]], valid_keys: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """Per-epoch history as LightGBM's ``evals_result_`` layout: ``{"train": {"loss": [...]}, "valid": {...}}``."""
    curves: dict[str, dict[str, list[float]]] = {"train": {"loss": []}}
    for record in history:
        curves["train"]["loss"].append(record["train_loss"])
        for key in valid_keys:
            if key in record:
                curves.setdefault("valid", {}).setdefault(key.removeprefix("valid_"), []).append(record[key])
    return curves
