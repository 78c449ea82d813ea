"""Turn core results into Dagster metadata: markdown tables, plots, numbers."""

import base64
from pathlib import Path

import dagster as dg
import polars as pl


def markdown_table(frame: pl.DataFrame, float_digits: int = 4, max_rows: int = 30) -> dg.MetadataValue:
    """A polars frame as a markdown table (floats rounded) for the Dagster UI."""
    frame = frame.head(max_rows).with_columns(pl.selectors.float().round(float_digits))
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows()]
    return dg.MetadataValue.md("\n".join([header, rule, *rows]))


def image(path: Path) -> dg.MetadataValue:
    """A PNG embedded in markdown so it shows inline in the asset's metadata."""
    encoded = base64.b64encode(Path(path).read_bytes()).decode()
    return dg.MetadataValue.md(f"![{Path(path).stem}](data:image/png;base64,{encoded})")
