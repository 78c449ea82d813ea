"""Order-book research (group ``orderbook``): snapshots -> DeepLOB."""

from dagster_project.assets.orderbook.book import orderbook_snapshots
from dagster_project.assets.orderbook.models import deeplob_model

ORDERBOOK_ASSETS = [orderbook_snapshots, deeplob_model]
