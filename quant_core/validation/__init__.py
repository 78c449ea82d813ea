"""Signal validation: IC / Rank IC series, ICIR, HAC and bootstrap significance, decay,
stability, quantiles, diagnostics, multiple-testing corrections and reports.

``report`` needs matplotlib only when writing HTML; importing this package does not import it.
"""

from quant_core.validation.breaks import (
    BreakTest,
    andrews_sup_wald_pvalue,
    chow_test,
    cusum_test,
    sup_wald_test,
)
from quant_core.validation.decay import HalfLifeFit, fit_half_life, forward_return_columns, ic_decay
from quant_core.validation.diagnostics import heteroskedasticity_tests, ljung_box, signal_regression
from quant_core.validation.ic import ic_series, pooled_ic_series
from quant_core.validation.multiple_testing import (
    DeflatedSharpe,
    PBOResult,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from quant_core.validation.quantiles import (
    QuantileAnalysis,
    assign_quantiles,
    quantile_analysis,
    quantile_returns,
    quantile_turnover,
    rank_autocorrelation,
    rank_autocorrelation_series,
)
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
    fixed_b_critical_value,
    fixed_b_df,
    fold_ic_table,
    hac_t_stat,
    ic_summary,
    newey_west_lags,
)
from quant_core.validation.stability import (
    ic_by_group,
    ic_by_period,
    ic_by_regime,
    positive_share,
    rolling_ic,
)

__all__ = [
    "BreakTest",
    "DeflatedSharpe",
    "HalfLifeFit",
    "ICSummary",
    "PBOResult",
    "QuantileAnalysis",
    "andrews_sup_wald_pvalue",
    "assign_quantiles",
    "block_bootstrap_mean_ci",
    "build_validation_report",
    "chow_test",
    "cusum_test",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "fit_half_life",
    "fixed_b_critical_value",
    "fixed_b_df",
    "fold_ic_table",
    "forward_return_columns",
    "hac_t_stat",
    "heteroskedasticity_tests",
    "ic_by_group",
    "ic_by_period",
    "ic_by_regime",
    "ic_decay",
    "ic_plot_png",
    "ic_series",
    "ic_summary",
    "ljung_box",
    "newey_west_lags",
    "pooled_ic_series",
    "positive_share",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "quantile_analysis",
    "quantile_returns",
    "quantile_turnover",
    "rank_autocorrelation",
    "rank_autocorrelation_series",
    "rolling_ic",
    "signal_regression",
    "significance_verdict",
    "sup_wald_test",
    "to_jsonable",
    "write_html_report",
]
