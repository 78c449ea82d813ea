"""The MLflow model registry: aliases, promotion history, rollback, audit log (no Dagster here).

Aliases, not stages: ``challenger`` marks the newest registered version of a family (set at
registration), ``champion`` the version production scores with. Every move of ``champion`` (by
the promotion gate or by a person with ``qf models``) is recorded three times: tags on the model
versions involved, the registered model's champion history (what ``rollback`` pops), and one
JSON line appended to ``<state_dir>/registry/audit.jsonl``, which is never rewritten.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from quant_registry.client import MAX_TAG_CHARS, open_client

CHAMPION, CHALLENGER = "champion", "challenger"
HISTORY_TAG = "quantflow.champion_history"
MAX_HISTORY = 200


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ChampionRef:
    """Exactly one registered model version: the one live scoring loads (never "the latest").

    ``run_id`` is the MLflow run that logged the model; scoring refuses a registry whose version
    now points at another run.
    """

    family: str
    model_name: str
    version: str
    run_id: str
    horizon_days: int
    lag_days: int
    data_version: str
    validation_rank_ic: float
    train_start: str | None = None
    train_end: str | None = None

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"


class RegistryOperations:
    """Champion / challenger aliases of the ``<prefix>-<family>`` registered models.

    A mixin: the class it is mixed into provides ``tracking_uri`` (MLflow tracking and registry
    URI), ``state_dir`` (the audit log and an artifact cache live under ``<state_dir>/registry``)
    and ``registry_prefix`` (registered models are named ``<prefix>-<family>``): the
    orchestration's ``ModelRegistry`` resource, or :class:`Registry` here.
    """

    def client(self):
        return open_client(self.tracking_uri)

    def registered_name(self, family: str) -> str:
        return f"{self.registry_prefix}-{family}"

    @property
    def audit_log_path(self) -> Path:
        return Path(self.state_dir) / "registry" / "audit.jsonl"

    # ---- reading -------------------------------------------------------------------------
    def alias_version(self, name: str, alias: str):
        """The ``ModelVersion`` an alias points at, or None."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client().get_model_version_by_alias(name, alias)
        except MlflowException:
            return None

    def versions(self, name: str) -> list:
        """Every version of ``name``, newest first (empty when the model is not registered)."""
        found = self.client().search_model_versions(f"name = '{name}'")
        return sorted(found, key=lambda v: int(v.version), reverse=True)

    def aliases(self, name: str) -> dict[str, str]:
        """``{alias: version}`` of a registered model (empty when absent)."""
        from mlflow.exceptions import MlflowException

        try:
            return {k: str(v) for k, v in self.client().get_registered_model(name).aliases.items()}
        except MlflowException:
            return {}

    def champion_history(self, name: str) -> list[str]:
        """Versions that held the champion alias, oldest first; the last is the current one."""
        from mlflow.exceptions import MlflowException

        try:
            raw = self.client().get_registered_model(name).tags.get(HISTORY_TAG)
        except MlflowException:
            return []
        return json.loads(raw) if raw else []

    def champion_ref(self, family: str) -> ChampionRef | None:
        """Pin the version the ``champion`` alias points at now (None when there is none)."""
        name = self.registered_name(family)
        version = self.alias_version(name, CHAMPION)
        if version is None:
            return None
        run = self.client().get_run(version.run_id)
        tags, params = version.tags, run.data.params
        validation = tags.get("validation.rank_ic_mean", run.data.metrics.get("oos_rank_ic_mean", math.nan))
        return ChampionRef(
            family=family, model_name=name, version=str(version.version), run_id=version.run_id,
            horizon_days=int(params.get("horizon_days", tags.get("quantflow.horizon_days", 1))),
            lag_days=int(params.get("lag_days", tags.get("quantflow.lag_days", 1))),
            data_version=tags.get("data_version", ""), validation_rank_ic=float(validation),
            train_start=tags.get("quantflow.train_start"), train_end=tags.get("quantflow.train_end"),
        )

    def artifact(self, run_id: str, artifact_path: str) -> Path:
        """A run's artifact as a local file, downloaded once into the cache."""
        cache = Path(self.state_dir) / "registry" / "cache" / run_id
        local = cache / artifact_path
        if local.exists():
            return local
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            try:
                downloaded = Path(self.client().download_artifacts(run_id, artifact_path, tmp))
            except Exception as exc:
                raise FileNotFoundError(f"run {run_id} has no artifact {artifact_path!r} "
                                        f"(registered before lineage artifacts existed?): {exc}") from exc
            local.parent.mkdir(parents=True, exist_ok=True)
            os.replace(downloaded, local)
        return local

    def read_parquet_artifact(self, run_id: str, artifact_path: str) -> pl.DataFrame:
        return pl.read_parquet(self.artifact(run_id, artifact_path))

    def feature_names(self, ref: ChampionRef) -> list[str]:
        """The features ``ref``'s model was trained on: the columns of its training reference."""
        from quant_registry.lineage import REFERENCE_ARTIFACT

        columns = pl.read_parquet_schema(self.artifact(ref.run_id, REFERENCE_ARTIFACT))
        return [c for c in columns if c not in ("date", "asset", "score")]

    def load_model(self, ref: ChampionRef):
        """Load exactly ``ref``'s version, after checking the registry still maps it to ``ref.run_id``."""
        from quant_registry.pyfunc import load_signal_model

        registered = self.client().get_model_version(ref.model_name, ref.version)
        if registered.run_id != ref.run_id:
            raise ValueError(f"{ref.model_uri} now points at run {registered.run_id}, not the pinned "
                             f"run {ref.run_id}: re-pin the champion before scoring")
        return load_signal_model(ref.model_uri, self.tracking_uri)

    def read_audit(self) -> list[dict[str, Any]]:
        path = self.audit_log_path
        return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []

    # ---- writing -------------------------------------------------------------------------
    def audit(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Append one JSON line to the audit log (opened in append mode; never rewritten)."""
        record = {"ts": _now(), **entry}
        path = self.audit_log_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        return record

    def tag_version(self, name: str, version: str, tags: Mapping[str, Any]) -> None:
        client = self.client()
        for key, value in tags.items():
            client.set_model_version_tag(name, str(version), key, str(value)[:MAX_TAG_CHARS])

    def _set_history(self, name: str, history: list[str]) -> None:
        self.client().set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[-MAX_HISTORY:]))

    def promote(self, name: str, version: str, *, actor: str, reason: str, source: str,
                dagster_run_id: str = "", evidence: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Point ``champion`` at ``version``; returns the audit record."""
        from mlflow.exceptions import MlflowException

        version = str(version)
        try:
            self.client().get_model_version(name, version)
        except MlflowException as exc:
            raise ValueError(f"{name} has no version {version!r}") from exc
        previous = self.alias_version(name, CHAMPION)
        previous_version = None if previous is None else str(previous.version)
        if previous_version == version:
            raise ValueError(f"version {version} of {name} is already the champion")
        self.client().set_registered_model_alias(name, CHAMPION, version)
        self._set_history(name, [*self.champion_history(name), version])
        now = _now()
        self.tag_version(name, version, {
            "quantflow.promoted_at": now, "quantflow.promoted_by": actor,
            "quantflow.promotion_source": source, "quantflow.promotion_reason": reason,
            "quantflow.promotion_dagster_run_id": dagster_run_id,
        })
        if previous_version is not None:
            self.tag_version(name, previous_version, {"quantflow.demoted_at": now,
                                                       "quantflow.demoted_for": version})
        return self.audit({"action": "promote", "model": name, "from_version": previous_version,
                           "to_version": version, "actor": actor, "source": source, "reason": reason,
                           "dagster_run_id": dagster_run_id, "evidence": dict(evidence or {})})

    def rollback(self, name: str, *, actor: str, reason: str, dagster_run_id: str = "") -> dict[str, Any]:
        """Give ``champion`` back to the version that held it before the current one."""
        current = self.alias_version(name, CHAMPION)
        if current is None:
            raise ValueError(f"{name} has no champion to roll back")
        history = self.champion_history(name)
        current_version = str(current.version)
        if not history or history[-1] != current_version:
            raise ValueError(f"{name}: the champion alias (version {current_version}) does not match the "
                             f"recorded history {history[-5:]}; promote a version explicitly instead")
        if len(history) < 2:
            raise ValueError(f"{name}: version {current_version} is the first champion; nothing to roll back to")
        restored = history[-2]
        self.client().set_registered_model_alias(name, CHAMPION, restored)
        self._set_history(name, history[:-1])
        now = _now()
        self.tag_version(name, current_version, {"quantflow.rolled_back_at": now,
                                                  "quantflow.rolled_back_by": actor,
                                                  "quantflow.rollback_reason": reason})
        self.tag_version(name, restored, {"quantflow.restored_at": now})
        return self.audit({"action": "rollback", "model": name, "from_version": current_version,
                           "to_version": restored, "actor": actor, "source": "manual", "reason": reason,
                           "dagster_run_id": dagster_run_id})

    def record_gate_decision(self, name: str, version: str, decision: Mapping[str, Any], *,
                             champion_version: str | None, dagster_run_id: str) -> dict[str, Any]:
        """Tag the challenger with the gate's verdict and numbers; append it to the audit log."""
        comparison = decision.get("comparison") or {}
        verdict = "promote" if decision["promote"] else "reject"
        self.tag_version(name, version, {
            "quantflow.gate.decision": verdict,
            "quantflow.gate.reason": decision["reason"],
            "quantflow.gate.at": _now(),
            "quantflow.gate.dagster_run_id": dagster_run_id,
            "quantflow.gate.champion_version": champion_version or "none",
            "quantflow.gate.checks": json.dumps(decision.get("checks", {}), sort_keys=True),
            **{f"quantflow.gate.{k}": v for k, v in comparison.items()},
            **{f"quantflow.gate.net.{k}": v for k, v in (decision.get("net_comparison") or {}).items()},
        })
        return self.audit({"action": f"gate_{verdict}", "model": name, "from_version": champion_version,
                           "to_version": version, "actor": "promotion_gate", "source": "gate",
                           "reason": decision["reason"], "dagster_run_id": dagster_run_id,
                           "evidence": decision})



@dataclass(frozen=True)
class Registry(RegistryOperations):
    """Registry operations without an orchestrator (``qf models``, the scoring service)."""

    tracking_uri: str
    state_dir: str
    registry_prefix: str = "quantflow"
