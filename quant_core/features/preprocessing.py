"""Feature preprocessing that cannot be fitted on test rows by accident.

Design
------
A preprocessing step that *learns* (a scaler's mean and std, an imputer's medians, a sector
neutraliser's sector means, a winsoriser's quantile bounds) leaks the test period if it is fitted
on rows that include it: the test rows' distribution moves the parameters applied to the training
rows. So the API has exactly one way to learn::

    fitted = Preprocessor([MedianImputer(cols), Winsorizer(cols), StandardScaler(cols)]) \\
        .fit(frame, train_idx)          # train_idx is required: explicit row positions
    X_test = fitted.transform(frame[test_idx])

- ``Preprocessor.fit`` requires the training row positions; there is no ``fit_transform`` and
  no default of "all rows". Fitting on every row is still possible (e.g. a final refit before
  live scoring) but has to be written out as ``np.arange(frame.height)``.
- ``fit`` returns a :class:`FittedPreprocessor`: a frozen dataclass whose parameters are read-only
  mappings; it can only ``transform``. Steps are fitted in order, each on the previous steps'
  output for the training rows only.
- Per-date cross-sectional transforms (:class:`CrossSectionalRank`, :class:`CrossSectionalZScore`,
  :class:`CrossSectionalSectorDemean`) learn nothing across dates; they may sit in a pipeline or be
  applied anywhere through :func:`apply_cross_sectional`.

NaN in a float feature is treated as missing (converted to null) before fitting and transforming.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np
import polars as pl

from quant_core.targets.cross_section import cs_rank, cs_zscore

__all__ = [
    "CrossSectionalRank",
    "CrossSectionalSectorDemean",
    "CrossSectionalZScore",
    "FittedMedianImputer",
    "FittedPreprocessor",
    "FittedSectorNeutralizer",
    "FittedStandardScaler",
    "FittedWinsorizer",
    "MedianImputer",
    "Preprocessor",
    "SectorNeutralizer",
    "StandardScaler",
    "Winsorizer",
    "apply_cross_sectional",
]


class FittedStep(Protocol):
    def transform(self, frame: pl.DataFrame) -> pl.DataFrame: ...


class Step(Protocol):
    def fit(self, train: pl.DataFrame) -> FittedStep: ...


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


def _nan_to_null(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    floats = [c for c in columns if frame.schema[c].is_float()]
    return frame.with_columns(pl.col(c).fill_nan(None) for c in floats) if floats else frame


def _check_columns(frame: pl.DataFrame, columns: Sequence[str], step: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{step}: frame has no column(s) {missing}")


def _learnt(values: Mapping[str, float | None], step: str) -> Mapping[str, float]:
    empty = [c for c, v in values.items() if v is None or not np.isfinite(v)]
    if empty:
        raise ValueError(f"{step}: column(s) {empty} have no finite training values to learn from")
    return _frozen({c: float(v) for c, v in values.items()})


def _normalise_columns(step) -> None:
    """Let ``columns`` be given as a str or list; store an immutable tuple."""
    cols = step.columns
    cols = (cols,) if isinstance(cols, str) else tuple(cols)
    if not cols:
        raise ValueError(f"{type(step).__name__} needs at least one column, got none")
    object.__setattr__(step, "columns", cols)


# ------------------------------------------------------------------------------ learning steps


@dataclass(frozen=True)
class StandardScaler:
    """Subtract the training mean and divide by the training std (ddof=0; std 0 -> 1)."""

    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        _normalise_columns(self)

    def fit(self, train: pl.DataFrame) -> FittedStandardScaler:
        _check_columns(train, self.columns, "StandardScaler")
        train = _nan_to_null(train, self.columns)
        stats = train.select(
            *[pl.col(c).cast(pl.Float64).mean().alias(f"m_{c}") for c in self.columns],
            *[pl.col(c).cast(pl.Float64).std(ddof=0).alias(f"s_{c}") for c in self.columns],
        ).row(0, named=True)
        mean = _learnt({c: stats[f"m_{c}"] for c in self.columns}, "StandardScaler")
        std = _learnt({c: stats[f"s_{c}"] for c in self.columns}, "StandardScaler")
        return FittedStandardScaler(
            self.columns, mean, _frozen({c: (s if s > 0 else 1.0) for c, s in std.items()})
        )


@dataclass(frozen=True)
class FittedStandardScaler:
    columns: tuple[str, ...]
    mean_: Mapping[str, float]
    std_: Mapping[str, float]

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        return frame.with_columns(
            ((pl.col(c) - self.mean_[c]) / self.std_[c]).alias(c) for c in self.columns
        )


@dataclass(frozen=True)
class MedianImputer:
    """Fill missing values with the training median."""

    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        _normalise_columns(self)

    def fit(self, train: pl.DataFrame) -> FittedMedianImputer:
        _check_columns(train, self.columns, "MedianImputer")
        train = _nan_to_null(train, self.columns)
        medians = train.select(pl.col(c).cast(pl.Float64).median() for c in self.columns)
        return FittedMedianImputer(
            self.columns, _learnt(medians.row(0, named=True), "MedianImputer")
        )


@dataclass(frozen=True)
class FittedMedianImputer:
    columns: tuple[str, ...]
    median_: Mapping[str, float]

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        return frame.with_columns(
            pl.col(c).cast(pl.Float64).fill_null(self.median_[c]) for c in self.columns
        )


@dataclass(frozen=True)
class SectorNeutralizer:
    """Subtract each sector's training mean (a sector's persistent level is not a signal).

    A sector unseen in training, or a null sector, gets the overall training mean subtracted.
    """

    columns: tuple[str, ...]
    sector_col: str = "sector"

    def __post_init__(self) -> None:
        _normalise_columns(self)

    def fit(self, train: pl.DataFrame) -> FittedSectorNeutralizer:
        _check_columns(train, [*self.columns, self.sector_col], "SectorNeutralizer")
        train = _nan_to_null(train, self.columns)
        overall = _learnt(
            train.select(pl.col(c).cast(pl.Float64).mean() for c in self.columns).row(
                0, named=True
            ),
            "SectorNeutralizer",
        )
        by_sector = (
            train.filter(pl.col(self.sector_col).is_not_null())
            .group_by(self.sector_col)
            .agg(pl.col(c).cast(pl.Float64).mean() for c in self.columns)
        )
        means = {
            c: _frozen(
                {
                    str(s): float(v)
                    for s, v in zip(by_sector[self.sector_col], by_sector[c])
                    if v is not None
                }
            )
            for c in self.columns
        }
        return FittedSectorNeutralizer(self.columns, self.sector_col, _frozen(means), overall)


@dataclass(frozen=True)
class FittedSectorNeutralizer:
    columns: tuple[str, ...]
    sector_col: str
    sector_mean_: Mapping[str, Mapping[str, float]]
    overall_mean_: Mapping[str, float]

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        sector = pl.col(self.sector_col).cast(pl.String)
        return frame.with_columns(
            (
                pl.col(c)
                - sector.replace_strict(
                    dict(self.sector_mean_[c]),
                    default=self.overall_mean_[c],
                    return_dtype=pl.Float64,
                ).fill_null(self.overall_mean_[c])
            ).alias(c)
            for c in self.columns
        )


@dataclass(frozen=True)
class Winsorizer:
    """Clip to the training ``[lower, upper]`` quantiles (pooled over all training rows)."""

    columns: tuple[str, ...]
    lower: float = 0.01
    upper: float = 0.99

    def __post_init__(self) -> None:
        _normalise_columns(self)
        if not 0.0 <= self.lower < self.upper <= 1.0:
            raise ValueError(
                f"Winsorizer quantiles must satisfy 0 <= lower < upper <= 1, "
                f"got ({self.lower}, {self.upper})"
            )

    def fit(self, train: pl.DataFrame) -> FittedWinsorizer:
        _check_columns(train, self.columns, "Winsorizer")
        train = _nan_to_null(train, self.columns)
        q = train.select(
            *[
                pl.col(c).cast(pl.Float64).quantile(self.lower, "linear").alias(f"lo_{c}")
                for c in self.columns
            ],
            *[
                pl.col(c).cast(pl.Float64).quantile(self.upper, "linear").alias(f"hi_{c}")
                for c in self.columns
            ],
        ).row(0, named=True)
        lo = _learnt({c: q[f"lo_{c}"] for c in self.columns}, "Winsorizer")
        hi = _learnt({c: q[f"hi_{c}"] for c in self.columns}, "Winsorizer")
        return FittedWinsorizer(self.columns, lo, hi)


@dataclass(frozen=True)
class FittedWinsorizer:
    columns: tuple[str, ...]
    lower_: Mapping[str, float]
    upper_: Mapping[str, float]

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        return frame.with_columns(
            pl.col(c).clip(self.lower_[c], self.upper_[c]).alias(c) for c in self.columns
        )


# ---------------------------------------------------------------- per-date, nothing learnt


@dataclass(frozen=True)
class CrossSectionalRank:
    """Per-date rank to [0, 1] (or [-0.5, 0.5] when centred). Learns nothing."""

    columns: tuple[str, ...]
    centered: bool = False
    date_col: str = "date"

    def __post_init__(self) -> None:
        _normalise_columns(self)

    def fit(self, train: pl.DataFrame) -> CrossSectionalRank:
        return self

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        return frame.with_columns(cs_rank(c, self.date_col, self.centered) for c in self.columns)


@dataclass(frozen=True)
class CrossSectionalZScore:
    """Per-date z-score (null on a date with no dispersion). Learns nothing."""

    columns: tuple[str, ...]
    date_col: str = "date"

    def __post_init__(self) -> None:
        _normalise_columns(self)

    def fit(self, train: pl.DataFrame) -> CrossSectionalZScore:
        return self

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        return frame.with_columns(cs_zscore(c, self.date_col) for c in self.columns)


@dataclass(frozen=True)
class CrossSectionalSectorDemean:
    """Subtract the same-date sector mean. Learns nothing."""

    columns: tuple[str, ...]
    sector_col: str = "sector"
    date_col: str = "date"

    def __post_init__(self) -> None:
        _normalise_columns(self)

    def fit(self, train: pl.DataFrame) -> CrossSectionalSectorDemean:
        return self

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = _nan_to_null(frame, self.columns)
        by = [self.date_col, self.sector_col]
        return frame.with_columns(
            (pl.col(c) - pl.col(c).mean().over(by)).alias(c) for c in self.columns
        )


_STATELESS = (CrossSectionalRank, CrossSectionalZScore, CrossSectionalSectorDemean)


def apply_cross_sectional(
    frame: pl.DataFrame,
    steps: Sequence[CrossSectionalRank | CrossSectionalZScore | CrossSectionalSectorDemean],
) -> pl.DataFrame:
    """Apply per-date transforms to any rows: they need no fitting and cannot leak across dates."""
    for step in steps:
        if not isinstance(step, _STATELESS):
            raise TypeError(
                f"apply_cross_sectional takes only per-date steps, got {type(step).__name__}; "
                "learning steps go through Preprocessor(...).fit(frame, train_idx)"
            )
        frame = step.transform(frame)
    return frame


# -------------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class FittedPreprocessor:
    """Immutable result of :meth:`Preprocessor.fit`: fitted steps plus what they were fitted on."""

    steps: tuple[FittedStep, ...]
    n_train_rows: int
    train_dates: tuple | None = field(default=None)

    def transform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Apply every fitted step in order to ``frame`` (train, test or live rows alike)."""
        for step in self.steps:
            frame = step.transform(frame)
        return frame


