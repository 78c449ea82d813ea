"""The daily-panel contract as a Great Expectations suite, plus one result for ingest and checks.

:func:`validate_panel` never raises on bad data: it evaluates every expectation and returns a
:class:`ContractResult` (passed, failures, warnings and a per-expectation table) that a Dagster
asset check can attach as metadata. Ingestion calls :meth:`ContractResult.raise_if_failed`, which
raises one :class:`~quant_core.data.contracts.DataContractError` for the first failure.

Three engines feed the table, in this order:

1. the structural contract (:func:`~quant_core.data.contracts.check_panel`, polars), which stops at
   the first violation with a precise message;
2. the data-quality findings (:mod:`quant_core.data.quality`, polars): missing shares per column
   and per date, survivorship hints, constant and duplicate features;
3. the Great Expectations suite (:func:`build_suite`), run on an in-memory pandas batch through an
   ephemeral context (GX 1.x: pandas data source -> dataframe asset -> whole-dataframe batch ->
   ``batch.validate(suite)``). It re-states the contract in a standard, portable form and reports
   every expectation at once, with counts and example rows.

Great Expectations takes seconds to import, so it is imported inside the functions that use it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from quant_core.data.contracts import (
    MIN_DATE,
    REQUIRED_COLUMNS,
    DataContractError,
    check_panel,
    feature_columns,
    format_rows,
)
from quant_core.data.quality import (
    FAILURE,
    WARNING,
    Outcome,
    QualityThresholds,
    quality_outcomes,
)

_FLOAT_MAX = 1.7976931348623157e308
_NUMERIC_TYPES = ["float64", "float32", "int64", "int32", "int16", "int8",
                  "uint64", "uint32", "uint16", "uint8"]
_DATE_TYPES = ["datetime64", "datetime64[ms]", "datetime64[us]", "datetime64[ns]",
               "datetime64[s]"]
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5,
                  "unexpected_index_column_names": ["date", "asset"]}
TABLE_SCHEMA = {"expectation": pl.String, "column": pl.String, "severity": pl.String,
                "success": pl.Boolean, "observed": pl.String, "unexpected_count": pl.Int64,
                "examples": pl.String, "engine": pl.String}


@dataclass(frozen=True)
class ContractResult:
    """Every expectation evaluated on one panel.

    ``passed`` is False when any failure-severity expectation failed; warnings never fail it.
    ``table`` has one row per expectation: expectation, column, severity, success, observed,
    unexpected_count, examples, engine (``polars`` or ``great_expectations``).
    """

    source: str
    passed: bool
    failures: tuple[str, ...]
    warnings: tuple[str, ...]
    table: pl.DataFrame
    outcomes: tuple[Outcome, ...]

    def raise_if_failed(self) -> None:
        """Raise DataContractError for the first failed expectation (polars checks come first)."""
        for outcome in self.outcomes:
            if outcome.severity == FAILURE and not outcome.success:
                expectation = outcome.expectation
                if outcome.observed:
                    expectation += f" (observed {outcome.observed})"
                raise DataContractError(self.source, outcome.column, expectation, outcome.examples)


def _message(outcome: Outcome) -> str:
    where = f"column '{outcome.column}'" if outcome.column else "table"
    text = f"{where}: {outcome.expectation}"
    return f"{text} (observed {outcome.observed})" if outcome.observed else text


def outcomes_table(outcomes: list[Outcome]) -> pl.DataFrame:
    """The per-expectation table of :class:`ContractResult`."""
    rows = [{"expectation": o.expectation, "column": o.column, "severity": o.severity,
             "success": o.success, "observed": o.observed, "unexpected_count": o.unexpected_count,
             "examples": o.examples, "engine": o.engine} for o in outcomes]
    return pl.DataFrame(rows, schema=TABLE_SCHEMA)


# --------------------------------------------------------------------------- Great Expectations


def build_suite(schema: Mapping[str, pl.DataType], *, today: dt.date | None = None,
                thresholds: QualityThresholds | None = None):
    """The panel contract as a ``great_expectations.ExpectationSuite`` for a panel of ``schema``.

    Critical: required columns exist; ``date`` a datetime between 1900-01-01 and ``today`` and
    non-decreasing (the stored order); ``asset`` strings; ``(date, asset)`` unique; keys and
    ``close`` never missing; prices finite and > 0, ``volume`` finite and >= 0; features finite
    and at most ``max_missing_share_column`` missing. Warning: every feature varies.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    today = today or dt.date.today()
    thresholds = thresholds or QualityThresholds()
    columns = list(schema)
    suite = gx.ExpectationSuite(name="quantflow_daily_panel")
    add = suite.add_expectation
    add(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    for column in REQUIRED_COLUMNS:
        add(gxe.ExpectColumnToExist(column=column))
    if "date" in columns:
        add(gxe.ExpectColumnValuesToBeInTypeList(column="date", type_list=_DATE_TYPES))
        add(gxe.ExpectColumnValuesToNotBeNull(column="date"))
        add(gxe.ExpectColumnValuesToBeBetween(
            column="date", min_value=dt.datetime.combine(MIN_DATE, dt.time()),
            max_value=dt.datetime.combine(today, dt.time())))
        add(gxe.ExpectColumnValuesToBeIncreasing(column="date"))
    if "asset" in columns:
        add(gxe.ExpectColumnValuesToBeInTypeList(column="asset", type_list=["str"]))
        add(gxe.ExpectColumnValuesToNotBeNull(column="asset"))
    if "date" in columns and "asset" in columns:
        add(gxe.ExpectCompoundColumnsToBeUnique(column_list=["date", "asset"]))
    for column in ("open", "high", "low", "close", "volume"):
        if column not in columns:
            continue
        add(gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=_NUMERIC_TYPES))
        lower_strict = column != "volume"
        add(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=lower_strict,
                                              max_value=_FLOAT_MAX))
    if "close" in columns:
        add(gxe.ExpectColumnValuesToNotBeNull(column="close"))
    features = [c for c in columns if c in set(_features_of(schema))]
    mostly = 1.0 - thresholds.max_missing_share_column
    for column in features:
        add(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=-_FLOAT_MAX,
                                              max_value=_FLOAT_MAX))
        add(gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
        add(gxe.ExpectColumnStdevToBeBetween(column=column, min_value=0, strict_min=True,
                                             severity=FailureSeverity.WARNING))
    return suite


def _features_of(schema: Mapping[str, pl.DataType]) -> list[str]:
    return feature_columns(pl.DataFrame(schema=dict(schema)))


def _ge_outcome(result) -> Outcome:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "column",
                                                                   "column_list")}
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    column = config.kwargs.get("column") or ", ".join(config.kwargs.get("column_list") or []) or None
    info = result.exception_info or {}
    details = result.result or {}
    if info.get("raised_exception"):
        observed = f"raised: {str(info.get('exception_message'))[:200]}"
    elif "observed_value" in details:
        observed = str(details["observed_value"])
    elif "unexpected_count" in details:
        observed = f"{details['unexpected_count']} unexpected"
    else:
        observed = ""
    examples = ""
    rows = details.get("partial_unexpected_index_list") or []
    if rows and not result.success:
        examples = format_rows(pl.DataFrame([{k: str(v) for k, v in r.items()} for r in rows]))
    level = getattr(config, "severity", None)
    severity = WARNING if getattr(level, "value", level) == "warning" else FAILURE
    return Outcome(expectation=f"{config.type}({args})", column=column,
                   success=bool(result.success), severity=severity, observed=observed,
                   unexpected_count=details.get("unexpected_count"), examples=examples,
                   engine="great_expectations")


