"""Our CombinatorialPurgedKFold against skfolio's CombinatorialPurgedCV on the same dates.

Runs in the peer benchmark environment (``make bench-peers`` builds it; skfolio is never a
dependency of the project). Prints one JSON record per measurement.

skfolio purges and embargoes by a row count, which is right for one row per date and wrong for a
panel (3,000 rows share a date). So it is timed twice: on one row per date (its intended use,
the same 5,000 dates) and on the full 15M-row panel (what a user would hand it).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from quant_core.model_selection import CombinatorialPurgedKFold


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(n_dates: int = 5000, n_assets: int = 3000, horizon_days: int = 5) -> list[dict]:
    from skfolio.model_selection import CombinatorialPurgedCV

    calendar = np.arange(np.datetime64("2000-01-03"), np.datetime64("2000-01-03") + n_dates * 7 // 5 + 10,
                         dtype="datetime64[D]")
    calendar = calendar[np.is_busday(calendar)][:n_dates]
    dates = np.repeat(calendar, n_assets)
    label_end = np.repeat(np.concatenate([calendar[horizon_days:], np.repeat(calendar[-1], horizon_days)]), n_assets)
    ours = CombinatorialPurgedKFold(n_splits=6, n_test_splits=2, embargo_days=horizon_days)
    peer = CombinatorialPurgedCV(n_folds=6, n_test_folds=2, purged_size=horizon_days, embargo_size=horizon_days)

    def drain(iterator):
        for _ in iterator:
            pass

    records = []
    ours_s = _time(lambda: drain(ours.split(dates, label_end)))
    records.append({"name": "quantflow CombinatorialPurgedKFold(6,2)", "rows": int(dates.size), "seconds": round(ours_s, 3)})
    one_per_date = np.zeros((n_dates, 1))
    peer_dates_s = _time(lambda: drain(peer.split(one_per_date)))
    records.append({"name": "skfolio CombinatorialPurgedCV(6,2), one row per date", "rows": n_dates,
                    "seconds": round(peer_dates_s, 3)})
    panel_rows = np.zeros((dates.size, 1), dtype=np.float32)
    peer_panel_s = _time(lambda: drain(peer.split(panel_rows)))
    records.append({"name": "skfolio CombinatorialPurgedCV(6,2), full panel rows", "rows": int(dates.size),
                    "seconds": round(peer_panel_s, 3),
                    "note": "purges by row count: wrong for a panel, timed for scale only"})
    records.append({"name": "ratio skfolio_panel / quantflow", "value": round(peer_panel_s / ours_s, 2)})
    for record in records:
        print(json.dumps(record), flush=True)
    return records


if __name__ == "__main__":
    main()
