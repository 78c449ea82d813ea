"""The project's IO manager: pickled asset values on local disk, written atomically, with polars
frames stored as Arrow IPC inside the pickle and an in-process cache for repeated loads.

Why not Dagster's ``FilesystemIOManager`` as it is:

* it writes the pickle in place, so a crash mid-write leaves a truncated file that the next run
  loads; here the bytes go to a temporary file in the same folder and are renamed into place;
* a polars frame pickles through ``DataFrame.serialize`` (about twice as slow to write and five
  times as slow to read as Arrow IPC); here every ``pl.DataFrame`` inside the value, however
  deeply nested, is written as uncompressed IPC;
* the research graph loads ``targets`` in six steps and ``feature_snapshots`` in four: under the
  in-process executor (``qf demo``, ``qf run``, tests) each of those re-read the file. Values
  written or read in this process are kept serialized (up to ``memory_cache_mb`` of bytes, least
  recently used out first) as long as the file on disk is the one they came from (same device,
  inode, modification time and size, taken from the handle that wrote or read it), so a value
  rewritten by another process is always re-read.

The cache holds bytes, never objects, and every load unpickles a fresh copy. A step that modifies
an input in place (appends to a list in a dataclass, writes into a numpy array, refits a model)
changes only its own copy, never what a sibling step or a later load receives; nor does a change
to the object a step returned, made after it was written. The kept form is the pickle with the
frames' IPC bytes out of band (pickle protocol 5 buffers): a load decodes them straight from the
kept bytes (a few milliseconds for a 50 MB frame) instead of copying them out of the stream
first, which would take several times as long; numpy arrays and everything else stay in the
stream and are copied on each load, as they must be. The file itself is one in-band pickle,
readable with a plain ``pickle.load``.

Built on the public ``dagster.UPathIOManager`` (``extension = ""``, ``..`` partition segments
escaped as Dagster's own filesystem IO manager does), so files stay where ``FilesystemIOManager``
puts them: ``<base_dir>/<asset key path>[/<partition>]``, default the instance's storage
directory, and re-execution from the UI finds the upstream values. Local paths only: the atomic
rename and the identity check need a local file system.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
import uuid
from collections import OrderedDict
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field
from upath import UPath

PICKLE_PROTOCOL = 5

Identity = tuple[int, int, int, int]
FrameIpc = dict[int, tuple[pl.DataFrame, bytes | None]]  # id(frame) -> (frame, its IPC or None)


def _frame_from_ipc(payload: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(payload))


class _FramePickler(pickle.Pickler):
    """A pickler that writes every polars DataFrame as Arrow IPC bytes.

    ``ipc`` remembers each frame's IPC, so that a second pickling of the same value (the cache's
    form after the file's) does not encode its frames again. With ``out_of_band`` (a list), the
    frames' IPC bytes go there instead of into the stream: pickle protocol 5 out-of-band buffers,
    handed back as they are on loading, where in-band bytes would be copied on every load. All
    other buffers (numpy arrays, which are mutable) stay in band, so each load copies them."""

    def __init__(self, file: Any, ipc: FrameIpc | None = None, out_of_band: list[bytes] | None = None) -> None:
        self._ipc: FrameIpc = {} if ipc is None else ipc
        self._out_of_band = out_of_band
        self._ours: dict[int, tuple[pickle.PickleBuffer, bytes]] = {}
        super().__init__(file, PICKLE_PROTOCOL, buffer_callback=None if out_of_band is None else self._place)

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is pl.DataFrame:
            known = self._ipc.get(id(obj))
            if known is None:
                buffer = io.BytesIO()
                try:
                    obj.write_ipc(buffer, compression="uncompressed")
                except Exception:  # noqa: BLE001 - e.g. an Object column: polars' own pickling
                    known = (obj, None)
                else:
                    known = (obj, buffer.getvalue())
                self._ipc[id(obj)] = known
            payload = known[1]
            if payload is None:
                return NotImplemented
            if self._out_of_band is None:
                return _frame_from_ipc, (payload,)
            view = pickle.PickleBuffer(payload)  # in band this pickles exactly as the bytes do
            self._ours[id(view)] = (view, payload)
            return _frame_from_ipc, (view,)
        return NotImplemented

    def _place(self, view: pickle.PickleBuffer) -> bool:
        """``buffer_callback``: True keeps a buffer in band, False sends it out of band."""
        ours = self._ours.get(id(view))
        if ours is None or ours[0] is not view:
            return True
        self._out_of_band.append(ours[1])  # the bytes themselves: loading hands them back, no copy
        return False


def dump_value(obj: Any, file: Any, ipc: FrameIpc | None = None) -> None:
    """Pickle ``obj`` into ``file`` (anything with ``write``), frames as Arrow IPC: the format of
    the files, readable with a plain ``pickle.load``."""
    _FramePickler(file, ipc).dump(obj)


class _Serialized:
    """A value as the cache keeps it: a pickle stream and its frames' IPC bytes out of band.
    Immutable bytes only, so it can be shared; every ``load`` builds a fresh object."""

    __slots__ = ("frames", "nbytes", "stream")

    def __init__(self, stream: bytes, frames: tuple[bytes, ...]) -> None:
        self.stream = stream
        self.frames = frames
        self.nbytes = len(stream) + sum(len(frame) for frame in frames)

    @classmethod
    def of(cls, obj: Any, ipc: FrameIpc) -> _Serialized | None:
        """Pickle ``obj`` again (its frames' IPC taken from ``ipc``, not encoded again); None if
        that fails (a value whose pickling has side effects): it is then read from its file."""
        stream, frames = io.BytesIO(), []
        try:
            _FramePickler(stream, ipc, frames).dump(obj)
        except Exception:  # noqa: BLE001 - the file is written and right; only the cache gives up
            return None
        return cls(stream.getvalue(), tuple(frames))

    def load(self) -> Any:
        return pickle.loads(self.stream, buffers=self.frames)


class _RecordingUnpickler(pickle.Unpickler):
    """Unpickles a file's bytes, noting the IPC each frame was decoded from in ``ipc``."""

    def __init__(self, file: Any, ipc: FrameIpc) -> None:
        super().__init__(file)
        self._ipc = ipc

    def find_class(self, module: str, name: str) -> Any:
        if module == _frame_from_ipc.__module__ and name == _frame_from_ipc.__name__:
            return self._frame_from_ipc
        return super().find_class(module, name)

    def _frame_from_ipc(self, payload: bytes) -> pl.DataFrame:
        frame = _frame_from_ipc(payload)
        self._ipc[id(frame)] = (frame, payload)
        return frame


def _identity(stat: os.stat_result) -> Identity:
    """What a file's value depends on: a replace (new inode) or a rewrite (mtime, size) shows."""
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size


class _ValueCache:
    """Least-recently-used serialized values keyed by file path, valid while the file is the one
    they were read from or written to (same device, inode, mtime and size)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[Identity, _Serialized]] = OrderedDict()
        self._held_bytes = 0
        self._lock = threading.Lock()

    @property
    def held_bytes(self) -> int:
        """The bytes held right now (what ``memory_cache_mb`` bounds)."""
        return self._held_bytes

    def _drop(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is not None:
            self._held_bytes -= entry[1].nbytes

    def get(self, path: str) -> _Serialized | None:
        with self._lock:
            entry = self._entries.get(path)
            if entry is None:
                return None
            try:
                identity = _identity(os.stat(path))
            except OSError:
                self._drop(path)
                return None
            if identity != entry[0]:
                self._drop(path)
                return None
            self._entries.move_to_end(path)
            return entry[1]

    def put(self, path: str, identity: Identity, value: _Serialized | None, budget_bytes: int) -> None:
        """Remember ``value`` as the content of the file whose identity was taken from the very
        handle it was read from or written to (not from a later ``stat`` of the path, which
        another process may have replaced in between). ``None`` (or a value over the budget)
        only forgets what was there."""
        with self._lock:
            self._drop(path)
            if value is None or value.nbytes > budget_bytes:
                return
            self._entries[path] = (identity, value)
            self._held_bytes += value.nbytes
            while self._held_bytes > budget_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._held_bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._held_bytes = 0


VALUE_CACHE = _ValueCache()  # one per process, shared by every run the process executes


def _escape_partition(partition: str) -> str:
    """Dagster's filesystem IO manager escaping: a leading ``/`` (which would make the join drop
    the base) becomes ``%2F``, then every whole ``..`` segment becomes ``%2E%2E``."""
    if partition.startswith("/"):
        partition = "%2F" + partition[1:]
    return "/".join("%2E%2E" if segment == ".." else segment for segment in partition.split("/"))


class LocalPickleIOManager(dg.UPathIOManager):
    """Atomic pickles with polars frames as IPC, plus the in-process cache (see module docs).

    ``UPathIOManager`` works out the paths (asset key, partitions, op outputs), creates the parent
    folder before ``dump_to_path`` and handles missing partitions on load."""

    extension: str = ""  # no suffix: the files FilesystemIOManager writes and reads

    def __init__(self, base_dir: str, memory_cache_mb: int):
        self.base_dir = os.fspath(base_dir)
        self.cache_budget_bytes = max(int(memory_cache_mb), 0) * 1024 * 1024
        super().__init__(base_path=UPath(self.base_dir))

    def make_safe_partition_path(self, base_path: UPath, partition: str) -> UPath:
        return base_path / _escape_partition(partition)

    def dump_to_path(self, context: dg.OutputContext | None, obj: Any, path: Any) -> None:
        target = os.fspath(path)
        temporary = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
        ipc: FrameIpc = {}
        try:
            with open(temporary, "wb") as file:
                try:
                    dump_value(obj, file, ipc)
                except (AttributeError, RecursionError, TypeError, pickle.PicklingError) as exc:
                    what = context.asset_key.to_user_string() if context is not None and context.has_asset_key else target
                    raise dg.DagsterInvariantViolationError(
                        f"the value of {what} ({type(obj).__name__}) cannot be pickled: {exc}. Asset values "
                        "must be picklable to be stored between steps; nothing was written."
                    ) from exc
                file.flush()
                identity = _identity(os.fstat(file.fileno()))  # a rename keeps inode, mtime and size
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        # the cache's form, pickled from the value as it is now: a later change to the object
        # the step returned changes nothing stored
        kept = _Serialized.of(obj, ipc) if identity[3] <= self.cache_budget_bytes else None
        VALUE_CACHE.put(target, identity, kept, self.cache_budget_bytes)

    def load_from_path(self, context: dg.InputContext | None, path: Any) -> Any:
        source = os.fspath(path)
        kept = VALUE_CACHE.get(source)
        if kept is not None:
            return kept.load()  # a fresh object on every load, never a shared one
        with open(source, "rb") as file:
            # the file this handle reads, whatever happens to the path meanwhile
            identity = _identity(os.fstat(file.fileno()))
            if identity[3] > self.cache_budget_bytes:
                return pickle.load(file)  # too big to keep: read as FilesystemIOManager reads it
            ipc: FrameIpc = {}
            obj = _RecordingUnpickler(file, ipc).load()
            if not ipc:  # no frames: the file's bytes are the cache's form
                file.seek(0)
                content = file.read()
        # with frames: pickled again, their IPC (as read, not encoded again) out of band
        kept = _Serialized.of(obj, ipc) if ipc else _Serialized(content, ())
        VALUE_CACHE.put(source, identity, kept, self.cache_budget_bytes)
        return obj


class QuantflowIOManager(dg.ConfigurableIOManagerFactory):
    """Where asset values live between steps: local pickles (see ``LocalPickleIOManager``)."""

    base_dir: str | None = Field(
        default=None, description="Directory of the pickled values; default: the instance's storage directory"
    )
    memory_cache_mb: int = Field(
        default=2048, description="Pickled bytes kept in memory per process for repeated loads (0 turns it off)"
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> LocalPickleIOManager:
        base_dir = self.base_dir or context.instance.storage_directory()
        return LocalPickleIOManager(base_dir=base_dir, memory_cache_mb=self.memory_cache_mb)
