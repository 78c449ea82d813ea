"""Ingest sensor: whole panel files dropped in the inbox are validated, ingested and run.

Each tick lists the panel files (``*.parquet``, ``*.pq``, ``*.csv``) in ``state.inbox_dir``
that it has not yet seen with their current size and modification time, hashes them, and for each:

- a valid file is ingested into the snapshot store (``STATE_DIR/store``) and requests a run of the
  job, with ``run_key`` = the store's content version (the same data never runs twice) and tags
  naming the file and the data version;
- an invalid file is reported (the SkipReason, or the tick's log when other files ran) and
  flagged: ``inbox/.rejected/<file>.json`` records its hash and the contract error, so it is not
  retried until its content changes. Files are never moved.

The cursor (JSON, ``{"files": {...}}``) maps each file name to ``[size, mtime_ns, sha256, status]``.
"""


import datetime as dt
import json
from pathlib import Path

import dagster as dg

from dagster_project.resources import ProjectState
from quant_core.data.contracts import DataContractError
from quant_core.data.ingest import file_sha256, ingest_panel

PANEL_SUFFIXES = (".parquet", ".pq", ".csv")
REJECTED_DIR = ".rejected"


def _load_cursor(cursor: str | None) -> dict[str, list]:
    if not cursor:
        return {}
    try:
        return dict(json.loads(cursor).get("files", {}))
    except (ValueError, AttributeError):
        return {}


def _candidates(inbox: Path) -> list[Path]:
    return sorted(
        (p for p in inbox.iterdir()
         if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in PANEL_SUFFIXES),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )


def _flag(inbox: Path, path: Path, sha: str, error: str) -> Path:
    folder = inbox / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    flag = folder / f"{path.name}.json"
    flag.write_text(json.dumps({"file": path.name, "sha256": sha, "error": error,
                                "flagged_at": dt.datetime.now(dt.UTC).isoformat()}, indent=1))
    return flag


def _flagged_sha(inbox: Path, path: Path) -> str | None:
    flag = inbox / REJECTED_DIR / f"{path.name}.json"
    if not flag.exists():
        return None
    try:
        return json.loads(flag.read_text()).get("sha256")
    except ValueError:
        return None


def make_ingest_sensor(job_name: str, *, name: str = "ingest_sensor",
                        minimum_interval_seconds: int = 60, max_files_per_tick: int = 20,
                        today: dt.date | None = None,
                        default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
                        ) -> dg.SensorDefinition:
    """A sensor that ingests new panel files from the inbox and runs ``job_name``.

    Parameters
    ----------
    job_name : the job each valid file triggers.
    name : the sensor's name.
    minimum_interval_seconds : seconds between ticks.
    max_files_per_tick : at most this many new files are processed per tick (the rest wait).
    today : the contract's "today" (dates after it fail); None: the date of each tick.
    default_status : STOPPED by default; switch it on in the UI.
    """
    @dg.sensor(job_name=job_name, name=name, minimum_interval_seconds=minimum_interval_seconds,
               default_status=default_status)
    def ingest_sensor(context: dg.SensorEvaluationContext, state: ProjectState):
        """Validates panel files dropped in the inbox, ingests them, requests runs."""
        inbox = state.inbox_dir
        store = state.store_dir
        seen = _load_cursor(context.cursor)
        run_requests: list[dg.RunRequest] = []
        problems: list[str] = []
        processed = 0
        for path in _candidates(inbox):
            stat = path.stat()
            previous = seen.get(path.name)
            if previous and previous[:2] == [stat.st_size, stat.st_mtime_ns]:
                continue
            if processed >= max_files_per_tick:
                break
            processed += 1
            sha = file_sha256(path)
            if previous and previous[2] == sha:  # touched, not changed
                seen[path.name] = [stat.st_size, stat.st_mtime_ns, sha, previous[3]]
                continue
            if _flagged_sha(inbox, path) == sha:
                seen[path.name] = [stat.st_size, stat.st_mtime_ns, sha, "rejected"]
                continue
            try:
                result = ingest_panel(path, store, today=today)
            except DataContractError as exc:
                flag = _flag(inbox, path, sha, str(exc))
                problems.append(f"{path.name} rejected (flagged in {flag}): {exc}")
                seen[path.name] = [stat.st_size, stat.st_mtime_ns, sha, "rejected"]
                continue
            seen[path.name] = [stat.st_size, stat.st_mtime_ns, sha, "ingested"]
            run_requests.append(dg.RunRequest(
                run_key=f"data-{result.version}",
                tags={
                    "quantflow/trigger": "ingest",
                    "quantflow/inbox_file": path.name,
                    "quantflow/data_version": result.version,
                    "quantflow/source_sha256": sha[:16],
                    "quantflow/store": str(store),
                },
            ))
        context.update_cursor(json.dumps({"files": seen}, sort_keys=True))
        if run_requests:
            for problem in problems:
                context.log.warning(problem)
            return run_requests
        if problems:
            return dg.SkipReason("; ".join(problems)[:4000])
        if processed:
            return dg.SkipReason("inbox files are unchanged since they were last seen")
        return dg.SkipReason(f"no new panel file in {inbox}")

    return ingest_sensor