def run_great_expectations(panel: pl.DataFrame, *, today: dt.date | None = None,
                           thresholds: QualityThresholds | None = None) -> list[Outcome]:
    """Validate ``panel`` against :func:`build_suite` in an ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = gx.get_context(mode="ephemeral", project_config=config)
        name = f"panel_{uuid.uuid4().hex[:8]}"
        batch = (context.data_sources.add_pandas(name).add_dataframe_asset(name)
                 .add_batch_definition_whole_dataframe("whole")
                 .get_batch(batch_parameters={"dataframe": panel.to_pandas()}))
        suite = build_suite(panel.schema, today=today, thresholds=thresholds)
        result_format = dict(_RESULT_FORMAT)
        keys = [c for c in ("date", "asset") if c in panel.columns]
        result_format["unexpected_index_column_names"] = keys
        validation = batch.validate(suite, result_format=result_format)
    order = {e.id: i for i, e in enumerate(suite.expectations)}
    results = sorted(validation.results, key=lambda r: order.get(r.expectation_config.id, 0))
    return [_ge_outcome(r) for r in results]


# ------------------------------------------------------------------------------------ together


def validate_panel(panel: pl.DataFrame, source: str = "<panel>", *,
                   today: dt.date | None = None, thresholds: QualityThresholds | None = None,
                   use_great_expectations: bool = True) -> ContractResult:
    """Evaluate the whole daily-panel contract on ``panel`` without raising.

    Parameters
    ----------
    panel : a long frame as read by :func:`~quant_core.data.readers.read_frame` (any row order:
        it is validated sorted by ``(date, asset)``, the order ingest stores).
    source : the file name quoted in messages.
    today : dates after it fail; defaults to the machine's date.
    thresholds : missing-share limits and the survivorship horizon.
    use_great_expectations : also run the GX suite (slower: imports GX, converts to pandas).
    """
    outcomes: list[Outcome] = []
    structural_ok = True
    try:
        check_panel(panel, source, today=today)
        outcomes.append(Outcome("structural contract: keys, types, prices, plausible dates",
                                None, True))
    except DataContractError as exc:
        structural_ok = False
        outcomes.append(Outcome(exc.expectation, exc.column, False, examples=exc.examples))
    if structural_ok:
        panel = panel.sort(["date", "asset"])
        outcomes += quality_outcomes(panel, thresholds)
    if use_great_expectations:
        outcomes += run_great_expectations(panel, today=today, thresholds=thresholds)
    failed = [o for o in outcomes if o.severity == FAILURE and not o.success]
    warned = [o for o in outcomes if o.severity == WARNING and not o.success]
    return ContractResult(
        source=source, passed=not failed,
        failures=tuple(_message(o) for o in failed), warnings=tuple(_message(o) for o in warned),
        table=outcomes_table(outcomes), outcomes=tuple(outcomes),
    )
