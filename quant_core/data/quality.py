"""Data-quality findings beyond the structural contract, computed with polars.

Each finding is an :class:`Outcome` (one row of the per-expectation table). Severity decides what
happens on ingest:

- ``"failure"``: the data cannot be trusted as is. A column more than ``max_missing_share_column``
  missing, or a date with more than ``max_missing_share_date`` of its value cells missing (a
  half-delivered file).
- ``"warning"``: worth a look, never blocks. *Survivorship hints*: assets whose last row comes
  before the panel's last date (delisted, renamed, or a feed gap: make sure their final returns
  are in), or, over a long panel, no asset ever leaving (a list of today's constituents is
  survivorship-biased: yesterday's losers are missing). *Constant features* (no information)
  and *duplicate features* (one column repeated under two names). Both are harmless to the data
  itself and tree models shrug them off, so they warn rather than fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from quant_core.data.contracts import (
    DataContractError,
    feature_columns,
    format_rows,
)

FAILURE, WARNING = "failure", "warning"


@dataclass(frozen=True)
class QualityThresholds:
    """Limits for the data-quality expectations (shares are fractions in [0, 1])."""

    max_missing_share_column: float = 0.5
    max_missing_share_date: float = 0.5
    survivorship_min_dates: int = 252
    """A panel at least this long (about a year of trading days) in which no asset ever leaves
    gets a survivorship warning."""
    max_abs_excess_log_return: float = 0.25
    """A one-day log return this far from its sector's (else the market's) median is a move worth
    a look: a glitch when it reverts the next day, else an unexplained jump (an unadjusted split
    or spin-off, or news)."""

    def __post_init__(self) -> None:
        for name in ("max_missing_share_column", "max_missing_share_date"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if self.survivorship_min_dates < 1:
            raise ValueError(f"survivorship_min_dates must be >= 1, got "
                             f"{self.survivorship_min_dates}")


@dataclass(frozen=True)
class Outcome:
    """One evaluated expectation: what was expected, whether it held and what was seen."""

    expectation: str
    column: str | None
    success: bool
    severity: str = FAILURE
    observed: str = ""
    unexpected_count: int | None = None
    examples: str = ""
    engine: str = "polars"
    details: dict = field(default_factory=dict, compare=False)


def value_columns(panel: pl.DataFrame) -> list[str]:
    """Price, volume and feature columns: the cells whose missing share is measured."""
    prices = [c for c in ("open", "high", "low", "close", "volume") if c in panel.columns]
    return prices + feature_columns(panel)


def _missing(column: str) -> pl.Expr:
    value = pl.col(column)
    return value.is_null() | value.cast(pl.Float64, strict=False).is_nan().fill_null(False)


def missing_share_by_column(panel: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``column, missing_share``: the share of rows where the column is null or NaN."""
    if not columns:
        return pl.DataFrame(schema={"column": pl.String, "missing_share": pl.Float64})
    shares = panel.select(_missing(c).mean().alias(c) for c in columns).row(0)
    return pl.DataFrame({"column": columns, "missing_share": [float(s) for s in shares]})


