# Two commands matter: `make demo` and `make test`. Both create and fill their virtual environments themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The oldest openai release we support; 1.x clients need httpx < 0.28 (0.28 removed the `proxies` argument).
OLDEST_OPENAI := openai==1.40.0 httpx==0.27.2
OLDEST := .venv-oldest

.PHONY: install system-deps demo test test-latest test-oldest test-matrix lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[all,dev]'
	touch $@

$(OLDEST)/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install -q --upgrade pip uv
	$(OLDEST)/bin/uv pip install --python $(OLDEST)/bin/python -q -e '.[dev]' $(OLDEST_OPENAI)
	touch $@

install: $(BIN)/.installed

# Debian's redis-server for the shared (Redis) budget-ledger tests; the tests start their own on loopback.
system-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (Debian) for the Redis ledger tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is not installed and cannot be installed here: the Redis ledger tests will skip"; \
	  fi; }

demo: $(BIN)/.installed
	$(BIN)/python examples/demo_app.py --output demo-output/spans.jsonl
	@echo
	@echo "Cost per trace, read back from demo-output/spans.jsonl:"
	$(BIN)/otel-tokenomics report demo-output/spans.jsonl
	@echo
	@echo "Cost per provider:"
	$(BIN)/otel-tokenomics report demo-output/spans.jsonl --by provider

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test-latest: $(BIN)/.installed
	$(BIN)/python -m pytest

# The OpenAI-facing suites again against the oldest supported SDK, minus what that SDK cannot do.
test-oldest: $(OLDEST)/bin/.installed
	$(OLDEST)/bin/python -m pytest -m "not responses_api and not httpx2" tests/test_openai_conformance.py \
		tests/test_openai_instrumentation.py tests/test_fake_provider.py

test: system-deps lint test-latest test-oldest

# Every SDK's suites against the oldest release its extra declares and the latest one (slow: 16 venvs).
test-matrix: system-deps $(BIN)/.installed
	$(BIN)/python scripts/test_matrix.py

bench: system-deps $(BIN)/.installed
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[all,dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OLDEST) .venv-matrix demo-output build dist *.egg-info
