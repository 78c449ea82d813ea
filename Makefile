# The README's commands. Each target does its own set-up on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STATE  ?= $(CURDIR)/.qf_state
STAMP  := $(VENV)/.installed
# benchmark peers live in venvs of their own, never in the project's dependencies:
# skfolio (CPCV) and pyqlib (IC; it wants pandas 3)
PEER_VENV := .bench_venv
QLIB_VENV := .bench_qlib_venv
CVX_VENV  := .bench_cvx_venv
export QF_STATE_DIR := $(STATE)
export DAGSTER_HOME := $(STATE)/dagster
export MLFLOW_DISABLE_TELEMETRY ?= true

.PHONY: setup demo test test-fast bench bench-peers dev mlflow-ui lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'python_logs:\n  python_log_level: INFO\ntelemetry:\n  enabled: false\n' > $@

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/qf --state-dir $(STATE) demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP) $(QLIB_VENV)/.installed $(CVX_VENV)/.installed
	mkdir -p bench_results
	$(BIN)/python -m benchmarks.run --out bench_results/bench.json

# peers (skfolio, ...) live in their own venv, never in the project's dependencies
$(PEER_VENV)/.installed:
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install --quiet skfolio numpy polars==2.1.0
	touch $@

# pyqlib wants pandas 3, so it gets a venv of its own
$(QLIB_VENV)/.installed:
	$(PYTHON) -m venv $(QLIB_VENV)
	$(QLIB_VENV)/bin/python -m pip install --quiet pyqlib==0.9.7 polars==2.1.0
	touch $@

# cvxportfolio (cost model and simulator) wants pandas 3 and cvxpy: a venv of its own
$(CVX_VENV)/.installed:
	$(PYTHON) -m venv $(CVX_VENV)
	$(CVX_VENV)/bin/python -m pip install --quiet cvxportfolio==1.5.1 polars==2.1.0
	touch $@

bench-peers: $(STAMP) $(PEER_VENV)/.installed $(QLIB_VENV)/.installed $(CVX_VENV)/.installed
	mkdir -p bench_results
	$(CVX_VENV)/bin/python benchmarks/peers/cvx_cost_check.py | tee bench_results/peers_cvx_costs.json
	$(BIN)/python -m pytest -q tests/test_cvxportfolio_peer.py tests/test_cvxportfolio_simulator_peer.py
	$(PEER_VENV)/bin/python benchmarks/peers/bench_cpcv_vs_skfolio.py | tee bench_results/peers_cpcv.jsonl
	$(BIN)/python benchmarks/bench_ic.py --qlib-python $(QLIB_VENV)/bin/python | tee bench_results/peers_ic.jsonl

dev: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

mlflow-ui: $(STAMP)
	mkdir -p $(STATE)/mlflow
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(STATE)/mlflow/mlflow.db --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check quant_core quant_registry dagster_project tests benchmarks

clean:
	rm -rf $(STATE) bench_results
