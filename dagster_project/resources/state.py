"""The project's local state directory: reports, the snapshot store, the inbox and the landing folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class ProjectState(dg.ConfigurableResource):
    """Paths under one state directory (default ``.qf_state`` in the project)."""

    state_dir: str = Field(description="Directory for reports, drift references and landing files")

    def path(self, *parts: str) -> Path:
        path = Path(self.state_dir).joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def reports_dir(self) -> Path:
        path = Path(self.state_dir) / "reports"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def inbox_dir(self) -> Path:
        """Whole panels dropped here are contract-checked and ingested into the snapshot store."""
        path = Path(self.state_dir) / "inbox"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def store_dir(self) -> Path:
        """The versioned, date-partitioned snapshot store that ``qf ingest`` writes."""
        return Path(self.state_dir) / "store"

    @property
    def landing_dir(self) -> Path:
        """New daily feature snapshots (YYYY-MM-DD.parquet) land here for scoring and drift monitoring."""
        path = Path(self.state_dir) / "landing"
        path.mkdir(parents=True, exist_ok=True)
        return path
