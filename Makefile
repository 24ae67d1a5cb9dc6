# Set-up is part of every target: a fresh clone needs nothing but python3 (>= 3.11).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tropism run examples/scenarios/demo_glioma_homing.toml --out output/demo
	@echo "Output folder: output/demo (timeseries.csv, body.csv; output*.xml for PhysiCell's tools)"

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_throughput.py
	$(BIN)/python benchmarks/bench_populations.py
	$(BIN)/python benchmarks/bench_body.py
	$(BIN)/python benchmarks/bench_scaling.py

clean:
	rm -rf $(VENV) output build *.egg-info src/*.egg-info
