"""MLflow without Dagster: the client and its locks, run logging, the pyfunc wrapper of a signal
model, registry operations (register, alias, promote, rollback, load an exact version) and lineage.

Imports ``quant_core`` and mlflow, never dagster (a test proves it), so the scoring service and the
command line use it without loading the orchestration.
"""
