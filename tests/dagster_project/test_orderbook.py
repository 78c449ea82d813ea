"""The order-book job: simulated snapshots -> DeepLOB, beating the majority class on the later events."""

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions


@pytest.mark.slow
def test_orderbook_job_trains_deeplob_on_simulated_books_and_registers_it(tmp_path):
    (tmp_path / "dagster").mkdir()
    defs = build_definitions(state_dir=tmp_path)
    job = defs.resolve_job_def("orderbook_job")
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster")) as instance:
        result = job.execute_in_process(instance=instance, run_config={"ops": {
            "orderbook_snapshots": {"config": {"sim_events": 5000}},
            "deeplob_model": {"config": {"max_epochs": 3}}}})
    assert result.success
    out = result.output_for_node("deeplob_model")
    metrics = out.metrics
    assert metrics["accuracy"] > metrics["majority_class_accuracy"] + 0.05, metrics
    assert out.model_uri == "models:/quantflow-deeplob/1"
