"""Every asset of the code location, by group: research, lifecycle (promotion, live,
revalidation) and order book."""

from dagster_project.assets.lifecycle import LIFECYCLE_ASSETS
from dagster_project.assets.orderbook import ORDERBOOK_ASSETS
from dagster_project.assets.research import RESEARCH_ASSETS

ALL_ASSETS = [*RESEARCH_ASSETS, *ORDERBOOK_ASSETS, *LIFECYCLE_ASSETS]

__all__ = ["ALL_ASSETS", "LIFECYCLE_ASSETS", "ORDERBOOK_ASSETS", "RESEARCH_ASSETS"]
