"""Leakage audits: is every input known at decision time, are the folds really separated, and
is any feature suspiciously good at predicting its own label window?

Each audit returns a small frozen dataclass with ``passed``, a list of human-readable
``problems`` (naming the feature, fold or example rows) and a polars ``table`` suitable for
asset metadata. Audits never raise on a failed check; they raise only on malformed arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

# ---------------------------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AvailabilityAudit:
    """Point-in-time audit. ``table``: check, column, n_checked, n_violations, examples."""

    passed: bool
    problems: list[str]
    table: pl.DataFrame


@dataclass(frozen=True)
class SplitAudit:
    """Split re-verification. ``table`` has one row per fold: fold, n_train, n_test,
    train_start, train_end, test_start, test_end, n_shared_rows, n_shared_dates,
    n_overlap_rows, n_embargo_rows, passed."""

    passed: bool
    problems: list[str]
    table: pl.DataFrame


@dataclass(frozen=True)
class LeakageAudit:
    """Feature-vs-own-target audit. ``table``: feature, mean_ic, mean_abs_ic, max_abs_ic,
    n_dates, worst_daily_offset, worst_daily_mean_ic, flagged."""

    passed: bool
    flagged_features: list[str]
    table: pl.DataFrame
    problems: list[str] = field(default_factory=list)


def _fmt_rows(frame: pl.DataFrame, n: int = 3) -> str:
    rows = frame.head(n).to_dicts()
    return "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in rows)


# ---------------------------------------------------------------------------------------------
# a. availability
# ---------------------------------------------------------------------------------------------


def audit_availability(
    frame: pl.DataFrame,
    availability_cols: Mapping[str, str],
    decision_time_col: str | None = None,
    close_time: dt.time = dt.time(16, 0),
    label_start_col: str = "label_start",
    max_examples: int = 3,
) -> AvailabilityAudit:
    """Check that every feature was available at the decision time and labels start after it.

    Parameters
    ----------
    frame
        Modelling frame with ``date``, ``asset``, the features and their timestamp columns.
    availability_cols
        ``{feature: column holding the time that feature value became known}``. A ``pl.Date``
        timestamp is available on that whole date; a ``pl.Datetime`` is compared exactly.
    decision_time_col
        Column holding each row's decision time. Default: the close of ``date``, i.e. ``date``
        at ``close_time`` (interpreted in the timestamp column's own time zone, if any).
    label_start_col
        Checked to fall strictly after the decision date (a label that starts on or before the
        decision would include returns the decision could already see). Skipped when absent.

    A feature value with a null timestamp counts as a violation (unknown provenance); a null
    feature value is not checked.
    """
    for feature, ts_col in availability_cols.items():
        for column in (feature, ts_col):
            if column not in frame.columns:
                raise ValueError(f"audit_availability: frame has no column '{column}'")
    indexed = frame.with_row_index("row")
    rows: list[dict] = []
    problems: list[str] = []
    id_cols = [c for c in ("row", "date", "asset") if c in indexed.columns]

    for feature, ts_col in availability_cols.items():
        ts_dtype = indexed.schema[ts_col]
        decision = _decision_expr(indexed, decision_time_col, close_time, ts_dtype)
        checked = pl.col(feature).is_not_null()
        late = checked & (pl.col(ts_col).is_null() | (pl.col(ts_col) > decision))
        bad = indexed.filter(late).select(*id_cols, pl.col(ts_col).alias("available_at"))
        examples = _fmt_rows(bad, max_examples)
        n_checked = indexed.select(checked.sum()).item()
        rows.append(
            {
                "check": "feature_available",
                "column": feature,
                "n_checked": n_checked,
                "n_violations": bad.height,
                "examples": examples,
            }
        )
        if bad.height:
            problems.append(
                f"feature '{feature}': {bad.height} of {n_checked} values were not available at "
                f"the decision time (timestamp column '{ts_col}'), e.g. {examples}"
            )

    if label_start_col in indexed.columns:
        decision_date = (
            pl.col("date") if decision_time_col is None else pl.col(decision_time_col).cast(pl.Date)
        )
        bad = indexed.filter(
            pl.col(label_start_col).is_null() | (pl.col(label_start_col) <= decision_date)
        ).select(*id_cols, label_start_col)
        examples = _fmt_rows(bad, max_examples)
        rows.append(
            {
                "check": "label_after_decision",
                "column": label_start_col,
                "n_checked": indexed.height,
                "n_violations": bad.height,
                "examples": examples,
            }
        )
        if bad.height:
            problems.append(
                f"'{label_start_col}': {bad.height} rows start their label on or before the "
                f"decision date, e.g. {examples}"
            )

    schema = {
        "check": pl.String,
        "column": pl.String,
        "n_checked": pl.Int64,
        "n_violations": pl.Int64,
        "examples": pl.String,
    }
    return AvailabilityAudit(not problems, problems, pl.DataFrame(rows, schema=schema))


def _decision_expr(
    frame: pl.DataFrame, decision_time_col: str | None, close_time: dt.time, ts_dtype
) -> pl.Expr:
    if decision_time_col is not None:
        decision = pl.col(decision_time_col)
        if ts_dtype == pl.Date:
            return decision.cast(pl.Date)
        return decision
    if ts_dtype == pl.Date:
        return pl.col("date")
    if not isinstance(ts_dtype, pl.Datetime):
        raise ValueError(f"availability timestamps must be Date or Datetime, got {ts_dtype}")  # noqa: TRY004
    offset = dt.datetime.combine(dt.date(1970, 1, 1), close_time) - dt.datetime(1970, 1, 1)
    decision = pl.col("date").cast(pl.Datetime(ts_dtype.time_unit)) + pl.lit(offset)
    if ts_dtype.time_zone is not None:
        decision = decision.dt.replace_time_zone(ts_dtype.time_zone)
    return decision


# ---------------------------------------------------------------------------------------------
# b. split verification
# ---------------------------------------------------------------------------------------------


def _as_days(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    try:
        return array.astype("datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be dates, got dtype {array.dtype}") from exc


def _merged_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of closed integer intervals as sorted, disjoint ``[start, end]`` arrays."""
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], np.maximum.accumulate(ends[order])
    new_block = np.r_[True, s[1:] > e[:-1]]
    last_of_block = np.r_[new_block[1:], True]
    return s[new_block], e[last_of_block]


