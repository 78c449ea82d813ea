"""The project IO manager: atomic pickles, polars frames as IPC, and the in-process cache."""

import os
import pickle
from dataclasses import dataclass

import dagster as dg
import numpy as np
import polars as pl
import pytest

from dagster_project.resources import QuantflowIOManager
from dagster_project.resources import io_manager as iom


@dataclass(frozen=True)
class Holder:
    frame: pl.DataFrame
    nested: dict
    array: np.ndarray


def _value(n=1000):
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({
        "date": pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 1, 1), eager=True).extend_constant(None, 0)
        .to_list() * n,
        "asset": [f"A{i}" for i in range(n)],
        "x": rng.standard_normal(n),
        "sector": pl.Series([f"S{i % 3}" for i in range(n)], dtype=pl.Categorical),
    })
    return Holder(frame, {"inner": [frame.head(3), 1.5]}, np.arange(5))


def test_frames_anywhere_in_the_value_round_trip_as_ipc(tmp_path):
    value = _value()
    path = tmp_path / "value"
    with open(path, "wb") as file:
        iom.dump_value(value, file)
    with open(path, "rb") as file:
        raw = file.read()
    assert raw.count(b"ARROW1") >= 2  # both frames went through Arrow IPC, not polars' serialize
    loaded = pickle.loads(raw)
    assert loaded.frame.equals(value.frame) and loaded.frame.schema == value.frame.schema
    assert loaded.nested["inner"][0].equals(value.frame.head(3))
    assert loaded.nested["inner"][1] == 1.5
    np.testing.assert_array_equal(loaded.array, value.array)


def test_frame_that_ipc_cannot_write_falls_back_to_polars_pickling(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise pl.exceptions.ComputeError("no IPC for this frame")

    monkeypatch.setattr(pl.DataFrame, "write_ipc", refuse)
    frame = pl.DataFrame({"x": [1.0, 2.0]})
    path = tmp_path / "value"
    with open(path, "wb") as file:
        iom.dump_value({"f": frame}, file)
    raw = path.read_bytes()
    assert b"_frame_from_ipc" not in raw
    assert pickle.loads(raw)["f"].equals(frame)


def _manager(tmp_path, mb=64):
    return iom.LocalPickleIOManager(base_dir=str(tmp_path), memory_cache_mb=mb)


def test_write_is_atomic_and_leaves_no_temporary_file_on_failure(tmp_path):
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    manager.dump_to_path(None, {"v": 1}, target)
    before = target.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise pickle.PicklingError("nope")

    with pytest.raises(dg.DagsterInvariantViolationError, match="cannot be pickled.*nothing was written"):
        manager.dump_to_path(None, {"v": Unpicklable()}, target)
    assert target.read_bytes() == before  # the old value is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asset"]  # no .tmp left behind


def test_cache_hands_back_the_same_object_until_the_file_changes(tmp_path):
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    value = _value()
    manager.dump_to_path(None, value, target)
    assert manager.load_from_path(None, target) is value  # no re-read in this process
    # another process rewrites the file: the cache notices (mtime/size) and re-reads
    other = _value(50)
    with open(target, "wb") as file:
        iom.dump_value(other, file)
    os.utime(target, ns=(1, 1))
    loaded = manager.load_from_path(None, target)
    assert loaded is not value and loaded.frame.height == 50
    assert manager.load_from_path(None, target) is loaded  # cached after the read


def test_a_file_replaced_while_it_is_read_is_not_cached_as_the_new_one(tmp_path, monkeypatch):
    """Another process renames a new value into place between our open() and our unpickling:
    what we read belongs to the old file, so the next load must read the new one."""
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    manager.dump_to_path(None, {"v": 1}, target)
    iom.VALUE_CACHE.clear()
    real_load = pickle.load

    def load_while_replaced(file):
        newer = tmp_path / "newer"
        with open(newer, "wb") as handle:
            iom.dump_value({"v": 2, "pad": "x" * 10}, handle)
        os.replace(newer, target)
        return real_load(file)

    monkeypatch.setattr(iom.pickle, "load", load_while_replaced)
    assert manager.load_from_path(None, target) == {"v": 1}  # the file we had open
    monkeypatch.setattr(iom.pickle, "load", real_load)
    assert manager.load_from_path(None, target)["v"] == 2


def test_a_file_replaced_right_after_our_write_is_not_mistaken_for_ours(tmp_path, monkeypatch):
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    real_replace = os.replace

    def replace_then_overwritten(src, dst):
        real_replace(src, dst)
        theirs = tmp_path / "theirs"
        with open(theirs, "wb") as handle:
            iom.dump_value("theirs, longer", handle)
        real_replace(theirs, dst)

    monkeypatch.setattr(iom.os, "replace", replace_then_overwritten)
    manager.dump_to_path(None, "ours", target)
    monkeypatch.setattr(iom.os, "replace", real_replace)
    assert manager.load_from_path(None, target) == "theirs, longer"


def test_cache_respects_its_budget(tmp_path):
    iom.VALUE_CACHE.clear()
    off = _manager(tmp_path, mb=0)
    target = tmp_path / "asset"
    value = _value()
    off.dump_to_path(None, value, target)
    assert off.load_from_path(None, target) is not value  # budget 0: always read from disk
    iom.VALUE_CACHE.clear()
    small = iom.LocalPickleIOManager(base_dir=str(tmp_path), memory_cache_mb=1)
    big = _value(100_000)
    small.dump_to_path(None, big, tmp_path / "big")
    assert (tmp_path / "big").stat().st_size > 1024 * 1024  # over the 1 MB budget
    assert small.load_from_path(None, tmp_path / "big") is not big


def test_assets_materialize_through_it(tmp_path):
    @dg.asset
    def upstream() -> pl.DataFrame:
        return pl.DataFrame({"x": [1.0, 2.0, 3.0]})

    @dg.asset
    def downstream(upstream: pl.DataFrame) -> float:
        return float(upstream["x"].sum())

    result = dg.materialize([upstream, downstream],
                            resources={"io_manager": QuantflowIOManager(base_dir=str(tmp_path))})
    assert result.success and result.output_for_node("downstream") == 6.0
    with open(tmp_path / "upstream", "rb") as file:
        assert pickle.load(file).equals(pl.DataFrame({"x": [1.0, 2.0, 3.0]}))
