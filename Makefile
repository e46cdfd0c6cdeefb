# Two commands matter: `make demo` and `make test`. Each installs what it needs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := .insomnia-sso/demo
DEMO_STORE := sqlite:///$(DEMO)/state.db
DEMO_OPTS  := --store $(DEMO_STORE) --okta-outputs examples/okta-outputs.example.json
SSO    := $(BIN)/insomnia-sso

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
	$(BIN)/zizmor --offline .github/workflows/
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

schema: install
	$(BIN)/insomnia-sso schema > schema/insomnia-sso.schema.json

# The whole story on the example enterprise, offline: an embedded store under .insomnia-sso/demo
# and example Pulumi outputs (examples/okta-outputs.example.json, not real credentials).
demo: install
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "== 1. validate the spec ==" && $(SSO) validate specs/
	@echo && echo "== 2. Okta: what the Pulumi program declares (offline, under mocks) ==" \
	  && $(SSO) okta-preview specs/enterprise.yaml
	@echo && echo "== 3. Insomnia: plan against an empty store, saved for review (exit 2 = changes) ==" \
	  && $(SSO) plan specs/enterprise.yaml $(DEMO_OPTS) --out $(DEMO)/acme.plan; test $$? -eq 2
	@echo && echo "== 4. apply exactly the saved plan (the file is the approval; a stale one is refused) ==" \
	  && $(SSO) apply $(DEMO)/acme.plan --store $(DEMO_STORE) | grep -v '^     '

	@echo && echo "== 5. Insomnia verifies acme.com (DNS TXT); an owner sends platform's invitations; alice accepts ==" \
	  && $(SSO) store verify-domain acme.com --store $(DEMO_STORE) \
	  && $(SSO) plan specs/enterprise.yaml $(DEMO_OPTS) --format json | $(BIN)/python -c \
	    "import json, sys; print(*(s['key'] for s in json.load(sys.stdin)['manual_steps'] if s['kind'] == 'invitation' and s['key'].startswith('platform/')), sep='\n')" \
	  | $(SSO) confirm invitation --keys-from - specs/enterprise.yaml $(DEMO_OPTS) \
	  && $(SSO) confirm acceptance platform/alice.nguyen@acme.com specs/enterprise.yaml $(DEMO_OPTS)
	@echo && echo "== 6. onboarding status ==" && $(SSO) status specs/enterprise.yaml $(DEMO_OPTS)
	@echo && echo "== 7. plan again: no changes; the manual steps still wait (exit 2) =="
	@$(SSO) plan specs/enterprise.yaml $(DEMO_OPTS) > $(DEMO)/plan.txt; test $$? -eq 2
	@grep -v '^     ' $(DEMO)/plan.txt
	@echo && BIN=$(BIN) DEMO=$(DEMO) bash examples/scim-demo.sh

# Every bench runs, even after one misses a target (it exits 1); make bench then fails.
bench: install
	@status=0; for bench in spec_load okta_program reconcile scim import_spec cli phases instructions; do \
	  echo "== bench.$$bench"; $(BIN)/python -m bench.$$bench || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) .insomnia-sso .pytest_cache .mypy_cache .ruff_cache
