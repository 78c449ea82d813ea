"""RunLogger batching and curve thinning, against a real local MLflow store."""

import math

import numpy as np
import pytest
from mlflow import MlflowClient

from quant_registry.runs import MAX_CURVE_POINTS, RunLogger, _thin_curve


def test_thin_curve_keeps_first_lowest_highest_last_and_at_most_the_cap():
    rounds = 1000
    values = list((np.linspace(1, 0, rounds) ** 2) + np.r_[np.zeros(600), np.linspace(0, 0.5, 400)])
    values[137] = 5.0  # a spike: the best point of a score that is maximised
    lowest, highest = int(np.argmin(values)), 137
    thinned = _thin_curve(values)
    steps = [s for s, _ in thinned]
    assert len(thinned) <= MAX_CURVE_POINTS
    assert steps == sorted(set(steps))
    assert {0, lowest, highest, rounds - 1} <= set(steps)
    assert all(v == values[s] for s, v in thinned)
    short = [0.3, float("nan"), 0.2]
    assert _thin_curve(short) == [(0, 0.3), (2, 0.2)]  # NaN rounds dropped, nothing thinned


@pytest.fixture
def logger(tmp_path):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment)
    calls = []
    original = client.log_batch

    def counting(run_id, metrics=(), params=(), tags=()):
        calls.append((len(metrics), len(params), len(tags)))
        return original(run_id, metrics=metrics, params=params, tags=tags)

    client.log_batch = counting
    return RunLogger(client, run.info.run_id, experiment, {}), client, calls


def test_one_request_for_a_typical_fold(logger):
    run, client, calls = logger
    run.log(params={"a": 1, "b": "x"}, metrics={"ic": 0.05, "bad": math.nan, "when": "2020-01-01"},
            curves={"valid_l2": [1.0, 0.9, 0.95]}, tags={"k": "v"})
    assert calls == [(4, 2, 1)]  # ic + 3 curve points; NaN and the string dropped
    data = client.get_run(run.run_id).data
    assert data.params == {"a": "1", "b": "x"} and data.tags["k"] == "v"
    assert [m.step for m in client.get_metric_history(run.run_id, "valid_l2")] == [0, 1, 2]


def test_requests_stay_under_a_servers_one_megabyte_limit(logger):
    run, client, _ = logger
    sizes = []
    original = client.log_batch

    def measuring(run_id, metrics=(), params=(), tags=()):
        sizes.append(sum(len(p.key) + len(p.value) for p in [*params, *tags]))
        return original(run_id, metrics=metrics, params=params, tags=tags)

    client.log_batch = measuring
    run.log(params={f"p{i}": "v" * 6000 for i in range(100)}, tags={f"t{i}": "w" * 5000 for i in range(100)})
    assert len(sizes) >= 2 and max(sizes) < 1_000_000
    data = client.get_run(run.run_id).data
    assert len(data.params) == 100 and sum(k.startswith("t") for k in data.tags) == 100


def test_mlflow_limits_split_large_batches(logger):
    run, client, calls = logger
    run.log(params={f"p{i}": i for i in range(250)},
            metrics={f"m{i}": float(i) for i in range(1500)})
    assert all(p <= 100 and t <= 100 and m + p + t <= 1000 for m, p, t in calls)
    assert sum(p for _, p, _ in calls) == 250 and sum(m for m, _, _ in calls) == 1500
    data = client.get_run(run.run_id).data
    assert len(data.params) == 250 and len(data.metrics) == 1500


def _first_use(uri: str, name: str) -> str:
    from quant_registry.client import open_client

    client = open_client(uri)
    experiment = client.create_experiment(name)
    client.create_registered_model(f"model-{name}")
    return experiment


def test_fresh_store_opened_by_several_processes_and_threads_at_once(tmp_path):
    """A parallel run's first steps all open the new SQLite store together: each must find a
    fully migrated schema (MLflow's own constructor would migrate it once per caller; without
    the lock this fails with "duplicate column name")."""
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    from quant_registry.client import open_client

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        ids = pool.starmap(_first_use, [(uri, f"e{i}") for i in range(3)])
    assert len(set(ids)) == 3
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with ThreadPoolExecutor(3) as pool:
        clients = list(pool.map(open_client, [other] * 3))
    assert [c.search_experiments()[0].name for c in clients] == ["Default"] * 3
    assert (tmp_path / "other.db.init-lock").exists()
