"""Order-book snapshots: a file (canonical or one-asset ts_ms layout) or the simulator."""

import dagster as dg

from dagster_project.config import core, to_core
from quant_core.data.snapshot import content_hash
from quant_core.stages import BookSource, load_book


class OrderBookConfig(dg.Config):
    book_path: str = core(BookSource, "book_path")
    asset: str = core(BookSource, "asset")
    levels: int = core(BookSource, "levels")
    sim_events: int = core(BookSource, "sim_events")
    sim_seed: int = core(BookSource, "sim_seed")


@dg.asset(group_name="orderbook")
def orderbook_snapshots(config: OrderBookConfig) -> dg.Output:
    """Contract-checked order-book snapshots (timestamp, asset, L levels of prices and sizes)."""
    book, source = load_book(to_core(config, BookSource))
    return dg.Output(book, metadata={"source": source, "n_rows": book.height, "levels": config.levels,
                                     "assets": book["asset"].n_unique(), "data_version": content_hash(book)})