class Preprocessor:
    """An unfitted pipeline of steps. The only way to learn is ``fit(frame, train_idx)``."""

    def __init__(self, steps: Sequence[Step]):
        steps = tuple(steps)
        if not steps:
            raise ValueError("Preprocessor needs at least one step, got none")
        for step in steps:
            if not hasattr(step, "fit"):
                raise TypeError(f"step {step!r} has no fit method")
        self.steps = steps

    def fit(self, frame: pl.DataFrame, train_idx: np.ndarray | Sequence[int]) -> FittedPreprocessor:
        """Fit every step on ``frame[train_idx]`` only and return the frozen fitted pipeline.

        ``train_idx`` are row positions (int) into ``frame``: required, non-empty, unique and in
        range. Test rows are never read, so changing them cannot change a fitted parameter.
        """
        idx = np.asarray(train_idx)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(
                f"train_idx must be a non-empty 1-D array of row positions, got shape {idx.shape}"
            )
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"train_idx must hold integer row positions, got dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= frame.height:
            raise ValueError(
                f"train_idx must lie in [0, {frame.height}), got {idx.min()}..{idx.max()}"
            )
        if np.unique(idx).size != idx.size:
            raise ValueError("train_idx must not repeat a row position")
        train = frame[np.sort(idx)]
        fitted: list[FittedStep] = []
        for step in self.steps:
            fitted_step = step.fit(train)
            train = fitted_step.transform(train)
            fitted.append(fitted_step)
        dates = None
        if "date" in frame.columns:
            dates = (train.get_column("date").min(), train.get_column("date").max())
        return FittedPreprocessor(tuple(fitted), int(idx.size), dates)
