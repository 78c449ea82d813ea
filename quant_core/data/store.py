"""A content-addressed, date-partitioned snapshot store that is never half-written.

Layout under the store root::

    manifest.json                                   the current version (replaced atomically)
    versions/<version>.json                         every manifest ever committed (immutable)
    snapshots/date=YYYY-MM-DD/part-<hash>.parquet   one file per date and content (immutable)

A *version* is a hash of the schema and of every ``(date, partition hash)`` pair, so the same data
always gets the same version, whatever file it came from; it is the data version that tags the
downstream MLflow runs. Partition files are named by their content hash and never overwritten, so
every past version stays readable through its manifest.

A write stages everything in a temporary directory inside the store, then renames the new
partition files into place and replaces ``manifest.json`` last. Readers only follow the manifest,
so until that final rename they see the old version. If anything fails before it, the renamed
files and any directories created are removed again: the store is left byte-identical.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import polars as pl

from quant_core.data.contracts import DataContractError, feature_columns
from quant_core.data.snapshot import content_hash

MANIFEST = "manifest.json"
FORMAT = 1


def _schema(panel: pl.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in panel.schema.items()}


def store_version(columns: dict[str, str], partitions: list[dict]) -> str:
    """The content version: a hash of the schema and the sorted ``(date, hash)`` pairs."""
    payload = {"columns": columns,
               "partitions": sorted([p["date"], p["hash"]] for p in partitions)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def panel_version(panel: pl.DataFrame) -> str:
    """The content version a store holding exactly ``panel`` gives it: ``qf run`` on a file and
    ``qf ingest`` of the same file report the same data version."""
    panel = panel.sort(["date", "asset"])
    parts = [{"date": day.isoformat(), "hash": content_hash(frame)}
             for (day,), frame in panel.partition_by("date", maintain_order=True, as_dict=True).items()]
    return store_version(_schema(panel), parts)


@contextlib.contextmanager
def _locked(root: Path):
    """An exclusive advisory lock on the store directory itself (no lock file is left)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: single-writer by convention
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class SnapshotStore:
    """Date-partitioned panel snapshots under ``root``, versioned by content hash."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ----------------------------------------------------------------------------- reading

    def manifest(self, version: str | None = None) -> dict | None:
        """The current manifest (or that of ``version``); None for an empty store."""
        path = self.root / MANIFEST if version is None else self.root / "versions" / f"{version}.json"
        if not path.exists():
            if version is not None:
                raise KeyError(f"version {version!r} is not in the store at {self.root}")
            return None
        return json.loads(path.read_text())

    def versions(self) -> list[str]:
        """Every committed version, oldest first."""
        folder = self.root / "versions"
        if not folder.exists():
            return []
        manifests = [json.loads(p.read_text()) for p in folder.glob("*.json")]
        return [m["version"] for m in sorted(manifests, key=lambda m: m["created_at"])]

    def scan(self, version: str | None = None) -> pl.LazyFrame:
        """A lazy frame over the partitions of the current version (or of ``version``)."""
        manifest = self.manifest(version)
        if manifest is None:
            raise FileNotFoundError(f"no snapshot has been ingested into {self.root}")
        files = [str(self.root / p["path"]) for p in manifest["partitions"]]
        return pl.scan_parquet(files, hive_partitioning=False)

    def read(self, version: str | None = None) -> pl.DataFrame:
        """The panel of the current version (or of ``version``), sorted by ``(date, asset)``."""
        return self.scan(version).collect()

    # ----------------------------------------------------------------------------- writing

    def write(self, panel: pl.DataFrame, *, source: str, source_sha256: str = "",
              mode: str = "upsert", warnings: tuple[str, ...] = ()) -> tuple[dict, bool]:
        """Commit ``panel`` (sorted, contract-checked) as a new version; return (manifest, changed).

        ``mode="upsert"``: the panel's dates replace the same dates in the current version and
        other dates are kept (the schema must match the store's). ``mode="replace"``: the new
        version holds only this panel. Writing data identical to the current version changes
        nothing and returns ``changed=False``.
        """
        if mode not in ("upsert", "replace"):
            raise ValueError(f"mode must be 'upsert' or 'replace', got {mode!r}")
        created_root = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with _locked(self.root):
                return self._write_locked(panel, source, source_sha256, mode, warnings)
        except BaseException:
            if created_root:
                shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _write_locked(self, panel, source, source_sha256, mode, warnings):
        current = self.manifest()
        columns = _schema(panel)
        if current is not None and mode == "upsert" and current["columns"] != columns:
            _raise_schema_mismatch(source, current["columns"], columns)
        new_parts = self._partitions(panel)
        kept = [] if current is None or mode == "replace" else [
            p for p in current["partitions"] if p["date"] not in {q["date"] for q in new_parts}]
        partitions = sorted(kept + new_parts, key=lambda p: p["date"])
        version = store_version(columns, partitions)
        if current is not None and current["version"] == version:
            return current, False
        manifest = {
            "format": FORMAT, "version": version,
            "previous_version": None if current is None else current["version"],
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "source": source, "source_sha256": source_sha256, "mode": mode,
            "n_rows": sum(p["rows"] for p in partitions), "n_dates": len(partitions),
            "first_date": partitions[0]["date"], "last_date": partitions[-1]["date"],
            "columns": columns, "features": feature_columns(panel),
            "ingested": {"rows": panel.height, "dates": [p["date"] for p in new_parts]},
            "warnings": list(warnings), "partitions": partitions,
        }
        self._commit(panel, new_parts, manifest)
        return manifest, True

    def _partitions(self, panel: pl.DataFrame) -> list[dict]:
        parts = []
        for (day,), frame in panel.partition_by("date", maintain_order=True, as_dict=True).items():
            digest = content_hash(frame)
            parts.append({"date": day.isoformat(), "rows": frame.height, "hash": digest,
                          "path": f"snapshots/date={day.isoformat()}/part-{digest}.parquet"})
        return parts

    def _commit(self, panel: pl.DataFrame, new_parts: list[dict], manifest: dict) -> None:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        moved: list[Path] = []
        made_dirs: list[Path] = []
        try:
            frames = panel.partition_by("date", maintain_order=True, as_dict=True)
            staged: list[tuple[Path, Path]] = []
            for part, frame in zip(new_parts, frames.values(), strict=True):
                final = self.root / part["path"]
                if final.exists():  # same content already stored by an earlier version
                    continue
                tmp = staging / part["path"]
                tmp.parent.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(tmp, statistics=True)
                staged.append((tmp, final))
            version_file = f"versions/{manifest['version']}.json"
            text = json.dumps(manifest, indent=1)
            (staging / "versions").mkdir()
            (staging / version_file).write_text(text)
            (staging / MANIFEST).write_text(text)
            if not (self.root / version_file).exists():  # a revert to an earlier version
                staged.append((staging / version_file, self.root / version_file))
            for tmp, final in staged:
                for parent in reversed(final.relative_to(self.root).parents[:-1]):
                    folder = self.root / parent
                    if not folder.exists():
                        folder.mkdir()
                        made_dirs.append(folder)
                os.rename(tmp, final)
                moved.append(final)
            os.replace(staging / MANIFEST, self.root / MANIFEST)  # the commit point
        except BaseException:
            for path in reversed(moved):
                path.unlink(missing_ok=True)
            for folder in reversed(made_dirs):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _raise_schema_mismatch(source: str, stored: dict[str, str], new: dict[str, str]) -> None:
    missing = [c for c in stored if c not in new]
    extra = [c for c in new if c not in stored]
    changed = [c for c in new if c in stored and stored[c] != new[c]]
    column = (missing or extra or changed or [None])[0]
    detail = []
    if missing:
        detail.append(f"missing {missing}")
    if extra:
        detail.append(f"new {extra}")
    if changed:
        detail.append("; ".join(f"{c}: {stored[c]} -> {new[c]}" for c in changed))
    raise DataContractError(
        source, column,
        "columns and types match the store's current version (" + ", ".join(detail)
        + "); ingest with mode='replace' to start a new layout",
    )
