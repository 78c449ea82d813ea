"""An MLflow client that is safe to open from many steps at once, and per-process memos.

No Dagster here: the orchestration, the scoring service and the command line all open their
clients through :func:`open_client`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MAX_TAG_CHARS = 5000  # MLflow's limit on a tag value
MAX_BATCH_BYTES = 900_000  # MLflow servers refuse log_batch requests over 1 MB

_STORE_INIT_LOCK = threading.Lock()
_READY_STORES: set[str] = set()


def open_client(tracking_uri: str):
    """An ``MlflowClient`` on ``tracking_uri`` (also its model registry) whose stores exist.

    The first client of a process on a new SQLite store creates and migrates its schema (about
    1.5 s). MLflow's store constructor does not guard that against a second thread or process
    doing the same at once (two steps of a parallel run on a fresh store), so it happens here
    under a lock: a thread lock, and an exclusive lock on ``<db>.init-lock`` across processes.
    """
    from mlflow import MlflowClient

    if tracking_uri not in _READY_STORES:
        with _STORE_INIT_LOCK, _sqlite_init_lock(tracking_uri):
            if tracking_uri not in _READY_STORES:
                # constructing the client opens (creates, migrates) the tracking store
                client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
                client.search_registered_models(max_results=1)  # and the registry store
                _READY_STORES.add(tracking_uri)
                return client
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextmanager
def _sqlite_init_lock(tracking_uri: str) -> Iterator[None]:
    path = Path(tracking_uri.removeprefix("sqlite:///")) if tracking_uri.startswith("sqlite:///") else None
    if path is None or not path.parent.is_dir():
        yield
        return
    import fcntl

    try:
        handle = open(f"{path}.init-lock", "a")  # noqa: SIM115 - closed below
    except OSError:  # a read-only state directory: nothing will be created there either
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Per-process memo of MLflow objects that never change once they exist, keyed by tracking URI:
# each lookup is a database round trip, and every asset of a run needs them.
_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}
_PARENT_RUN_IDS: dict[tuple[str, str, str], str] = {}
_REGISTERED_MODELS: set[tuple[str, str]] = set()


def ensure_registered_model(client: Any, name: str) -> None:
    key = (client.tracking_uri, name)
    if key in _REGISTERED_MODELS:
        return
    try:
        client.get_registered_model(name)
    except Exception:  # noqa: BLE001 - MlflowException when absent
        try:
            client.create_registered_model(name)
        except Exception:  # noqa: BLE001 - created concurrently by another step
            client.get_registered_model(name)
    _REGISTERED_MODELS.add(key)


