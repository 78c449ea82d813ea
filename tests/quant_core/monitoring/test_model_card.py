"""Model cards: every section present with the exact values, and the limitations that follow from them."""

import datetime as dt

import polars as pl

from quant_core.models.model_card import ModelCard, known_limitations


def _card(**overrides):
    folds = pl.DataFrame({"fold": ["0", "overall"], "start": [dt.date(2021, 1, 4)] * 2,
                          "rank_ic_mean": [0.05123456, 0.06], "p_hac": [0.2, 0.001]})
    base = {
        "name": "quantflow-lightgbm", "version": "7", "family": "lightgbm", "data_version": "abc123",
        "code_version": "deadbeef", "config_hash": "cfg42", "dagster_run_id": "run-1",
        "train_start": dt.date(2020, 1, 1), "train_end": dt.date(2021, 6, 30), "n_rows": 12000,
        "n_dates": 400, "n_assets": 30, "horizon_days": 5, "lag_days": 1, "target_kind": "raw",
        "features": ["sig_fast", "noise_1"], "params": {"num_leaves": 15, "learning_rate": 0.05},
        "fold_scheme": "walk_forward", "embargo_days": 5, "folds": folds,
        "metrics": {"rank_ic_mean": 0.06, "p_hac": 0.001},
    }
    base.update(overrides)
    base["limitations"] = known_limitations(base["metrics"], horizon_days=base["horizon_days"],
                                            n_oos_dates=150, n_assets=base["n_assets"],
                                            fold_scheme=base["fold_scheme"])
    return ModelCard(**base)


def test_card_shows_identity_lineage_data_label_features_and_validation():
    text = _card().to_markdown()
    assert text.startswith("# Model card: quantflow-lightgbm version 7\n")
    for line in ("- data version: `abc123`", "- code version: `deadbeef`", "- config hash: `cfg42`",
                 "- Dagster run: `run-1`", "- period: 2020-01-01 .. 2021-06-30 (400 dates)",
                 "- universe: 30 assets, 12000 rows", "- label: raw, horizon 5 day(s), lag 1 day(s)",
                 "`sig_fast`, `noise_1`", "- learning_rate: 0.05", "- num_leaves: 15",
                 "## Validation (walk_forward, embargo 5 day(s))",
                 "| fold | start | rank_ic_mean | p_hac |", "| 0 | 2021-01-04 | 0.05123 | 0.2 |",
                 "- rank_ic_mean: 0.06"):
        assert line in text, line
    assert "expected raw return from close t+1 to close t+6" in text


def test_limitations_follow_from_the_numbers():
    notes = known_limitations({"p_hac": 0.3}, horizon_days=5, n_oos_dates=100, n_assets=30,
                              fold_scheme="purged_kfold")
    text = "\n".join(notes)
    assert "not significant at 0.05 (HAC p = 0.3)" in text
    assert "Only 100 out-of-sample dates" in text
    assert "small universe (30 assets)" in text
    assert "Labels overlap (5-day horizon)" in text
    assert "purged k-fold" in text
    healthy = known_limitations({"p_hac": 0.001}, horizon_days=1, n_oos_dates=600, n_assets=300,
                                fold_scheme="walk_forward")
    assert len(healthy) == 2  # only the two caveats every signal model carries
    assert "Known limitations" in _card().to_markdown()
