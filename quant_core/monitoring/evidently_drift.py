"""Data drift and prediction drift with Evidently: the features and scores a model sees live,
against the data it was trained on.

A model's validation only holds while the live feature distribution resembles the training
one; when a large share of features has moved (data drift), or the model's own scores have
(prediction drift), its edge is no longer measured and a retrain is due. Evidently picks a
per-column test (K-S for small samples, normalised Wasserstein distance for large ones) and
writes an HTML page a person can open. ``evidently`` is imported inside the function (3 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

__all__ = ["DriftResult", "drift_report", "training_reference"]


@dataclass(frozen=True)
class DriftResult:
    """What one Evidently drift report found.

    Attributes
    ----------
    dataset_drift
        ``share_drifted >= drift_share``: Evidently's dataset-level drift verdict.
    drift_share, share_drifted, n_drifted, n_columns
        The threshold, and the share / count of drifted feature columns out of ``n_columns``.
    columns
        ``column, method, threshold, score, drifted`` per feature. ``score`` is a p-value for
        statistical tests (drift when below ``threshold``) or a distance (drift when at or above).
    prediction_column, prediction_drift, prediction_score, prediction_method, prediction_threshold
        The same for the model's score column (None when no score column was given).
    html_path
        Where the HTML report was written, if anywhere.
    """

    dataset_drift: bool
    drift_share: float
    share_drifted: float
    n_drifted: int
    n_columns: int
    columns: pl.DataFrame
    prediction_column: str | None = None
    prediction_drift: bool | None = None
    prediction_score: float | None = None
    prediction_method: str | None = None
    prediction_threshold: float | None = None
    html_path: Path | None = None

    @property
    def drifted_features(self) -> list[str]:
        return self.columns.filter(pl.col("drifted"))["column"].to_list()


def training_reference(frame: pl.DataFrame, features: Sequence[str],
                       reference_days: int = 126) -> pl.DataFrame:
    """The newest ``reference_days`` dates of a training frame: what live data is compared with.

    Returns ``date, asset, <features>`` for those dates (a model's recent training data, not its
    whole history, so slow secular changes do not read as drift).
    """
    if reference_days < 1:
        raise ValueError(f"reference_days must be >= 1, got {reference_days}")
    last = frame["date"].unique().sort().tail(reference_days)
    return frame.filter(pl.col("date").is_in(last.implode())).select(["date", "asset", *features])


def _to_pandas(frame: pl.DataFrame, columns: list[str]):
    return frame.select([pl.col(c).cast(pl.Float64) for c in columns]).to_pandas()


def drift_report(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    features: Sequence[str],
    *,
    prediction: str | None = None,
    drift_share: float = 0.3,
    method: str | None = None,
    threshold: float | None = None,
    html_path: str | Path | None = None,
) -> DriftResult:
    """Run Evidently's ``DataDriftPreset`` on ``features`` (and ``ValueDrift`` on ``prediction``).

    Parameters
    ----------
    reference
        The training reference: the model's last training dates (features, and its scores).
    current
        The newest live rows: same columns.
    features
        Feature columns to test.
    prediction
        Optional score column, tested on its own (prediction drift).
    drift_share
        Share of drifted features at which the whole dataset counts as drifted.
    method, threshold
        Evidently stat test for every column (e.g. ``"ks"``, ``"psi"``, ``"wasserstein"``) and
        its threshold; None lets Evidently choose by column type and sample size.
    html_path
        Write the report page here (parent folders are created).
    """
    from evidently import Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    features = list(features)
    if not features:
        raise ValueError("features must name at least one column, got []")
    if not 0.0 < drift_share <= 1.0:
        raise ValueError(f"drift_share must be in (0, 1], got {drift_share}")
    needed = features + ([prediction] if prediction else [])
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing columns {missing}; has {frame.columns}")
        if frame.height == 0:
            raise ValueError(f"{name} has 0 rows")
    metrics = [DataDriftPreset(columns=features, drift_share=drift_share, method=method,
                               threshold=threshold)]
    if prediction:
        metrics.append(ValueDrift(column=prediction, method=method, threshold=threshold))
    snapshot = Report(metrics, include_tests=True).run(
        current_data=_to_pandas(current, needed), reference_data=_to_pandas(reference, needed)
    )
    payload = snapshot.dict()
    drifted_by_column = {}
    for test in payload.get("tests", []):
        params = (test.get("metric_config") or {}).get("params") or {}
        if str(params.get("type", "")).endswith("ValueDrift"):
            drifted_by_column[params["column"]] = str(getattr(test["status"], "value", test["status"])) == "FAIL"
    rows, count = [], None
    pred = {}
    for metric in payload["metrics"]:
        kind = str(metric["config"]["type"])
        if kind.endswith("DriftedColumnsCount"):
            count = metric["value"]
        elif kind.endswith("ValueDrift"):
            column = metric["config"]["column"]
            row = {"column": column, "method": str(metric["config"].get("method")),
                   "threshold": float(metric["config"].get("threshold")),
                   "score": float(metric["value"]), "drifted": drifted_by_column[column]}
            if column == prediction:
                pred = row
            else:
                rows.append(row)
    columns = pl.DataFrame(rows, schema={"column": pl.String, "method": pl.String,
                                         "threshold": pl.Float64, "score": pl.Float64,
                                         "drifted": pl.Boolean})
    n_drifted = int(count["count"]) if count else int(columns["drifted"].sum())
    share = float(count["share"]) if count else n_drifted / len(features)
    path = None
    if html_path is not None:
        path = Path(html_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(path))
    return DriftResult(
        dataset_drift=share >= drift_share,
        drift_share=drift_share,
        share_drifted=share,
        n_drifted=n_drifted,
        n_columns=len(features),
        columns=columns,
        prediction_column=prediction,
        prediction_drift=pred.get("drifted"),
        prediction_score=pred.get("score"),
        prediction_method=pred.get("method"),
        prediction_threshold=pred.get("threshold"),
        html_path=path,
    )