def verify_splits(
    dates,
    label_end,
    splits: Iterable[tuple[np.ndarray, np.ndarray]],
    embargo_days: int = 0,
    max_examples: int = 3,
) -> SplitAudit:
    """Independently re-check train/test splits for leakage.

    For every fold: (1) no row and no date is in both train and test; (2) no train label
    interval ``[date, label_end]`` intersects a test label interval (closed intervals: sharing
    a single day counts), because the train label would contain returns realised inside the
    test period; (3) embargo: no train date lies within ``embargo_days`` unique dates after the
    end of each contiguous block of test dates (serial correlation bleeds past the label end).
    The calendar is ``dates``' sorted unique values. Work is vectorised over unique dates.
    """
    if isinstance(embargo_days, bool) or not isinstance(embargo_days, (int, np.integer)):
        raise ValueError(f"embargo_days must be an integer >= 0, got {embargo_days!r}")  # noqa: TRY004
    if embargo_days < 0:
        raise ValueError(f"embargo_days must be >= 0, got {embargo_days}")
    d = _as_days(dates, "dates")
    e = _as_days(label_end, "label_end")
    if d.shape != e.shape or d.ndim != 1:
        raise ValueError(
            f"dates and label_end must be 1-D of equal length, got {d.shape}, {e.shape}"
        )
    if np.any(e < d):
        raise ValueError(f"label_end precedes date on {int(np.sum(e < d))} rows")
    calendar = np.unique(d)
    date_pos = np.searchsorted(calendar, d)
    d_int, e_int, cal_int = d.astype(np.int64), e.astype(np.int64), calendar.astype(np.int64)
    n = d.size

    rows, problems = [], []
    for fold, (train, test) in enumerate(splits):
        train = np.asarray(train, dtype=np.int64)
        test = np.asarray(test, dtype=np.int64)
        for name, idx in (("train", train), ("test", test)):
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(
                    f"fold {fold}: {name} indices outside [0, {n}), got {idx.min()}..{idx.max()}"
                )
        fold_problems = []
        shared_rows = np.intersect1d(train, test)
        train_pos = np.unique(date_pos[train])
        test_pos = np.unique(date_pos[test])
        shared_dates = calendar[np.intersect1d(train_pos, test_pos)]
        if shared_rows.size:
            fold_problems.append(
                f"{shared_rows.size} rows in both train and test "
                f"(e.g. rows {shared_rows[:max_examples].tolist()})"
            )
        if shared_dates.size:
            fold_problems.append(
                f"{shared_dates.size} dates in both train and test "
                f"(e.g. {_dates(shared_dates[:max_examples])})"
            )

        n_overlap = 0
        if train.size and test.size:
            # Test intervals reduced to one per test date (its longest label), then merged.
            end_by_pos = np.full(calendar.size, np.iinfo(np.int64).min)
            np.maximum.at(end_by_pos, date_pos[test], e_int[test])
            ms, me = _merged_intervals(cal_int[test_pos], end_by_pos[test_pos])
            k = np.searchsorted(ms, e_int[train], side="right") - 1
            hit = (k >= 0) & (me[np.clip(k, 0, None)] >= d_int[train])
            n_overlap = int(hit.sum())
            if n_overlap:
                ex = train[hit][:max_examples]
                fold_problems.append(
                    f"{n_overlap} train rows have label windows overlapping the test windows "
                    f"(e.g. rows {ex.tolist()}: date {_dates(d[ex])}, label_end {_dates(e[ex])})"
                )

        n_embargo = 0
        if embargo_days and train.size and test.size:
            block_end = test_pos[np.r_[test_pos[1:] != test_pos[:-1] + 1, True]]
            diff = np.zeros(calendar.size + 1, dtype=np.int64)
            lo = block_end + 1
            hi = np.minimum(block_end + embargo_days, calendar.size - 1)
            ok = lo <= hi
            np.add.at(diff, lo[ok], 1)
            np.add.at(diff, hi[ok] + 1, -1)
            embargoed = np.cumsum(diff[:-1]) > 0
            in_embargo = embargoed[date_pos[train]]
            n_embargo = int(in_embargo.sum())
            if n_embargo:
                ex = train[in_embargo][:max_examples]
                fold_problems.append(
                    f"{n_embargo} train rows fall within the {embargo_days}-date embargo after a "
                    f"test block (e.g. rows {ex.tolist()}: date {_dates(d[ex])})"
                )

        problems += [f"fold {fold}: {p}" for p in fold_problems]
        rows.append(
            {
                "fold": fold,
                "n_train": int(train.size),
                "n_test": int(test.size),
                "train_start": _first(d, train, min),
                "train_end": _first(d, train, max),
                "test_start": _first(d, test, min),
                "test_end": _first(d, test, max),
                "n_shared_rows": int(shared_rows.size),
                "n_shared_dates": int(shared_dates.size),
                "n_overlap_rows": n_overlap,
                "n_embargo_rows": n_embargo,
                "passed": not fold_problems,
            }
        )
    schema = {
        "fold": pl.Int64,
        "n_train": pl.Int64,
        "n_test": pl.Int64,
        "train_start": pl.Date,
        "train_end": pl.Date,
        "test_start": pl.Date,
        "test_end": pl.Date,
        "n_shared_rows": pl.Int64,
        "n_shared_dates": pl.Int64,
        "n_overlap_rows": pl.Int64,
        "n_embargo_rows": pl.Int64,
        "passed": pl.Boolean,
    }
    table = pl.DataFrame(rows, schema=schema)
    if table.height == 0:
        problems.append("no splits were given")
    return SplitAudit(not problems, problems, table)


