import numpy as np
import pytest

from quant_core.explain import (
    feature_groups,
    fold_shap,
    group_bar_plot,
    group_contributions,
    permutation_importance,
    permutation_importance_plot,
    regime_importance_plot,
    shap_by_regime,
    shap_dependence_plot,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shap_frame(fitted):
    return fold_shap(
        fitted.result.models, fitted.frame, fitted.splits, fitted.features, max_rows_per_fold=400
    )


def is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 5000


def test_dependence_plot(fitted, shap_frame, tmp_path):
    sv = shap_frame.select(fitted.features).to_numpy()
    X = shap_frame.select("date", "asset").join(fitted.frame, on=["date", "asset"])
    out = shap_dependence_plot(sv, X, fitted.features, tmp_path / "a" / "dep.png", top_n=3)
    assert is_png(out)
    with pytest.raises(ValueError, match="does not match"):
        shap_dependence_plot(sv, np.zeros((2, 8)), fitted.features, tmp_path / "x.png")


def test_group_regime_and_permutation_plots(fitted, shap_frame, tmp_path):
    groups = feature_groups(fitted.features)
    assert is_png(group_bar_plot(group_contributions(shap_frame, groups), tmp_path / "g.png"))
    table = shap_by_regime(shap_frame, fitted.market.regimes, fitted.features)
    assert is_png(regime_importance_plot(table, tmp_path / "r.png"))
    model = fitted.result.models[-1]
    rows = fitted.frame[fitted.splits[-1][1]]
    perm = permutation_importance(model, rows, n_repeats=2, n_boot=100)
    assert is_png(permutation_importance_plot(perm.table, tmp_path / "p.png"))


def _perm_table(items, kind, seed=0):
    """A table shaped like ``PermutationImportance.table`` with distinct random importances."""
    import polars as pl

    rng = np.random.default_rng(seed)
    imp = rng.permutation(len(items)) * 1e-4 - 2e-3
    return pl.DataFrame(
        {
            "item": items,
            "kind": kind,
            "columns": items,
            "baseline_rank_ic": 0.05,
            "permuted_rank_ic": 0.05 - imp,
            "importance": imp,
            "importance_std": 1e-4,
            "t_ci_low": imp - 1e-4,
            "t_ci_high": imp + 1e-4,
            "boot_ci_low": imp - 3e-4,
            "boot_ci_high": imp + 3e-4,
            "n_repeats": 5,
            "n_dates": 300,
        }
    ).sort("importance", descending=True)


def _tick_labels(ax):
    """Tick labels from top to bottom of the panel."""
    return [t.get_text() for t in ax.get_yticklabels()][::-1]


def test_permutation_plot_of_a_wide_panel_is_bounded_and_shows_the_top_25(tmp_path):
    import polars as pl
    from matplotlib.image import imread

    from quant_core.explain.plots import _permutation_figure, permutation_plot_rows

    features = _perm_table([f"FEATURE_{i:03d}" for i in range(157)], "feature")
    families = _perm_table([f"family_{i}" for i in range(8)], "group", seed=1)
    expected = features.sort("importance", descending=True)["item"].head(25).to_list()

    # features only, as the asset calls it: one panel of 25 bars, 800 x 1,200 px
    out = permutation_importance_plot(features, tmp_path / "p.png")
    height, width = imread(out).shape[:2]
    assert height <= 1400 and width <= 1600
    fig = _permutation_figure(features, None, 25)
    (ax,) = fig.axes
    assert _tick_labels(ax) == expected
    assert "top 25 of 157 features" in ax.get_title()

    # families given in the same table or as groups_table: a second panel, same height
    both = pl.concat([features, families])
    shown_f, shown_g = permutation_plot_rows(both)
    assert shown_f["item"].to_list() == expected
    assert shown_g["item"].to_list() == families["item"].to_list()  # all 8, by importance
    for fig in (_permutation_figure(both, None, 25), _permutation_figure(features, families, 25)):
        ax_f, ax_g = fig.axes[:2]
        assert _tick_labels(ax_f) == expected
        assert _tick_labels(ax_g) == families["item"].to_list()
        assert "8 families" in ax_g.get_title()
    out = permutation_importance_plot(features, tmp_path / "pg.png", groups_table=families)
    assert imread(out).shape[0] <= 1400


def test_permutation_plot_of_a_small_table_draws_every_item(tmp_path):
    from quant_core.explain.plots import _permutation_figure, permutation_plot_rows

    small = _perm_table(["a", "b", "c"], "feature")
    assert permutation_plot_rows(small)[1].height == 0
    (ax,) = _permutation_figure(small, None, 25).axes
    assert _tick_labels(ax) == small["item"].to_list()
    assert is_png(permutation_importance_plot(small, tmp_path / "s.png"))
    with pytest.raises(ValueError, match="top_n"):
        permutation_plot_rows(small, top_n=0)
