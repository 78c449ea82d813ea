"""The project IO manager: atomic pickles, polars frames as IPC, and the in-process cache."""

import ast
import builtins
import inspect
import os
import pickle
from dataclasses import dataclass, field

import dagster as dg
import numpy as np
import polars as pl
import pytest
from upath import UPath

from dagster_project.resources import QuantflowIOManager
from dagster_project.resources import io_manager as iom


@dataclass(frozen=True)
class Holder:
    frame: pl.DataFrame
    nested: dict
    array: np.ndarray


@dataclass
class Fitted:
    """A mutable value, like a fitted model: a list of fitted parts and a coefficient array."""

    parts: list = field(default_factory=list)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(3))


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


class _CountingOpen:
    """Stands in for ``open`` inside the module: counts the files it opens for reading."""

    def __init__(self):
        self.reads = 0

    def __call__(self, file, mode="r", *args, **kwargs):
        if "r" in mode:
            self.reads += 1
        return builtins.open(file, mode, *args, **kwargs)


@pytest.fixture
def opens(monkeypatch):
    counting = _CountingOpen()
    monkeypatch.setattr(iom, "open", counting, raising=False)
    return counting


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
    assert manager.load_from_path(None, target) == {"v": 1}  # the cache kept the old value, too


def test_the_pickling_error_names_the_asset(tmp_path):
    @dg.asset
    def unpicklable_asset():
        return lambda: None  # a lambda cannot be pickled

    with pytest.raises(dg.DagsterInvariantViolationError, match="the value of unpicklable_asset .*cannot be pickled"):
        dg.materialize([unpicklable_asset], resources={"io_manager": QuantflowIOManager(base_dir=str(tmp_path))})
    assert list(tmp_path.rglob("*unpicklable_asset*")) == []  # neither the file nor a temporary one


@pytest.mark.parametrize("kept_from", ["write", "read"])
def test_a_mutated_input_does_not_change_what_the_next_load_returns(tmp_path, kept_from):
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "model"
    frame = pl.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    produced = {"model": Fitted(parts=["tree-0"], coef=np.array([1.0, 2.0, 3.0])), "frame": frame}
    manager.dump_to_path(None, produced, target)
    produced["model"].parts.append("changed by the producer after returning")  # not what was stored
    if kept_from == "read":
        iom.VALUE_CACHE.clear()  # the kept bytes now come from reading the file

    first = manager.load_from_path(None, target)
    first["model"].parts.append("tree-1")  # a step that mutates its input in place
    first["model"].coef[0] = 99.0
    first["frame"].drop_in_place("y")  # polars frames can be changed in place, too
    second = manager.load_from_path(None, target)
    assert second["model"].parts == ["tree-0"]
    np.testing.assert_array_equal(second["model"].coef, [1.0, 2.0, 3.0])
    assert second["frame"].equals(frame) and frame.columns == ["x", "y"]
    assert second["model"] is not first["model"] and second["model"].coef is not first["model"].coef
    third = manager.load_from_path(None, target)
    third["model"].coef[1] = -1.0
    assert manager.load_from_path(None, target)["model"].coef.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("kept_from", ["write", "read"])
def test_kept_frames_are_out_of_band_and_load_like_the_file(tmp_path, kept_from):
    """The cache keeps the frames' IPC beside a small pickle stream (so a load decodes them
    without copying them out of the stream); what it hands back is what the file holds."""
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    value = _value(20_000)
    shared = pl.DataFrame({"z": [1, 2, 3]})
    manager.dump_to_path(None, {"value": value, "a": shared, "b": shared, "n": np.arange(3)}, target)
    if kept_from == "read":
        iom.VALUE_CACHE.clear()
        manager.load_from_path(None, target)
    kept = iom.VALUE_CACHE.get(str(target))
    assert len(kept.frames) == 3  # value.frame, its head(3) inside value.nested, the shared one
    assert all(frame.startswith(b"ARROW1") for frame in kept.frames)
    assert len(kept.stream) < 10_000 < sum(map(len, kept.frames))  # the frames are not in the stream
    assert iom.VALUE_CACHE.held_bytes == kept.nbytes == len(kept.stream) + sum(map(len, kept.frames))
    loaded = manager.load_from_path(None, target)
    with builtins.open(target, "rb") as file:
        from_file = pickle.load(file)
    for one in (loaded, from_file):
        assert one["value"].frame.equals(value.frame) and one["value"].frame.schema == value.frame.schema
        assert one["value"].nested["inner"][0].equals(value.frame.head(3))
        assert one["a"] is one["b"] and one["a"].equals(shared)  # shared within a value, as pickled
        np.testing.assert_array_equal(one["n"], np.arange(3))


def test_a_value_without_frames_read_from_disk_is_kept_as_the_files_bytes(tmp_path):
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    manager.dump_to_path(None, {"coef": np.arange(10.0), "name": "ridge"}, target)
    iom.VALUE_CACHE.clear()
    loaded = manager.load_from_path(None, target)
    kept = iom.VALUE_CACHE.get(str(target))
    assert kept.stream == target.read_bytes() and kept.frames == ()
    assert loaded["name"] == "ridge" and manager.load_from_path(None, target)["coef"].tolist() == list(range(10))