def missing_share_by_date(panel: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``date, n_rows, missing_share``: the share of a date's value cells that are missing."""
    if not columns:
        return panel.group_by("date").agg(pl.len().alias("n_rows"),
                                          pl.lit(0.0).alias("missing_share")).sort("date")
    missing_cells = pl.sum_horizontal(_missing(c).cast(pl.Int64) for c in columns)
    return (
        panel.group_by("date")
        .agg(pl.len().alias("n_rows"), missing_cells.sum().alias("missing"))
        .with_columns((pl.col("missing") / (pl.col("n_rows") * len(columns))).alias("missing_share"))
        .drop("missing")
        .sort("date")
    )


def vanished_assets(panel: pl.DataFrame) -> pl.DataFrame:
    """``asset, first_date, last_date, n_rows`` for assets whose last row precedes the last date."""
    last = panel["date"].max()
    return (
        panel.group_by("asset")
        .agg(pl.col("date").min().alias("first_date"), pl.col("date").max().alias("last_date"),
             pl.len().alias("n_rows"))
        .filter(pl.col("last_date") < last)
        .sort(["last_date", "asset"])
    )


def constant_features(panel: pl.DataFrame, features: list[str]) -> list[str]:
    """Features with at most one distinct non-missing value."""
    if not features:
        return []
    counts = panel.select(
        pl.col(c).cast(pl.Float64).fill_nan(None).drop_nulls().n_unique().alias(c)
        for c in features
    ).row(0)
    return [c for c, n in zip(features, counts, strict=True) if n <= 1]


def duplicate_features(panel: pl.DataFrame, features: list[str]) -> list[tuple[str, str]]:
    """Pairs ``(first, later)`` of features whose values are identical row for row."""
    if len(features) < 2:
        return []
    signature = panel.select(
        pl.struct(pl.col(c).cast(pl.Float64).null_count().alias("n"),
                  pl.col(c).cast(pl.Float64).sum().alias("s")).alias(c)
        for c in features
    ).row(0)
    pairs: list[tuple[str, str]] = []
    for j, later in enumerate(features):
        for i in range(j):
            first = features[i]
            if signature[i] == signature[j] and panel[first].cast(pl.Float64).equals(
                    panel[later].cast(pl.Float64), null_equal=True):
                pairs.append((first, later))
                break
    return pairs


def price_anomalies(panel: pl.DataFrame, threshold: float = 0.25) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One-day moves of ``close`` not shared by the asset's sector (or, without sectors, the market).

    Returns ``(glitches, jumps)``: a glitch is a log return more than ``threshold`` from the
    same-day median of its sector that the next day undoes (within half its size), e.g. one bad
    print; a jump is such a move that stays (an unadjusted split or spin-off, or real news). Both
    ``asset, date, next_date, excess_log_return``, largest first.
    """
    empty = pl.DataFrame(schema={"asset": pl.String, "date": pl.Date, "next_date": pl.Date,
                                 "excess_log_return": pl.Float64})
    if "close" not in panel.columns or panel.height < 3:
        return empty, empty
    group = ["date", "sector"] if "sector" in panel.columns else ["date"]
    frame = (panel.select(["date", "asset", "close", *(["sector"] if "sector" in panel.columns else [])])
             .sort(["asset", "date"])
             .with_columns((pl.col("close").log() - pl.col("close").shift(1).over("asset").log()).alias("_lr")))
    frame = frame.with_columns((pl.col("_lr") - pl.col("_lr").median().over(group)).alias("excess_log_return"))
    frame = frame.with_columns(pl.col("excess_log_return").shift(-1).over("asset").alias("_next"),
                               pl.col("date").shift(-1).over("asset").alias("next_date"))
    big = frame.filter(pl.col("excess_log_return").abs() > threshold)
    reverts = (pl.col("_next").is_not_null()
               & ((pl.col("excess_log_return") + pl.col("_next")).abs() < 0.5 * pl.col("excess_log_return").abs()))
    keep = ["asset", "date", "next_date", "excess_log_return"]
    glitches = big.filter(reverts).select(keep)
    undone = glitches.select(["asset", pl.col("next_date").alias("date")])  # the revert day itself
    jumps = big.filter(~reverts).join(undone, on=["asset", "date"], how="anti").select(keep)
    order = pl.col("excess_log_return").abs()
    return glitches.sort(order, descending=True), jumps.sort(order, descending=True)


def _table(frame: pl.DataFrame, n: int = 5) -> str:
    return format_rows(frame.head(n))


def _missing_outcomes(panel: pl.DataFrame, thresholds: QualityThresholds) -> list[Outcome]:
    columns = value_columns(panel)
    outcomes = []
    by_column = missing_share_by_column(panel, columns)
    limit = thresholds.max_missing_share_column
    for column, share in by_column.iter_rows():
        bad = _missing(column)
        outcomes.append(Outcome(
            expectation=f"missing share per column <= {limit:g}", column=column,
            success=share <= limit, observed=f"{share:.3f}",
            unexpected_count=round(share * panel.height),
            examples="" if share <= limit else _table(
                panel.with_row_index("row").filter(bad).select("row", "date", "asset", column)),
        ))
    by_date = missing_share_by_date(panel, columns)
    limit = thresholds.max_missing_share_date
    over = by_date.filter(pl.col("missing_share") > limit)
    worst = float(by_date["missing_share"].max() or 0.0)
    outcomes.append(Outcome(
        expectation=f"missing share per date <= {limit:g}", column="date",
        success=over.height == 0, observed=f"max {worst:.3f}", unexpected_count=over.height,
        examples=_table(over.sort("missing_share", descending=True)) if over.height else "",
    ))
    return outcomes


def _warning_outcomes(panel: pl.DataFrame, thresholds: QualityThresholds) -> list[Outcome]:
    outcomes = []
    gone = vanished_assets(panel)
    n_dates = panel["date"].n_unique()
    outcomes.append(Outcome(
        expectation="assets trade until the last date (survivorship hint)", column="asset",
        success=gone.height == 0, severity=WARNING,
        observed=f"{gone.height} of {panel['asset'].n_unique()} assets stop early",
        unexpected_count=gone.height, examples=_table(gone) if gone.height else "",
        details={"vanished": gone["asset"].to_list()},
    ))
    never_leave = (gone.height == 0 and n_dates >= thresholds.survivorship_min_dates
                   and panel["asset"].n_unique() > 1)
    outcomes.append(Outcome(
        expectation=(f"over {thresholds.survivorship_min_dates}+ dates some asset leaves "
                     "(else the universe may be today's survivors)"),
        column="asset", success=not never_leave, severity=WARNING,
        observed=f"{n_dates} dates, {gone.height} assets leave", unexpected_count=int(never_leave),
    ))
    glitches, jumps = price_anomalies(panel, thresholds.max_abs_excess_log_return)
    jump_text = "one-day price moves not shared by the sector that stay (unadjusted split or spin-off, or news)"
    for kind, found, text in (("glitch", glitches, "one-day price moves that revert the next day (bad prints?)"),
                              ("jump", jumps, jump_text)):
        outcomes.append(Outcome(
            expectation=f"no {text}: |log return - sector median| <= {thresholds.max_abs_excess_log_return:g}",
            column="close", success=found.height == 0, severity=WARNING,
            observed=f"{found.height} {'glitches' if kind == 'glitch' else 'jumps'}: "
            + ", ".join(f"{r['asset']} {r['date']} {r['excess_log_return']:+.2f}" for r in found.head(5).iter_rows(named=True)),
            unexpected_count=found.height, examples=_table(found) if found.height else "",
            details={kind: found.head(50).to_dicts()},
        ))
    features = feature_columns(panel)
    constant = constant_features(panel, features)
    outcomes.append(Outcome(
        expectation="features are not constant", column=", ".join(constant) or None,
        success=not constant, severity=WARNING, observed=f"{len(constant)} constant",
        unexpected_count=len(constant), details={"constant": constant},
    ))
    duplicates = duplicate_features(panel, features)
    outcomes.append(Outcome(
        expectation="features are not duplicates of each other",
        column=", ".join(later for _, later in duplicates) or None,
        success=not duplicates, severity=WARNING,
        observed="; ".join(f"{b} == {a}" for a, b in duplicates) or "none",
        unexpected_count=len(duplicates), details={"duplicates": duplicates},
    ))
    return outcomes


def quality_outcomes(panel: pl.DataFrame,
                     thresholds: QualityThresholds | None = None) -> list[Outcome]:
    """Every data-quality expectation on a structurally valid panel, failures and warnings."""
    thresholds = thresholds or QualityThresholds()
    return _missing_outcomes(panel, thresholds) + _warning_outcomes(panel, thresholds)


def check_quality(panel: pl.DataFrame, source: str = "<panel>",
                  thresholds: QualityThresholds | None = None) -> list[Outcome]:
    """Raise DataContractError on the first failed quality expectation; return the warnings."""
    outcomes = quality_outcomes(panel, thresholds)
    for outcome in outcomes:
        if outcome.severity == FAILURE and not outcome.success:
            raise DataContractError(source, outcome.column,
                                    f"{outcome.expectation} (observed {outcome.observed})",
                                    outcome.examples)
    return [o for o in outcomes if o.severity == WARNING and not o.success]
