"""Picture of a splitter's fold layout: one bar per split, coloured by what each date does.

matplotlib is imported inside the function (and only its object API with the Agg canvas is
used), so importing the splitters never pulls in a plotting backend.
"""

from __future__ import annotations

import numpy as np

from ._calendar import build_calendar, runs
from ._purge import EMBARGOED, OUT, PARTIAL, PARTIAL_EMBARGOED, PURGED, STATUS_NAMES, TEST, TRAIN

_COLORS = {
    TRAIN: "#4C72B0",
    TEST: "#DD8452",
    PURGED: "#555555",
    EMBARGOED: "#B07AA1",
    PARTIAL: "#A6BDDB",
    PARTIAL_EMBARGOED: "#D4B9DA",
}


def plot_folds(splitter, dates, label_end, path=None, *, title: str | None = None):
    """Draw train / test / purged / embargoed dates of every split over time.

    Parameters
    ----------
    splitter : a splitter from ``quant_core.model_selection``
    dates, label_end : array-like of dates, one per row (as for ``split``)
    path : str or path-like, optional
        Where to save the figure as PNG.
    title : str, optional
        Figure title; defaults to the splitter's repr.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    cal = build_calendar(dates, label_end)
    folds = list(splitter._folds(cal))
    days = cal.days.astype(np.float64)  # matplotlib date numbers are days since 1970-01-01
    # each date's bar reaches the next date so weekends/holidays do not show as gaps
    right = np.append(days[1:], days[-1] + 1.0)

    fig = Figure(figsize=(10, 1.2 + 0.35 * len(folds)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    used = set()
    for i, fold in enumerate(folds):
        for code, color in _COLORS.items():
            lo, hi = runs(fold.status == code)
            if lo.size == 0:
                continue
            used.add(code)
            bars = [(days[a], right[b - 1] - days[a]) for a, b in zip(lo, hi)]
            hatch = "//" if code in (PARTIAL, PARTIAL_EMBARGOED) else None
            ax.broken_barh(bars, (i - 0.4, 0.8), facecolors=color, hatch=hatch, linewidth=0)
    ax.set_ylim(len(folds) - 0.5, -0.5)
    ax.set_yticks(range(len(folds)), [f"split {i}" for i in range(len(folds))])
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(days[0], right[-1])
    ax.set_xlabel("date")
    ax.set_title(title if title is not None else repr(splitter))
    handles = [
        Patch(
            facecolor=_COLORS[c],
            label=STATUS_NAMES[c],
            hatch="//" if c in (PARTIAL, PARTIAL_EMBARGOED) else None,
        )
        for c in _COLORS
        if c in used and c != OUT
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    if path is not None:
        fig.savefig(path, format="png", dpi=110)
    return fig
