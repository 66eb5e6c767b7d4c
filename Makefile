# Two entry points: `make refresh` (set up + run the main job) and `make test` (set up + the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup refresh test test-fast lint clean bench-setup bench browser

$(STAMP): requirements-lock.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

refresh: $(STAMP)
	$(BIN)/deficit refresh --config configs/default.yaml

# The report tests open the HTML reports in Debian's headless chromium (tests/browser.py), with a
# Japanese font for the 億円 labels. Installed here when missing and this runs as root with apt;
# otherwise those tests skip and say why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
		&& fc-list :lang=ja 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium, chromium-driver and fonts-ipafont-gothic for the report tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
			fonts-ipafont-gothic >/dev/null; } \
		|| echo "note: could not install chromium: the browser tests will skip" >&2; \
	else echo "note: chromium/chromedriver missing and not root: the browser tests will skip" >&2; fi

# Lint, format and type check (pyproject.toml [tool.ruff], [tool.mypy]); `ruff format .` fixes the format.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) mlruns projections

# Benchmarks (benchmarks/README.md). Peers and the M3 data live in their own venv: sktime 1.2.0
# needs pandas < 3.1, so they are never installed into .venv (and never by `make test`).
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): requirements-bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $(BENCH_STAMP)

bench-setup: $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/peers.py
	$(BIN)/python benchmarks/refresh.py
	$(BIN)/python benchmarks/m3.py
