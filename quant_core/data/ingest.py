"""Ingest a user's panel file: read, validate the whole contract, write a versioned snapshot.

``ingest_panel(path, store_dir)`` is what ``qf ingest`` and the landing sensor call. Bad input
raises one :class:`~quant_core.data.contracts.DataContractError` (file, column, expectation,
example rows) before anything is written, and a failure while writing leaves the store
byte-identical (see :mod:`quant_core.data.store`). Rows may arrive in any order: they are stored
sorted by ``(date, asset)``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from quant_core.data.contracts import check_panel
from quant_core.data.expectations import ContractResult, validate_panel
from quant_core.data.quality import QualityThresholds
from quant_core.data.readers import read_frame
from quant_core.data.store import SnapshotStore


@dataclass(frozen=True)
class IngestResult:
    """What one ingest committed (or found already committed)."""

    version: str
    """The store's content version after the ingest: the data version downstream runs carry."""
    previous_version: str | None
    changed: bool
    """False when the file's data was already the store's current version (nothing written)."""
    store: Path
    source: str
    source_sha256: str
    n_rows: int
    dates: tuple[str, ...]
    warnings: tuple[str, ...]
    contract: ContractResult

    def summary(self) -> dict:
        """A JSON-ready summary for the command line and sensor tags."""
        return {"version": self.version, "previous_version": self.previous_version,
                "changed": self.changed, "store": str(self.store), "source": self.source,
                "source_sha256": self.source_sha256, "n_rows": self.n_rows,
                "n_dates": len(self.dates),
                "first_date": self.dates[0] if self.dates else None,
                "last_date": self.dates[-1] if self.dates else None,
                "warnings": list(self.warnings)}


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex), read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def validate_file(path: str | Path, *, today: dt.date | None = None,
                  thresholds: QualityThresholds | None = None,
                  use_great_expectations: bool = True) -> ContractResult:
    """Read ``path`` and evaluate the contract; raises only for unreadable files."""
    panel = read_frame(path)
    return validate_panel(panel, str(path), today=today, thresholds=thresholds,
                          use_great_expectations=use_great_expectations)


def ingest_panel(path: str | Path, store_dir: str | Path, *, today: dt.date | None = None,
                 thresholds: QualityThresholds | None = None, mode: str = "upsert",
                 use_great_expectations: bool = True) -> IngestResult:
    """Validate the panel file at ``path`` and commit it to the snapshot store at ``store_dir``.

    Parameters
    ----------
    path : parquet or CSV long panel (``date``, ``asset``, ``close``, ...).
    store_dir : the store root; created on the first successful ingest.
    today : dates after it fail the contract; defaults to the machine's date.
    thresholds : missing-share limits (see :class:`~quant_core.data.quality.QualityThresholds`).
    mode : ``"upsert"`` (the file's dates replace the same dates, other dates stay) or
        ``"replace"`` (the new version holds only this file).
    use_great_expectations : run the GX suite as well as the polars checks.

    Raises
    ------
    DataContractError
        The file is unreadable or breaks the contract; nothing was written.
    """
    path = Path(path)
    source = str(path)
    panel = read_frame(path)
    check_panel(panel, source, today=today)  # the precise first failure, before anything slow
    result = validate_panel(panel, source, today=today, thresholds=thresholds,
                            use_great_expectations=use_great_expectations)
    result.raise_if_failed()
    panel = panel.sort(["date", "asset"])
    store = SnapshotStore(store_dir)
    previous = store.manifest()
    sha = file_sha256(path)
    manifest, changed = store.write(panel, source=source, source_sha256=sha, mode=mode,
                                    warnings=result.warnings)
    dates = tuple(sorted({d.isoformat() for d in panel["date"].unique().to_list()}))
    return IngestResult(
        version=manifest["version"],
        previous_version=None if previous is None else previous["version"],
        changed=changed, store=store.root, source=source, source_sha256=sha,
        n_rows=panel.height, dates=dates, warnings=result.warnings, contract=result,
    )
