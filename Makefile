# The one entry point. Every target creates what it needs (.venv, local Node + CDK CLI)
# and re-running a target when nothing changed installs nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
CONFIG ?= config/sandbox.toml
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# moto[server] for `make rehearse` only: synth and test never install it.
REHEARSE_STAMP := $(VENV)/.rehearse-installed
# The local Node 22 and CDK CLI come first, then the virtualenv: nothing global is used.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help synth test lint snapshot-update bench network-cost rehearse clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

synth: $(PY_STAMP) $(NODE_STAMP) ## Synthesize every stack offline (CONFIG=path/to/file.toml to choose the configuration)
	cdk synth --quiet -c config=$(CONFIG)
	@echo "synthesized $$(ls cdk.out/*.template.json | wc -l) stacks into cdk.out/ from $(CONFIG)"

test: $(PY_STAMP) $(NODE_STAMP) ## Run the whole test suite
	python -m pytest

lint: $(PY_STAMP) ## ruff (lint + format check), mypy on the app code, actionlint on .github/workflows
	ruff check .
	ruff format --check .
	mypy
	actionlint

snapshot-update: $(PY_STAMP) $(NODE_STAMP) ## Regenerate the template snapshots (review the diff before committing)
	python -m pytest tests/test_snapshots.py --snapshot-update

bench: $(PY_STAMP) $(NODE_STAMP) ## Time the full synth against an empty app, and the test suite
	python scripts/bench.py

network-cost: synth ## Monthly network cost of one environment vs one NAT per AZ (ENVIRONMENT=Prod|Staging|Dev)
	python scripts/network_cost.py --env $(or $(ENVIRONMENT),Prod)

$(REHEARSE_STAMP): $(PY_STAMP) requirements-rehearse.txt
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-rehearse.txt
	@touch $@

rehearse: $(REHEARSE_STAMP) synth ## Offline deploy rehearsal: deploy and destroy every stack in a local moto server (REHEARSE_PORT=n to choose its port)
	python scripts/rehearse.py --config $(CONFIG) --assembly cdk.out$(if $(REHEARSE_PORT), --port $(REHEARSE_PORT))

clean: ## Remove generated output (cdk.out, caches); keeps .venv and node_modules
	rm -rf cdk.out release reports imageDetail.json .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
