"""The snapshot store: date partitions, content versions, history, and all-or-nothing writes."""

import datetime as dt
import json
import os

import polars as pl
import pytest

from quant_core.data import store as store_module
from quant_core.data.ingest import ingest_panel
from quant_core.data.snapshot import content_hash
from quant_core.data.store import SnapshotStore, store_version


def _ingest(path, root, today, **kwargs):
    return ingest_panel(path, root, today=today, use_great_expectations=False, **kwargs)


def test_ingest_writes_one_partition_per_date_and_a_manifest(tmp_path, make_panel, today):
    panel = make_panel()
    path = tmp_path / "p.parquet"
    panel.sample(fraction=1.0, shuffle=True, seed=4).write_parquet(path)  # any row order
    result = _ingest(path, tmp_path / "store", today)
    store = SnapshotStore(tmp_path / "store")
    manifest = store.manifest()
    assert manifest["version"] == result.version and result.previous_version is None
    assert manifest["n_rows"] == 18 and manifest["n_dates"] == 6
    assert manifest["source"] == str(path) and len(manifest["source_sha256"]) == 64
    assert manifest["features"] == ["f1"]
    assert [p["date"] for p in manifest["partitions"]] == [
        f"2024-01-0{d}" for d in range(1, 7)]
    for part in manifest["partitions"]:
        frame = pl.read_parquet(tmp_path / "store" / part["path"])
        assert part["path"] == f"snapshots/date={part['date']}/part-{part['hash']}.parquet"
        assert frame.height == part["rows"] == 3 and part["hash"] == content_hash(frame)
    assert store.read().equals(panel)  # sorted by (date, asset) on the way in
    assert json.loads((tmp_path / "store" / "versions" / f"{result.version}.json").read_text()) \
        == manifest


def test_the_version_is_a_content_hash_whatever_the_file(tmp_path, make_panel, today):
    panel = make_panel()
    panel.write_parquet(tmp_path / "a.parquet")
    panel.reverse().write_csv(tmp_path / "b.csv")  # same data, other format and order
    first = _ingest(tmp_path / "a.parquet", tmp_path / "one", today)
    second = _ingest(tmp_path / "b.csv", tmp_path / "two", today)
    assert first.version == second.version
    manifest = SnapshotStore(tmp_path / "one").manifest()
    assert first.version == store_version(manifest["columns"], manifest["partitions"])
    changed = panel.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(99.0)
                                 .otherwise(pl.col("f1")).alias("f1"))
    changed.write_parquet(tmp_path / "c.parquet")
    assert _ingest(tmp_path / "c.parquet", tmp_path / "three", today).version != first.version


def test_reingesting_the_same_data_changes_nothing(tmp_path, make_panel, today, fingerprint):
    make_panel().write_parquet(tmp_path / "p.parquet")
    first = _ingest(tmp_path / "p.parquet", tmp_path / "store", today)
    before = fingerprint(tmp_path / "store")
    again = _ingest(tmp_path / "p.parquet", tmp_path / "store", today)
    assert not again.changed and again.version == first.version
    assert fingerprint(tmp_path / "store") == before


def test_upsert_replaces_the_files_dates_keeps_the_rest_and_history_stays_readable(
        tmp_path, make_panel, today):
    panel = make_panel()
    panel.write_parquet(tmp_path / "p.parquet")
    first = _ingest(tmp_path / "p.parquet", tmp_path / "store", today)
    update = make_panel(n_dates=8).filter(pl.col("date") >= dt.date(2024, 1, 6)) \
        .with_columns(pl.col("close") + 100)
    update.write_parquet(tmp_path / "u.parquet")
    second = _ingest(tmp_path / "u.parquet", tmp_path / "store", today)
    store = SnapshotStore(tmp_path / "store")
    assert second.previous_version == first.version
    current = store.read()
    assert current["date"].n_unique() == 8
    expected = pl.concat([panel.filter(pl.col("date") < dt.date(2024, 1, 6)), update])
    assert current.equals(expected)
    assert store.read(first.version).equals(panel)
    assert store.versions() == [first.version, second.version]
    replaced = _ingest(tmp_path / "u.parquet", tmp_path / "store", today, mode="replace")
    assert store.read().equals(update) and replaced.version != second.version
    with pytest.raises(KeyError, match="not in the store"):
        store.read("0" * 16)


@pytest.mark.parametrize("fail_on", ["partition", "manifest"])
def test_a_crash_while_writing_leaves_the_store_byte_identical(
        tmp_path, make_panel, today, fingerprint, monkeypatch, fail_on):
    make_panel().write_parquet(tmp_path / "p.parquet")
    _ingest(tmp_path / "p.parquet", tmp_path / "store", today)
    before = fingerprint(tmp_path / "store")
    make_panel(n_dates=9).with_columns(pl.col("close") * 2).write_parquet(tmp_path / "n.parquet")
    real_rename, real_replace = os.rename, os.replace
    calls = {"rename": 0}

    def flaky_rename(src, dst):
        calls["rename"] += 1
        if fail_on == "partition" and calls["rename"] == 3:
            raise OSError("disk full")
        return real_rename(src, dst)

    def flaky_replace(src, dst):
        if fail_on == "manifest":
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "rename", flaky_rename)
    monkeypatch.setattr(store_module.os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk full"):
        _ingest(tmp_path / "n.parquet", tmp_path / "store", today)
    assert calls["rename"] >= 3
    assert fingerprint(tmp_path / "store") == before  # no staging dir, no partition, old manifest


def test_a_crash_writing_a_new_store_leaves_no_directory(tmp_path, make_panel, today,
                                                         monkeypatch):
    make_panel().write_parquet(tmp_path / "p.parquet")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(store_module.os, "replace", failing_replace)
    with pytest.raises(OSError):
        _ingest(tmp_path / "p.parquet", tmp_path / "new_store", today)
    assert not (tmp_path / "new_store").exists()


def test_an_empty_store_says_so(tmp_path):
    store = SnapshotStore(tmp_path / "nothing")
    assert store.manifest() is None and store.versions() == []
    with pytest.raises(FileNotFoundError, match="no snapshot has been ingested"):
        store.read()
    with pytest.raises(ValueError, match="mode must be"):
        store.write(pl.DataFrame(), source="x", mode="append")
