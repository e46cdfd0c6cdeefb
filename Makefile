# Two commands matter: `make demo` and `make test`. Each installs what it needs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := .insomnia-sso/demo

.PHONY: install test lint typecheck unit demo bench schema clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

schema: install
	$(BIN)/insomnia-sso schema > schema/insomnia-sso.schema.json

demo: install
	@echo "== 1. validate the spec ==" && $(BIN)/insomnia-sso validate specs/
	@echo && echo "== 2. what the Pulumi program declares in Okta (offline, under mocks) ==" \
	  && $(BIN)/insomnia-sso okta-preview specs/enterprise.yaml

bench: install
	$(BIN)/python bench/spec_load.py
	$(BIN)/python bench/okta_program.py

clean:
	rm -rf $(VENV) .insomnia-sso .pytest_cache .mypy_cache .ruff_cache
