"""describe / plot_folds / sklearn adapter / import hygiene."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score

from quant_core.model_selection import (
    CombinatorialPurgedKFold,
    PurgedKFold,
    SklearnSplitter,
    WalkForward,
    describe_splits,
    plot_folds,
)


def business_panel(n_dates=60, n_assets=3, horizon=3, seed=0):
    calendar = np.busday_offset("2023-01-02", np.arange(n_dates + horizon), roll="forward")
    dates = np.repeat(calendar[:n_dates], n_assets)
    label_end = np.repeat(calendar[horizon : n_dates + horizon], n_assets)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(dates), 4))
    y = X @ np.array([1.0, -0.5, 0.0, 0.2]) + 0.1 * rng.normal(size=len(dates))
    return dates, label_end, X, y


def test_describe_method_and_function_agree():
    dates, label_end, _, _ = business_panel()
    cv = CombinatorialPurgedKFold(5, 2, embargo_days=2)
    table = cv.describe(dates, label_end)
    assert table.equals(describe_splits(cv, dates, label_end))
    assert table.height == 10
    assert table["split"].to_list() == list(range(10))
    assert (table["n_test_dates"] == 24).all()
    folds = list(cv.split(dates, label_end))
    assert table["n_train"].to_list() == [len(tr) for tr, _ in folds]
    assert table["n_test"].to_list() == [len(te) for _, te in folds]
    # every row is train, test, purged or embargoed in k-fold style splitters
    total = table["n_train"] + table["n_test"] + table["n_purged"] + table["n_embargoed"]
    assert (total == len(dates)).all()
    first = table.row(0, named=True)
    assert str(first["test_start"]) == str(dates[0])


def test_plot_folds_writes_png(tmp_path):
    dates, label_end, _, _ = business_panel(n_dates=120, horizon=2)
    path = tmp_path / "folds.png"
    fig = plot_folds(PurgedKFold(4, embargo_days=4), dates, label_end, path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"split {i}" for i in range(4)]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["train", "test", "purged", "embargoed"]
    fig2 = plot_folds(WalkForward(3, min_train_days=30), dates, label_end, title="wf")
    assert fig2.axes[0].get_title() == "wf"


def test_cross_val_score_and_grid_search_accept_adapter():
    dates, label_end, X, y = business_panel()
    cv = SklearnSplitter(PurgedKFold(4, embargo_days=2), dates, label_end)
    assert cv.get_n_splits() == 4
    scores = cross_val_score(Ridge(alpha=1.0), X, y, cv=cv)
    assert scores.shape == (4,) and np.all(scores > 0.9)
    expected = []
    for train, test in PurgedKFold(4, embargo_days=2).split(dates, label_end):
        expected.append(Ridge(alpha=1.0).fit(X[train], y[train]).score(X[test], y[test]))
    np.testing.assert_allclose(scores, expected)
    grid = GridSearchCV(Ridge(), {"alpha": [0.1, 10.0]}, cv=cv).fit(X, y)
    assert len(grid.cv_results_["split3_test_score"]) == 2


@pytest.mark.parametrize("module", ["quant_core.model_selection"])
def test_import_pulls_no_plotting_or_orchestration(module):
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('matplotlib', 'dagster', 'mlflow') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
