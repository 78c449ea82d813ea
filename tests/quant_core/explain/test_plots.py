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
