"""Signal validation: IC / Rank IC series, ICIR, HAC and bootstrap significance, decay, reports.

``report`` needs matplotlib only when writing HTML; importing this package does not import it.
"""

from quant_core.validation.decay import HalfLifeFit, fit_half_life, forward_return_columns, ic_decay
from quant_core.validation.ic import ic_series, pooled_ic_series
from quant_core.validation.report import (
    build_validation_report,
    ic_plot_png,
    significance_verdict,
    to_jsonable,
    write_html_report,
)
from quant_core.validation.significance import (
    ICSummary,
    block_bootstrap_mean_ci,
    fold_ic_table,
    hac_t_stat,
    ic_summary,
    newey_west_lags,
)

__all__ = [
    "HalfLifeFit",
    "ICSummary",
    "block_bootstrap_mean_ci",
    "build_validation_report",
    "fit_half_life",
    "fold_ic_table",
    "forward_return_columns",
    "hac_t_stat",
    "ic_decay",
    "ic_plot_png",
    "ic_series",
    "ic_summary",
    "newey_west_lags",
    "pooled_ic_series",
    "significance_verdict",
    "to_jsonable",
    "write_html_report",
]
