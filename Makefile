# dedup: the two set-up commands are `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint bench quality clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,redis,spark,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dedup cluster --format table seeds/
	$(BIN)/dedup cluster seeds/

test: $(STAMP)
	$(BIN)/ruff check dedup tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check dedup tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pytest bench -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
