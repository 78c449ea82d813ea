"""Model cards: one markdown page per registered model version.

A card says what a signal model was trained on (data period, universe, features, label), how it
was validated (folds, out-of-sample IC and its significance) and where it should not be trusted,
so a person deciding on a promotion reads one page instead of a run log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["ModelCard", "known_limitations"]

MIN_OOS_DATES = 252  # about one year of business days


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "NaN" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *body])


def known_limitations(
    metrics: Mapping[str, Any],
    *,
    horizon_days: int,
    n_oos_dates: int,
    n_assets: int,
    fold_scheme: str,
    alpha: float = 0.05,
) -> list[str]:
    """Caveats that follow from the numbers: weak significance, short history, small universe."""
    notes = []
    p = metrics.get("p_hac")
    if p is None or not (isinstance(p, (int, float)) and math.isfinite(p)) or p >= alpha:
        notes.append(f"The out-of-sample Rank IC is not significant at {alpha:g} (HAC p = {_fmt(p)}): "
                     "the edge may be noise.")
    if n_oos_dates < MIN_OOS_DATES:
        notes.append(f"Only {n_oos_dates} out-of-sample dates (< {MIN_OOS_DATES}): few market "
                     "regimes are represented in the validation.")
    if n_assets < 100:
        notes.append(f"A small universe ({n_assets} assets): per-date ICs are noisy.")
    if horizon_days > 1:
        notes.append(f"Labels overlap ({horizon_days}-day horizon): daily ICs are autocorrelated; "
                     "only HAC / block-bootstrap significance is meaningful.")
    if fold_scheme == "purged_kfold":
        notes.append("Validated with purged k-fold: test folds precede some training data, "
                     "which a live model never has.")
    notes.append("Scores rank assets within a date; their scale is not an expected return.")
    notes.append("Validated on history only: a shift in feature distributions (see the drift "
                 "reports) or in the market regime voids these numbers.")
    return notes


@dataclass(frozen=True)
class ModelCard:
    """Everything a model card shows; :meth:`to_markdown` renders it.

    Parameters
    ----------
    name, version, family
        Registered model name, version and model family.
    data_version, code_version, config_hash, dagster_run_id
        Lineage: content hash of the data, git commit, hash of the training config, the run.
    train_start, train_end
        First and last feature date of the training frame.
    n_rows, n_dates, n_assets
        Size of the training frame.
    horizon_days, lag_days, target_kind
        The label: ``target_kind`` return from close ``t + lag_days`` to ``t + lag_days +
        horizon_days``.
    features
        Feature columns, in model order.
    params
        Hyperparameters.
    fold_scheme, embargo_days
        How the validation folds were cut.
    folds
        One row per fold (and an ``overall`` row): dates and out-of-sample IC numbers.
    metrics
        Overall out-of-sample numbers (``rank_ic_mean``, ``rank_icir``, ``t_hac``, ``p_hac`` ...).
    limitations
        Known limitations (see :func:`known_limitations`), one sentence each.
    """

    name: str
    version: str
    family: str
    data_version: str
    code_version: str
    config_hash: str
    dagster_run_id: str
    train_start: Any
    train_end: Any
    n_rows: int
    n_dates: int
    n_assets: int
    horizon_days: int
    lag_days: int
    target_kind: str
    features: Sequence[str]
    params: Mapping[str, Any]
    fold_scheme: str
    embargo_days: int
    folds: pl.DataFrame
    metrics: Mapping[str, Any]
    limitations: Sequence[str] = field(default_factory=tuple)

    def to_markdown(self) -> str:
        """The card as markdown: identity, data, label, features, validation, limitations."""
        lines = [
            f"# Model card: {self.name} version {self.version}",
            "",
            (f"Family **{self.family}**, a cross-sectional signal model: it ranks assets by the "
            f"expected {self.target_kind} return from close t+{self.lag_days} to close "
            f"t+{self.lag_days + self.horizon_days} using features known at close t."),
            "",
            "## Lineage",
            "",
            f"- data version: `{self.data_version}`",
            f"- code version: `{self.code_version}`",
            f"- config hash: `{self.config_hash}`",
            f"- Dagster run: `{self.dagster_run_id}`",
            "",
            "## Data",
            "",
            f"- period: {self.train_start} .. {self.train_end} ({self.n_dates} dates)",
            f"- universe: {self.n_assets} assets, {self.n_rows} rows",
            f"- label: {self.target_kind}, horizon {self.horizon_days} day(s), lag {self.lag_days} day(s)",
            "",
            f"## Features ({len(self.features)})",
            "",
            ", ".join(f"`{f}`" for f in self.features),
            "",
            "## Hyperparameters",
            "",
            *[f"- {k}: {_fmt(v)}" for k, v in sorted(self.params.items())],
            "",
            f"## Validation ({self.fold_scheme}, embargo {self.embargo_days} day(s))",
            "",
            _table(self.folds),
            "",
            "Overall out-of-sample numbers:",
            "",
            *[f"- {k}: {_fmt(v)}" for k, v in self.metrics.items()],
            "",
            "## Known limitations",
            "",
            *[f"- {note}" for note in self.limitations],
            "",
        ]
        return "\n".join(lines)
