"""Fixtures for the data-contract and ingest tests: a small valid panel and a store fingerprint."""

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

#: The "today" every contract test runs with (dates after it are in the future).
CONTRACT_TODAY = dt.date(2024, 6, 30)


def _make_panel(n_dates: int = 6, assets=("A", "B", "C")) -> pl.DataFrame:
    rows = [
        {"date": dt.date(2024, 1, 1) + dt.timedelta(days=d), "asset": a,
         "close": 10.0 + d + 0.5 * i, "volume": 100 + 10 * d + i, "f1": float(d - i) / 7}
        for d in range(n_dates) for i, a in enumerate(assets)
    ]
    return pl.DataFrame(rows)


def _fingerprint(root: Path) -> str:
    if not root.exists():
        return "absent"
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def make_panel():
    """Build a valid daily panel sorted by (date, asset): close, integer volume, feature f1."""
    return _make_panel


@pytest.fixture
def fingerprint():
    """Hash every path under a directory (folders included) and every file's bytes."""
    return _fingerprint


@pytest.fixture
def today() -> dt.date:
    return CONTRACT_TODAY
