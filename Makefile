# dedup: the two set-up commands are `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test test-slow lint bench quality clean redis

$(STAMP): pyproject.toml dedup/_core.c dedup/_normalize.c dedup/_align.c
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,redis,spark,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dedup cluster --format table seeds/
	$(BIN)/dedup cluster seeds/

test: $(STAMP) redis
	$(BIN)/ruff check dedup tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not slow"

# The long runs: Spark vs local on a 10,000-document crawl (20-40 min here), a 50 MB document.
test-slow: $(STAMP)
	DEDUP_SLOW=1 $(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check dedup tests bench
	$(BIN)/mypy

bench: $(STAMP) redis
	$(BIN)/pytest bench -q

# Idempotent; never fails the build: without apt the Redis tests and benchmarks skip.
redis:
	@command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server) \
		|| echo "redis-server not installed: Redis tests will be skipped"

quality: $(STAMP)
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
