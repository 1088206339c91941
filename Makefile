# The report's steps. `make setup`, then `make report PERIOD=2024-Q2` and `make serve` (the site at
# http://127.0.0.1:8000/); `make test` runs the tests.
PERIOD ?= 2024-Q2
DATA ?= data/sample
SITE ?= reports/_site
PORT ?= 8000
VENV ?= .venv
PYTHON ?= python3

PY := $(VENV)/bin/python
RR := $(VENV)/bin/retention-report
SAMPLE := data/sample/customers.csv
# User-given values reach the commands through the environment ("$$PERIOD"), never pasted into the command
# line the shell parses: a value holding `...`, $(...) or a quote stays one inert argument.
export PERIOD DATA SITE PORT CUSTOMERS CURVE ENGINE
AXE := tests/browser/node_modules/axe-core/axe.min.js

.PHONY: setup report serve test lab bench clean

setup: $(VENV)/.installed $(SAMPLE) $(AXE)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

$(SAMPLE): src/retention_report/sample_data.py | $(VENV)/.installed
	$(RR) sample-data --out data/sample

# axe-core for the accessibility test, from the npm registry (skipped where npm is missing).
$(AXE): tests/browser/package.json
	@if command -v npm >/dev/null 2>&1; then npm install --prefix tests/browser --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the accessibility test will be skipped"; fi

report: setup
	$(RR) build --period "$$PERIOD" --data "$$DATA" --site "$$SITE"

# The built site over HTTP on 127.0.0.1 only (Quarto's scripts need http; Ctrl+C stops).
serve: setup
	$(RR) serve --site "$$SITE" --port "$$PORT"

# One worker per core, each taking whole test files (a file's tests share its fixtures, such as a sample build).
test: setup
	$(PY) -m pytest -n auto --dist loadfile

# JupyterLab on notebooks/ with the sample warehouse built (the notebooks' defaults read it).
lab: setup
	$(VENV)/bin/pip install --quiet -e '.[dev,lab]'
	$(RR) build --period 2024-Q2 --data "$$DATA" --site "$$SITE"
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# A build on the sample business scaled up (default 1,000,000 customers) beside a hand-written DuckDB query and
# pandas, measured in the same run (takes several minutes; never part of `make test`). docs/performance.md.
# ENGINE=spark builds the workload with its marts on DuckDB and on Spark in local mode, side by side.
CUSTOMERS ?= 1000000
CURVE ?= 3000000
ENGINE ?= duckdb
bench: setup
	if [ "$$ENGINE" = spark ]; then $(VENV)/bin/pip install --quiet -e '.[dev,spark]'; fi
	$(RR) bench --customers "$$CUSTOMERS" --curve "$$CURVE" --engine "$$ENGINE"

clean:
	rm -rf build reports/_site reports/._site.* reports/.quarto