def test_a_frame_that_ipc_cannot_write_goes_through_the_cache_too(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise pl.exceptions.ComputeError("no IPC for this frame")

    iom.VALUE_CACHE.clear()
    monkeypatch.setattr(pl.DataFrame, "write_ipc", refuse)
    manager = _manager(tmp_path)
    frame = pl.DataFrame({"x": [1.0, 2.0]})
    manager.dump_to_path(None, {"f": frame}, tmp_path / "asset")
    assert iom.VALUE_CACHE.get(str(tmp_path / "asset")).frames == ()  # polars' pickling, in band
    assert manager.load_from_path(None, tmp_path / "asset")["f"].equals(frame)


def test_sibling_steps_get_their_own_copy_of_an_upstream_value(tmp_path):
    @dg.asset
    def model() -> Fitted:
        return Fitted(parts=["base"], coef=np.array([1.0, 2.0, 3.0]))

    @dg.asset
    def careless_step(model: Fitted) -> int:
        model.parts.append("careless")
        model.coef *= 0.0
        return len(model.parts)

    @dg.asset(deps=[careless_step])  # runs after the careless step, in the same process
    def sibling_step(model: Fitted) -> tuple:
        return list(model.parts), model.coef.tolist()

    iom.VALUE_CACHE.clear()
    result = dg.materialize([model, careless_step, sibling_step],
                            resources={"io_manager": QuantflowIOManager(base_dir=str(tmp_path))})
    assert result.success and result.output_for_node("careless_step") == 2
    assert result.output_for_node("sibling_step") == (["base"], [1.0, 2.0, 3.0])


def test_cache_saves_the_disk_read_and_rereads_a_file_another_process_rewrote(tmp_path, opens):
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    value = _value()
    manager.dump_to_path(None, value, target)
    loaded = manager.load_from_path(None, target)
    assert opens.reads == 0  # served from the bytes kept at the write
    assert loaded is not value and loaded.frame.equals(value.frame)
    np.testing.assert_array_equal(loaded.array, value.array)
    # another process rewrites the file: the cache notices (mtime/size) and re-reads
    other = _value(50)
    with builtins.open(target, "wb") as file:
        iom.dump_value(other, file)
    os.utime(target, ns=(1, 1))
    assert manager.load_from_path(None, target).frame.height == 50
    assert opens.reads == 1
    assert manager.load_from_path(None, target).frame.height == 50
    assert opens.reads == 1  # cached after the read
    iom.VALUE_CACHE.clear()
    manager.load_from_path(None, target)
    manager.load_from_path(None, target)
    assert opens.reads == 2  # a value read (not written) in this process is kept, too


class _ReplacedBeforeRead:
    """A read handle whose path another process replaces between our open() and our reading."""

    def __init__(self, handle, replace):
        self._handle, self._replace = handle, replace

    def __getattr__(self, name):  # read, readline, readinto, peek, seek: the first one replaces
        if name != "fileno" and self._replace is not None:
            self._replace()
            self._replace = None
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def test_a_file_replaced_while_it_is_read_is_not_cached_as_the_new_one(tmp_path, monkeypatch):
    """Another process renames a new value into place between our open() and our reading: what
    we read belongs to the old file, so the next load must read the new one."""
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"

    def replace():
        newer = tmp_path / "newer"
        with builtins.open(newer, "wb") as handle:
            iom.dump_value({"v": 2, "pad": "x" * 10}, handle)
        os.replace(newer, target)

    def open_then_replaced(file, mode="r", *args, **kwargs):
        return _ReplacedBeforeRead(builtins.open(file, mode, *args, **kwargs), replace)

    for old in ({"v": 1}, {"v": 1, "frame": pl.DataFrame({"x": [1.0]})}):  # kept as read, or pickled again
        manager.dump_to_path(None, old, target)
        iom.VALUE_CACHE.clear()
        monkeypatch.setattr(iom, "open", open_then_replaced, raising=False)
        loaded = manager.load_from_path(None, target)
        assert loaded.keys() == old.keys() and loaded["v"] == 1  # the file we had open
        monkeypatch.delattr(iom, "open")
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


def test_cache_respects_its_budget_counting_the_bytes_it_holds(tmp_path, opens):
    iom.VALUE_CACHE.clear()
    off = _manager(tmp_path, mb=0)
    target = tmp_path / "asset"
    off.dump_to_path(None, _value(), target)
    off.load_from_path(None, target)
    off.load_from_path(None, target)
    assert opens.reads == 2 and iom.VALUE_CACHE.held_bytes == 0  # budget 0: always read from disk

    small = _manager(tmp_path, mb=1)
    small.dump_to_path(None, _value(100_000), tmp_path / "big")
    assert (tmp_path / "big").stat().st_size > 1024 * 1024  # over the 1 MB budget
    small.load_from_path(None, tmp_path / "big")
    assert opens.reads == 3 and iom.VALUE_CACHE.held_bytes == 0  # neither the write nor the read kept it

    payload = np.zeros(70_000)  # about 560 kB pickled: one fits the 1 MB budget, two do not
    small.dump_to_path(None, payload, tmp_path / "first")
    assert iom.VALUE_CACHE.held_bytes == (tmp_path / "first").stat().st_size  # exactly the bytes held
    small.dump_to_path(None, payload, tmp_path / "second")
    assert iom.VALUE_CACHE.held_bytes == (tmp_path / "second").stat().st_size  # the older one went out
    small.load_from_path(None, tmp_path / "second")
    assert opens.reads == 3
    small.load_from_path(None, tmp_path / "first")
    assert opens.reads == 4  # evicted: read from disk (and now "second" is out)
    assert iom.VALUE_CACHE.held_bytes == (tmp_path / "first").stat().st_size


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


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_files_are_where_dagsters_filesystem_io_manager_puts_them(tmp_path):
    """Same layout (asset key path, partitions, escaped ``..`` and leading ``/``) and same
    format: either manager reads what the other wrote, so re-execution finds upstream values."""
    partitions = dg.StaticPartitionsDefinition(["2024-01-01", "..", "x/../y", "/lead"])

    def graph():
        @dg.asset(key_prefix=["research", "v1"])
        def plain() -> dict:
            return {"v": 1}

        @dg.asset(partitions_def=partitions)
        def parted(context: dg.AssetExecutionContext) -> str:
            return context.partition_key

        return [plain, parted]

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for base, manager in ((ours, QuantflowIOManager(base_dir=str(ours))),
                          (theirs, dg.FilesystemIOManager(base_dir=str(theirs)))):
        assets = graph()
        assert dg.materialize(assets[:1], resources={"io_manager": manager}).success
        for key in partitions.get_partition_keys():
            assert dg.materialize(assets[1:], partition_key=key, resources={"io_manager": manager}).success
    assert _files(ours) == _files(theirs)
    assert "research/v1/plain" in _files(ours) and "parted/2024-01-01" in _files(ours)
    assert all(os.path.realpath(p).startswith(str(ours) + os.sep) for p in ours.rglob("*"))

    iom.VALUE_CACHE.clear()
    manager = _manager(ours)
    for relative in _files(theirs):
        with builtins.open(theirs / relative, "rb") as file:
            expected = pickle.load(file)
        assert manager.load_from_path(None, UPath(ours) / relative) == expected
        assert manager.load_from_path(None, UPath(theirs) / relative) == expected


def test_a_downstream_step_loads_upstream_partitions_and_missing_ones_fail_clearly(tmp_path):
    partitions = dg.StaticPartitionsDefinition(["a", "b"])

    @dg.asset(partitions_def=partitions)
    def daily(context: dg.AssetExecutionContext) -> str:
        return context.partition_key.upper()

    @dg.asset(ins={"daily": dg.AssetIn()})
    def combined(daily: dict) -> str:
        return "".join(daily[k] for k in sorted(daily))

    resources = {"io_manager": QuantflowIOManager(base_dir=str(tmp_path))}
    assert dg.materialize([daily], partition_key="a", resources=resources).success
    with pytest.raises(FileNotFoundError):
        dg.materialize([daily, combined], selection=[combined], resources=resources)
    assert dg.materialize([daily], partition_key="b", resources=resources).success
    result = dg.materialize([daily, combined], selection=[combined], resources=resources)
    assert result.output_for_node("combined") == "AB"


def test_the_module_uses_only_public_dagster_api():
    """It once subclassed ``dagster._core...PickledObjectFilesystemIOManager``, which moved."""
    tree = ast.parse(inspect.getsource(iom))
    imported, private_attributes = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
            imported += [f"{node.module}.{alias.name}" for alias in node.names]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in {"dg", "dagster"} and node.attr.startswith("_")):
            private_attributes.append(node.attr)  # e.g. dg._core.storage...
    assert "dagster" in imported
    private = [name for name in imported if not name.startswith("__future__")
               and any(part.startswith("_") for part in name.split("."))]
    assert private == [] and private_attributes == []
    assert "_core" not in inspect.getsource(iom)
    assert issubclass(iom.LocalPickleIOManager, dg.UPathIOManager)


def test_a_value_that_pickles_only_once_is_written_and_read_from_its_file(tmp_path, opens):
    iom.VALUE_CACHE.clear()
    manager = _manager(tmp_path)
    target = tmp_path / "asset"
    calls = []

    class Once:
        def __reduce__(self):
            calls.append(1)
            if len(calls) > 1:
                raise pickle.PicklingError("only once")
            return dict, ()

    manager.dump_to_path(None, {"once": Once(), "f": pl.DataFrame({"x": [1]})}, target)
    assert iom.VALUE_CACHE.get(str(target)) is None and iom.VALUE_CACHE.held_bytes == 0
    assert manager.load_from_path(None, target)["once"] == {} and opens.reads == 1
