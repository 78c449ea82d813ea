"""The Dagster code location of the quant research platform (see ``definitions.py``)."""

import os

# MLflow 3 sends usage telemetry from a background thread unless told not to. A research
# platform's runs stay on the machine (and the thread costs time on every MLflow call), so it
# is off unless the user sets MLFLOW_DISABLE_TELEMETRY=false. Must precede `import mlflow`.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
