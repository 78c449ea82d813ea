"""A small lifecycle world: a synthetic market split into history and live days, one Dagster
instance, one MLflow store, and Definitions built from the research graph plus the lifecycle."""

import dataclasses
import logging
import types
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from dagster_project.definitions import build_definitions
from dagster_project.resources import MarketDataSource, ProjectState
from quant_core.data.synthetic import DEFAULT_SIGNALS, SyntheticMarketConfig, simulate_market

N_HISTORY = 300  # business days of history before the live month
N_LIVE = 21  # live business days
TIMEZONE = "America/New_York"

# Planted signals three times the default strength: a full model then beats a one-stump model by
# far more than noise on ~150 out-of-sample dates of 60 assets, so the gate's verdicts are clear-cut.
STRONG_SIGNALS = tuple(dataclasses.replace(s, strength_calm=3 * s.strength_calm,
                                           strength_stressed=3 * s.strength_stressed) for s in DEFAULT_SIGNALS)
MARKET = SyntheticMarketConfig(n_assets=60, n_days=N_HISTORY + N_LIVE + 2, seed=5, signals=STRONG_SIGNALS)

FOLDS = {"n_splits": 3, "min_train_days": 150}
STANDARD_RECIPE = {"num_boost_round": 40, "inner_valid_days": 30, "min_data_in_leaf": 100}
STUMP_RECIPE = {"num_boost_round": 1, "num_leaves": 2, "inner_valid_days": 0, "early_stopping_rounds": 0,
                "min_data_in_leaf": 100}
# the part of retrain_job the lifecycle depends on (the rest of the research graph is tested elsewhere)
RETRAIN_PATH = [dg.AssetKey(k) for k in ("feature_snapshots", "targets", "folds", "lightgbm_model",
                                         "challenger_model", "champion_model")]


def retrain_config(recipe: dict) -> dict:
    return {"ops": {"folds": {"config": FOLDS}, "lightgbm_model": {"config": recipe}}}


@dataclasses.dataclass
class World:
    """Everything a lifecycle test touches, built on one temporary state directory."""

    state_dir: Path
    instance: dg.DagsterInstance
    tracking_uri: str
    panel: pl.DataFrame  # the whole simulated market (history + live days)
    history_dates: list
    live_dates: list
    defs: dg.Definitions

    @property
    def state(self) -> ProjectState:
        return ProjectState(state_dir=str(self.state_dir))

    @property
    def registry(self):
        return self.defs.resources["registry"]

    @property
    def panel_path(self) -> Path:
        return self.state_dir / "research_panel.parquet"

    def write_research_panel(self, through) -> None:
        """The research panel as an ingest job would keep it: every date up to ``through``."""
        self.panel.filter(pl.col("date") <= through).write_parquet(self.panel_path)

    def land(self, day, transform=None) -> Path:
        """Drop one date's rows into the landing folder as YYYY-MM-DD.parquet."""
        rows = self.panel.filter(pl.col("date") == day)
        if transform is not None:
            rows = transform(rows)
        path = self.state.landing_dir / f"{day}.parquet"
        rows.write_parquet(path)
        return path

    def retrain(self, recipe: dict, tags: dict | None = None):
        job = self.defs.resolve_job_def("retrain_job")
        return job.execute_in_process(run_config=retrain_config(recipe), instance=self.instance,
                                      asset_selection=RETRAIN_PATH, raise_on_error=False, tags=tags or {})

    def score_day(self, day: str, tags: dict | None = None):
        job = self.defs.resolve_job_def("daily_scoring_job")
        return job.execute_in_process(partition_key=day, instance=self.instance, tags=tags or {},
                                      raise_on_error=False)


def build_world(state_dir: Path, cooldown_days: int = 15) -> World:
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    (state_dir / "dagster").mkdir(parents=True, exist_ok=True)
    instance = dg.DagsterInstance.local_temp(tempdir=str(state_dir / "dagster"))
    tracking_uri = f"sqlite:///{state_dir / 'mlflow' / 'mlflow.db'}"
    (state_dir / "mlflow").mkdir(exist_ok=True)
    market = simulate_market(MARKET)
    dates = market.panel["date"].unique().sort().to_list()
    panel_path = state_dir / "research_panel.parquet"
    defs = build_definitions(state_dir=state_dir, tracking_uri=tracking_uri,
                             market_data=MarketDataSource(panel_path=str(panel_path)), timezone=TIMEZONE,
                             retrain_cooldown_days=cooldown_days)
    return World(state_dir=state_dir, instance=instance, tracking_uri=tracking_uri, panel=market.panel,
                 history_dates=dates[:N_HISTORY], live_dates=dates[N_HISTORY:N_HISTORY + N_LIVE], defs=defs)


@pytest.fixture(scope="session")
def kit():
    """What the lifecycle tests share (conftest modules cannot be imported by name)."""
    return types.SimpleNamespace(build_world=build_world, STANDARD_RECIPE=STANDARD_RECIPE,
                                 STUMP_RECIPE=STUMP_RECIPE, TIMEZONE=TIMEZONE, MARKET=MARKET)