def _dates(values: np.ndarray) -> list[str]:
    return [str(x) for x in values]


def _first(d: np.ndarray, idx: np.ndarray, how) -> dt.date | None:
    if idx.size == 0:
        return None
    value = d[idx].min() if how is min else d[idx].max()
    return value.astype(dt.date)


# ---------------------------------------------------------------------------------------------
# c. feature leakage
# ---------------------------------------------------------------------------------------------


def audit_feature_leakage(
    frame: pl.DataFrame,
    features: Sequence[str],
    target: str = "target",
    threshold_abs_ic: float = 0.5,
    threshold_mean_ic: float = 0.3,
    daily_returns: pl.DataFrame | None = None,
    return_col: str = "return",
    threshold_daily_ic: float = 0.3,
    min_assets: int = 10,
) -> LeakageAudit:
    """Flag features implausibly predictive of their own label window.

    Real daily cross-sectional signals have rank ICs of a few percent (0.02-0.10 is excellent);
    a feature that knows the future has ICs an order of magnitude larger. A feature is flagged
    when, over dates with at least ``min_assets`` complete pairs:

    - ``|mean IC| > threshold_mean_ic`` (0.3): e.g. ``target + N(0, std(target))`` has a rank IC
      near 0.69, while a realistic 0.05-IC signal sits far below; or
    - ``mean |IC| > threshold_abs_ic`` (0.5): catches leaks whose sign flips between dates (an
      average of 0 but |IC| near 1 every day). With 10+ assets pure noise has a mean |IC| below
      0.27 and a 0.05-mean signal with ordinary per-date dispersion around 0.1-0.2; or
    - ``daily_returns`` are given and ``|mean IC|`` with any single daily return from ``t + 1``
      through ``label_end`` exceeds ``threshold_daily_ic`` (0.3): a feature that contains one
      future day's return (a one-day look-ahead) is diluted in a multi-day target but obvious
      against that day. The days between ``t`` and ``label_start`` are included on purpose.

    ``max_abs_ic`` is reported but not used: over hundreds of dates one noisy date reaches 0.3+.

    Parameters
    ----------
    daily_returns
        ``date, asset, <return_col>``: the close-to-close return ending at ``date``. The frame
        must then carry ``label_end``.
    """
    for name, value in (
        ("threshold_abs_ic", threshold_abs_ic),
        ("threshold_mean_ic", threshold_mean_ic),
        ("threshold_daily_ic", threshold_daily_ic),
    ):
        if not 0 < value <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {value}")
    if min_assets < 3:
        raise ValueError(f"min_assets must be >= 3, got {min_assets}")
    missing = [c for c in ["date", target, *features] if c not in frame.columns]
    if missing:
        raise ValueError(f"audit_feature_leakage: frame has no column(s) {missing}")

    from quant_core.validation.ic import ic_series  # lazy: importing targets stays light

    daily = _daily_windows(frame, daily_returns, return_col) if daily_returns is not None else None
    rows, flagged, problems = [], [], []
    for feature in features:
        # per-date Rank IC on complete pairs; dates with fewer than min_assets pairs skipped
        ic = ic_series(frame, feature, target, method="spearman", min_assets=min_assets)
        n_dates = ic.height
        stats = (
            ic.select(
                pl.col("ic").mean().alias("mean_ic"),
                pl.col("ic").abs().mean().alias("mean_abs_ic"),
                pl.col("ic").abs().max().alias("max_abs_ic"),
            ).row(0, named=True)
            if n_dates
            else {"mean_ic": None, "mean_abs_ic": None, "max_abs_ic": None}
        )
        worst_offset, worst_daily = None, None
        if daily is not None:
            sub = frame.select("date", "asset", feature).join(
                daily, on=["date", "asset"], how="inner"
            )
            for offset in sorted(sub.get_column("offset").unique().to_list()):
                day_ic = ic_series(
                    sub.filter(pl.col("offset") == offset), feature, "_ret",
                    method="spearman", min_assets=min_assets,
                )
                if day_ic.height:
                    m = day_ic.get_column("ic").mean()
                    if worst_daily is None or abs(m) > abs(worst_daily):
                        worst_offset, worst_daily = int(offset), float(m)
        reasons = []
        if n_dates and abs(stats["mean_ic"]) > threshold_mean_ic:
            reasons.append(f"|mean rank IC| {abs(stats['mean_ic']):.3f} > {threshold_mean_ic}")
        if n_dates and stats["mean_abs_ic"] > threshold_abs_ic:
            reasons.append(f"mean |rank IC| {stats['mean_abs_ic']:.3f} > {threshold_abs_ic}")
        if worst_daily is not None and abs(worst_daily) > threshold_daily_ic:
            reasons.append(
                f"|mean rank IC| {abs(worst_daily):.3f} with the return {worst_offset} dates after "
                f"t > {threshold_daily_ic}"
            )
        if reasons:
            flagged.append(feature)
            problems.append(f"feature '{feature}' looks leaked: " + "; ".join(reasons))
        rows.append(
            {
                "feature": feature,
                **stats,
                "n_dates": n_dates,
                "worst_daily_offset": worst_offset,
                "worst_daily_mean_ic": worst_daily,
                "flagged": bool(reasons),
            }
        )
    schema = {
        "feature": pl.String,
        "mean_ic": pl.Float64,
        "mean_abs_ic": pl.Float64,
        "max_abs_ic": pl.Float64,
        "n_dates": pl.Int64,
        "worst_daily_offset": pl.Int64,
        "worst_daily_mean_ic": pl.Float64,
        "flagged": pl.Boolean,
    }
    return LeakageAudit(not flagged, flagged, pl.DataFrame(rows, schema=schema), problems)


