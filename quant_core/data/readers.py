"""Read a user's daily panel (parquet or CSV) into the canonical polars layout."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from quant_core.data.contracts import DataContractError, check_panel

_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y")


def _parse_dates(panel: pl.DataFrame, source: str) -> pl.DataFrame:
    dtype = panel.schema["date"]
    if dtype == pl.Date:
        return panel
    if isinstance(dtype, pl.Datetime):
        return panel.with_columns(pl.col("date").dt.date())
    if dtype != pl.String:
        raise DataContractError(source, "date", f"values are dates (got dtype {dtype})")
    for fmt in _DATE_FORMATS:
        parsed = pl.col("date").str.strptime(pl.Date, fmt, strict=False)
        out = panel.with_columns(parsed.alias("__parsed"))
        unparsed = out["__parsed"].is_null() & panel["date"].is_not_null()
        if not unparsed.any():
            return out.drop("date").rename({"__parsed": "date"}).select(panel.columns)
    bad = panel.filter(
        pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False).is_null()
    ).head(5)
    raise DataContractError(
        source, "date", f"every value is a date in one format (tried {list(_DATE_FORMATS)})",
        str(bad.select([c for c in ("date", "asset") if c in bad.columns])),
    )


def read_panel(path: str | Path) -> pl.DataFrame:
    """Read and contract-check a daily long panel, returning it sorted by ``(date, asset)``.

    Parameters
    ----------
    path : parquet (``.parquet``/``.pq``) or CSV (``.csv``) file with columns ``date``,
        ``asset``, ``close`` and optional ``open``, ``high``, ``low``, ``volume``, ``sector``
        and numeric feature columns known at each date's close.

    Raises
    ------
    DataContractError
        When the file is missing, unreadable or violates the panel contract.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise DataContractError(source, None, "the file exists")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            panel = pl.read_parquet(path)
        elif suffix == ".csv":
            header = pl.read_csv(path, n_rows=0).columns
            as_text = {c: pl.String for c in ("date", "asset", "sector") if c in header}
            panel = pl.read_csv(path, try_parse_dates=False, infer_schema_length=10_000,
                                schema_overrides=as_text)
        else:
            raise DataContractError(source, None, f"the file is .parquet or .csv (got '{suffix}')")
    except DataContractError:
        raise
    except Exception as exc:  # polars/pyarrow raise many types for corrupt files
        raise DataContractError(source, None, f"the file is readable ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:200]})") from exc
    if "date" in panel.columns:
        panel = _parse_dates(panel, source)
    if "asset" in panel.columns and panel.schema["asset"] != pl.String:
        panel = panel.with_columns(pl.col("asset").cast(pl.String))
    if "sector" in panel.columns and panel.schema["sector"] != pl.String:
        panel = panel.with_columns(pl.col("sector").cast(pl.String))
    check_panel(panel, source)
    return panel.sort(["date", "asset"])
