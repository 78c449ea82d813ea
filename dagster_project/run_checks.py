"""What the checks of one Dagster run said: read by the promotion gate and ``champion_model``."""

import dagster as dg

GATE_CHECK = "promotion_gate"


def run_check_evaluations(instance: dg.DagsterInstance, run_id: str) -> dict:
    """``{check name: AssetCheckEvaluation}`` of the checks evaluated so far in one run."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
            for e in events}
