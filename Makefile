# Two commands matter: `make demo` and `make test`. Both create and fill their virtual environments themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The oldest openai release we support; 1.x clients need httpx < 0.28 (0.28 removed the `proxies` argument).
OLDEST_OPENAI := openai==1.40.0 httpx==0.27.2
OLDEST := .venv-oldest
# LiteLLM gets a venv of its own: recent releases (1.106) pin openai below the 3.x the main venv tests, and a
# package with a record of compromised releases stays out of the main venv. Its extra pins a vetted release
# (README, "LiteLLM"); its cost map is read from the installed package, not fetched from the network.
LITELLM_VENV := .venv-litellm

.PHONY: install system-deps collector-deps demo bench-collector bench-report test test-latest test-oldest test-litellm test-matrix lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	@# --compile-bytecode: as pip does; without .pyc files every CLI run recompiles the price catalog (~0.7 s).
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -e '.[all,dev]'
	touch $@

$(OLDEST)/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install -q --upgrade pip uv
	$(OLDEST)/bin/uv pip install --python $(OLDEST)/bin/python -q -e '.[dev]' $(OLDEST_OPENAI)
	touch $@

install: $(BIN)/.installed

# Debian's redis-server for the shared (Redis) budget-ledger tests; the tests start their own on loopback.
# Debian's chromium (headless) for the HTML report's screenshot test.
# Debian's prometheus (+ promtool) for tests/test_prometheus_e2e.py, which starts its own server; the packaged
# service is disabled (policy-rc.d already stops it from starting in containers).
system-deps: collector-deps
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (Debian) for the Redis ledger tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is not installed and cannot be installed here: the Redis ledger tests will skip"; \
	  fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian) for the HTML report's browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is not installed and cannot be installed here: the HTML report's browser tests will skip"; \
	  fi; }
	@command -v prometheus >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing prometheus (Debian) for the Prometheus end-to-end and dashboard tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi; \
	  else \
	    echo "prometheus is not installed and cannot be installed here: the Prometheus tests will skip"; \
	  fi; }

# The Rotel collector (`otel-tokenomics collector`, the demo, tests/test_collector_*.py) embeds
# libpython3.11.so.1.0: this Python's own if it was built shared, else Debian's libpython3.11.
collector-deps:
	@$(PYTHON) -c "import os, sysconfig; exit(not os.path.exists(os.path.join(sysconfig.get_config_var('LIBDIR') or '', 'libpython3.11.so.1.0')))" 2>/dev/null \
	  || ldconfig -p 2>/dev/null | grep -q 'libpython3\.11\.so\.1\.0' || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing libpython3.11 (Debian) for the Rotel collector tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpython3.11 >/dev/null; \
	  else \
	    echo "libpython3.11.so.1.0 is not installed and cannot be installed here: the Rotel collector tests will fail"; \
	  fi; }

demo: collector-deps $(BIN)/.installed
	$(BIN)/python examples/demo_app.py --output demo-output/spans.jsonl --collector-output demo-output/collector.jsonl
	@echo
	@echo "Cost per trace, read back from demo-output/spans.jsonl:"
	$(BIN)/otel-tokenomics report demo-output/spans.jsonl --no-progress
	@echo
	@echo "Cost per provider:"
	$(BIN)/otel-tokenomics report demo-output/spans.jsonl --by provider --no-progress
	@echo
	@echo "Cost per service, read from what the collector wrote (both apps, priced by the collector):"
	$(BIN)/otel-tokenomics report demo-output/collector.jsonl --by service --no-progress
	@$(BIN)/otel-tokenomics report demo-output/spans.jsonl --format html -o demo-output/report.html --no-progress
	@$(BIN)/otel-tokenomics focus demo-output/spans.jsonl -o demo-output/focus.csv
	@echo
	@echo "Written next to the tables:"
	@echo "  demo-output/report.html   the HTML cost report (open it in a browser)"
	@echo "  demo-output/focus.csv     FOCUS 1.2 cost-and-usage rows for FinOps tools"
	@echo "  demo-output/collector.jsonl  the spans as the collector priced and rolled them up (OTLP JSON lines)"

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test-latest: $(BIN)/.installed
	$(BIN)/python -m pytest

# The OpenAI-facing suites again against the oldest supported SDK, minus what that SDK cannot do.
test-oldest: $(OLDEST)/bin/.installed
	$(OLDEST)/bin/python -m pytest -m "not responses_api and not httpx2" tests/test_openai_conformance.py \
		tests/test_openai_instrumentation.py tests/test_fake_provider.py

$(LITELLM_VENV)/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/python -m pip install -q --upgrade pip uv
	$(LITELLM_VENV)/bin/uv pip install --python $(LITELLM_VENV)/bin/python -q -e '.[dev,litellm,openai,anthropic]'
	touch $@

# The LiteLLM suites (marked `litellm`, deselected in the main venv), with the OpenAI and Anthropic adapters beside.

test-litellm: $(LITELLM_VENV)/bin/.installed
	LITELLM_LOCAL_MODEL_COST_MAP=True $(LITELLM_VENV)/bin/python -m pytest -m litellm \
		tests/test_litellm_conformance.py tests/test_litellm_instrumentation.py

test: system-deps lint test-latest test-oldest test-litellm

# Every SDK's suites against the oldest release its extra declares and the latest one (slow: 16 venvs).
test-matrix: system-deps $(BIN)/.installed
	$(BIN)/python scripts/test_matrix.py

bench: system-deps $(BIN)/.installed
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[all,dev,bench]'
	$(BIN)/python benchmarks/run.py

# Spans/s through Rotel with our processor vs Rotel passthrough (exits 1 when the 0.5x target is missed).
bench-collector: collector-deps $(BIN)/.installed
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[all,dev,bench]'
	$(BIN)/python benchmarks/bench_collector.py

# `report` throughput and peak memory on generated 250k- and 1M-span files.
bench-report: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_report.py

clean:
	rm -rf $(VENV) $(OLDEST) $(LITELLM_VENV) .venv-matrix demo-output build dist *.egg-info
