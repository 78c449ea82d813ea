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
  Values written or read in this process are kept (up to ``memory_cache_mb``) and handed back as
  long as the file on disk is the one they came from (same modification time and size), so a
  value rewritten by another process is always re-read. Asset values are treated as immutable
  (frozen dataclasses and polars frames), as with Dagster's own in-memory IO manager.

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


class _ValueCache:
    """Least-recently-used values keyed by file path, valid while (mtime_ns, size) match."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[int, int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(path)
            if entry is None:
                return False, None
            try:
                stat = os.stat(path)
            except OSError:
                del self._entries[path]
                return False, None
            if (stat.st_mtime_ns, stat.st_size) != entry[:2]:
                del self._entries[path]
                return False, None
            self._entries.move_to_end(path)
            return True, entry[2]

    def put(self, path: str, obj: Any, budget_bytes: int) -> None:
        stat = os.stat(path)
        with self._lock:
            self._entries.pop(path, None)
            if stat.st_size > budget_bytes:
                return
            self._entries[path] = (stat.st_mtime_ns, stat.st_size, obj)
            while sum(e[1] for e in self._entries.values()) > budget_bytes:
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

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path) -> None:
        target = os.fspath(path)
        temporary = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "wb") as file:
                dump_value(obj, file)
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        VALUE_CACHE.put(target, obj, self.cache_budget_bytes)

    def load_from_path(self, context: dg.InputContext, path) -> Any:
        source = os.fspath(path)
        found, obj = VALUE_CACHE.get(source)
        if found:
            return obj
        with open(source, "rb") as file:
            obj = pickle.load(file)
        VALUE_CACHE.put(source, obj, self.cache_budget_bytes)
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