def _daily_windows(
    frame: pl.DataFrame, daily_returns: pl.DataFrame, return_col: str
) -> pl.DataFrame:
    """Long frame ``date, asset, offset, _ret``: each daily return from t+1 through label_end."""
    if "label_end" not in frame.columns:
        raise ValueError("audit_feature_leakage: daily_returns needs a 'label_end' column in frame")
    for column in ("date", "asset", return_col):
        if column not in daily_returns.columns:
            raise ValueError(f"daily_returns has no column '{column}'")
    calendar = (
        pl.concat([frame.get_column("date"), daily_returns.get_column("date")]).unique().sort()
    )
    pos = pl.DataFrame(
        {"_d": calendar, "_p": pl.int_range(calendar.len(), eager=True, dtype=pl.Int64)}
    )
    rows = (
        frame.select("date", "asset", "label_end")
        .join(pos.rename({"_d": "date", "_p": "_p0"}), on="date")
        .join(pos.rename({"_d": "label_end", "_p": "_p1"}), on="label_end")
        .with_columns(pl.int_ranges(1, pl.col("_p1") - pl.col("_p0") + 1).alias("offset"))
        .explode("offset")
        .drop_nulls("offset")
        .with_columns((pl.col("_p0") + pl.col("offset")).alias("_p"))
        .join(pos, on="_p")
    )
    rets = daily_returns.select(
        pl.col("date").alias("_d"), "asset", pl.col(return_col).alias("_ret")
    )
    return rows.join(rets, on=["_d", "asset"]).select(
        "date", "asset", pl.col("offset").cast(pl.Int64), "_ret"
    )
