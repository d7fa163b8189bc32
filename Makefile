# One way to run everything: the README's commands are these targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python bot.py --demo

# Two workers: the suite waits on processes, servers and sleeps as much as it computes. Tests of one
# xdist_group (tests/conftest.py) share a worker; `python -m pytest` alone still runs everything serially.
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Every benchmark, its output kept in benchmarks/results/ (each ends in one JSON line), then today's figures
# against the committed benchmarks/baseline.json as ratios. `--no-naive` skips bench_binance's 70 s naive run.
BENCHMARKS := bench_startup.py bench_core.py bench_charts.py bench_telegram.py bench_backtest.py bench_hourly.py \
	"bench_binance.py --no-naive" bench_ranking.py bench_costs.py bench_dashboard.py bench_book.py

bench: SHELL := /bin/bash
bench: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test,bench]"
	mkdir -p benchmarks/results
	set -o pipefail; for b in $(BENCHMARKS); do \
		$(BIN)/python benchmarks/$$b | tee benchmarks/results/$${b%%.py*}.log || exit 1; done
	$(BIN)/python benchmarks/compare.py

clean:
	rm -rf $(VENV)
