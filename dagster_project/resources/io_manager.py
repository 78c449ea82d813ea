"""The project's IO manager: pickled asset values on local disk, written atomically, with polars
frames stored as Arrow IPC inside the pickle and an in-process cache for repeated loads.

Why not Dagster's ``FilesystemIOManager`` as it is:

* it writes the pickle in place, so a crash mid-write leaves a truncated file that the next run
  loads; here the bytes go to a temporary file in the same folder and are renamed into place;
* a polars frame pickles through ``DataFrame.serialize`` (about twice as slow to write and five
  times as slow to read as Arrow IPC); here every ``pl.DataFrame`` inside the value, however
  deeply nested, is written as uncompressed IPC;
* the research graph loads ``targets`` in six steps and ``feature_snapshots`` in four: under the
  in-process executor (``qf demo``, ``qf run``, tests) each of those re-read and unpickled the file.
  Values written or read in this process are kept (up to ``memory_cache_mb`` of pickled bytes)
  and handed back as long as the file on disk is the one they came from (same inode,
  modification time and size), so a value rewritten by another process is always re-read.
  Asset values are treated as immutable (frozen dataclasses and polars frames), as with
  Dagster's own in-memory IO manager: a step must not modify its inputs in place.

Files stay where ``FilesystemIOManager`` puts them (``<base_dir>/<asset key>``, default the
instance's storage directory), so re-execution from the UI finds the upstream values.
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
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager
from pydantic import Field

PICKLE_PROTOCOL = 5


def _frame_from_ipc(payload: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(payload))


class _FramePickler(pickle.Pickler):
    """A pickler that writes every polars DataFrame as Arrow IPC bytes."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is pl.DataFrame:
            buffer = io.BytesIO()
            try:
                obj.write_ipc(buffer, compression="uncompressed")
            except Exception:  # noqa: BLE001 - e.g. an Object column: polars' own pickling
                return NotImplemented
            return _frame_from_ipc, (buffer.getvalue(),)
        return NotImplemented


def dump_value(obj: Any, file: io.BufferedWriter) -> None:
    _FramePickler(file, PICKLE_PROTOCOL).dump(obj)


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    """What a file's value depends on: a replace (new inode) or a rewrite (mtime, size) shows."""
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size


class _ValueCache:
    """Least-recently-used values keyed by file path, valid while the file is the one they were
    read from or written to (same device, inode, mtime and size)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[tuple[int, int, int, int], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(path)
            if entry is None:
                return False, None
            try:
                identity = _identity(os.stat(path))
            except OSError:
                del self._entries[path]
                return False, None
            if identity != entry[0]:
                del self._entries[path]
                return False, None
            self._entries.move_to_end(path)
            return True, entry[1]

    def put(self, path: str, identity: tuple[int, int, int, int], obj: Any, budget_bytes: int) -> None:
        """Remember ``obj`` as the value of the file whose identity was taken from the very
        handle it was read from or written to (not from a later ``stat`` of the path, which
        another process may have replaced in between)."""
        with self._lock:
            self._entries.pop(path, None)
            if identity[3] > budget_bytes:
                return
            self._entries[path] = (identity, obj)
            while sum(e[0][3] for e in self._entries.values()) > budget_bytes:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


VALUE_CACHE = _ValueCache()  # one per process, shared by every run the process executes


class LocalPickleIOManager(PickledObjectFilesystemIOManager):
    """Atomic pickles with polars frames as IPC, plus the in-process cache (see module docs)."""

    def __init__(self, base_dir: str, memory_cache_mb: int):
        super().__init__(base_dir=base_dir)
        self.cache_budget_bytes = int(memory_cache_mb) * 1024 * 1024

    def dump_to_path(self, context: dg.OutputContext | None, obj: Any, path) -> None:
        target = os.fspath(path)
        temporary = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "wb") as file:
                try:
                    dump_value(obj, file)
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
        VALUE_CACHE.put(target, identity, obj, self.cache_budget_bytes)

    def load_from_path(self, context: dg.InputContext | None, path) -> Any:
        source = os.fspath(path)
        found, obj = VALUE_CACHE.get(source)
        if found:
            return obj
        with open(source, "rb") as file:
            identity = _identity(os.fstat(file.fileno()))  # the file this handle reads, whatever
            obj = pickle.load(file)  # happens to the path meanwhile
        VALUE_CACHE.put(source, identity, obj, self.cache_budget_bytes)
        return obj


class QuantflowIOManager(dg.ConfigurableIOManagerFactory):
    """Where asset values live between steps: local pickles (see ``LocalPickleIOManager``)."""

    base_dir: str | None = Field(
        default=None, description="Directory of the pickled values; default: the instance's storage directory"
    )
    memory_cache_mb: int = Field(
        default=2048, description="Values kept in memory per process for repeated loads (0 turns it off)"
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> LocalPickleIOManager:
        base_dir = self.base_dir or context.instance.storage_directory()
        return LocalPickleIOManager(base_dir=base_dir, memory_cache_mb=self.memory_cache_mb)
