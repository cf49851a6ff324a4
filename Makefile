# The one entry point. Every target creates what it needs (.venv, local Node + CDK CLI)
# and re-running a target when nothing changed installs nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
# The configuration every target builds from: CONFIG=... on the command line, else the environment's
# DELIVERY_CONFIG (the same name as the GitHub repository variable the workflows read), else the sandbox.
CONFIG ?= $(or $(DELIVERY_CONFIG),config/sandbox.toml)
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The rehearsal is a tool of its own (tools/rehearsal: its requirements, moto[server], and its tests):
# only make rehearse and make test-rehearsal install it; synth and test never do.
REHEARSE_STAMP := $(VENV)/.rehearse-installed
# cfn-lint and checkov live in their own virtualenv: checkov pins older boto3 and packaging
# than the app does. They are called by path, never put on PATH.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
# Offline: no check metadata from the platform API (checkov also gets --skip-download from its
# config) and no look-up of a newer checkov release on PyPI.
CHECKOV := BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(SCAN_VENV)/bin/checkov
CANARY := scanners/canary
# The AWS Control Tower proactive controls, as cfn-guard rules (scanners/control_tower.py).
CONTROL_TOWER := $(SCAN_VENV)/bin/python scanners/control_tower.py
# The local Node 22 and CDK CLI come first, then the virtualenv: nothing global is used.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help synth test test-rehearsal lint scan snapshot-update bench network-cost rehearse deploy deploy-environment clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The configuration is validated first, in a step that loads no CDK: a bad file stops the synth with its
# one line (and make's own "make: *** [...] Error 2" after it), before cdk synth prints lines of its own.
synth: $(PY_STAMP) $(NODE_STAMP) ## Synthesize every stack offline (CONFIG=path/to/file.toml to choose the configuration)
	@python -m config "$(CONFIG)"
	cdk synth --quiet -c config="$(CONFIG)"
	@echo "synthesized $$(ls cdk.out/*.template.json | wc -l) stacks into cdk.out/ from $(CONFIG)"

# Every test it collects runs: a skip fails the run (conftest.py).
test: $(PY_STAMP) $(NODE_STAMP) ## Run the whole test suite (tests/: architecture, configuration, handlers, tooling)
	python -m pytest

# Every committed configuration is scanned, found by the glob (no list to keep in step): each design has
# resources the others lack (the ECS-native one, for example). The recipe's shell expands the glob, so a
# file name with a space stays one word.
SCANNED_CONFIGS := config/*.toml

lint: $(PY_STAMP) ## ruff, mypy, actionlint, then make scan over every committed configuration (config/*.toml)
	ruff check .
	ruff format --check .
	mypy
	actionlint
	@for config in $(SCANNED_CONFIGS); do $(MAKE) --no-print-directory scan CONFIG="$$config" || exit 1; done

$(SCAN_STAMP): requirements-scan.txt requirements-guard.txt
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@# Only the rule files and the cfn-guard binary of this package are used: no dependencies.
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-guard.txt
	@touch $@

scan: $(SCAN_STAMP) synth ## cfn-lint, checkov and the Control Tower controls over every synthesized template: any finding fails
	$(SCAN_VENV)/bin/cfn-lint --config-file scanners/cfn-lint.yaml
	@echo "cfn-lint: no finding in $$(ls cdk.out/*.template.json | wc -l) templates"
	$(CHECKOV) --config-file scanners/checkov.yaml
	$(CONTROL_TOWER)
	@# The versions and rule counts docs/security.md prints, checked against the installed scanners.
	$(SCAN_VENV)/bin/python scanners/rule_counts.py
	@# The canary: with the same configuration, a known-bad template must still fail every scanner
	@# (the Control Tower gate with exit code 1, findings, not 2, a gate that could not run).
	@$(CONTROL_TOWER) $(CANARY)/canary.template.json >/dev/null; test $$? -eq 1 \
		|| { echo "the Control Tower gate passed $(CANARY): the gate checks nothing"; exit 1; }
	@! $(SCAN_VENV)/bin/cfn-lint --config-file scanners/cfn-lint.yaml -- $(CANARY)/canary.template.json >/dev/null \
		|| { echo "cfn-lint passed $(CANARY): the gate checks nothing"; exit 1; }
	@! $(CHECKOV) --config-file scanners/checkov.yaml -d $(CANARY) >/dev/null \
		|| { echo "checkov passed $(CANARY): the gate checks nothing"; exit 1; }
	@echo "canary: cfn-lint, checkov and the Control Tower gate still fail the known-bad template in $(CANARY)"

snapshot-update: $(PY_STAMP) $(NODE_STAMP) ## Regenerate the template snapshots (review the diff before committing)
	python -m pytest tests/architecture/test_snapshots.py tests/architecture/test_ecs_native.py --snapshot-update

bench: $(PY_STAMP) $(NODE_STAMP) $(SCAN_STAMP) ## Print the pipeline's minimum push-to-prod time; time the full synth against an empty app, the Control Tower gate, and the test suite
	python -m tools.bench

network-cost: synth ## Monthly network cost of one environment vs one NAT per AZ (ENVIRONMENT=Prod|Staging|Dev)
	python -m tools.network_cost --env $(or $(ENVIRONMENT),Prod)

.PHONY: diagrams
diagrams: $(PY_STAMP) $(NODE_STAMP) ## Regenerate the generated blocks of README.md and docs/ (diagrams, findings tables, docs/cost.md)
	python -m tools.docgen

$(REHEARSE_STAMP): $(PY_STAMP) tools/rehearsal/requirements.txt
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/rehearsal/requirements.txt
	@touch $@

test-rehearsal: $(REHEARSE_STAMP) $(NODE_STAMP) ## The rehearsal's own tests (tools/rehearsal/tests, with moto)
	python -m pytest tools/rehearsal/tests

rehearse: $(REHEARSE_STAMP) synth ## Offline deploy rehearsal: deploy, day-2 scenarios, destroy in a local moto server (CONFIG=..., REHEARSE_PORT=n)
	python -m tools.rehearsal --config "$(CONFIG)" --assembly cdk.out$(if $(REHEARSE_PORT), --port $(REHEARSE_PORT))

# Break-glass deploy. release_guard.lock first takes the lock of each environment the stacks belong to:
# the inbound transition of the pipeline's Deploy-<Env> stage, with the person's tools-account
# credentials (refused with exit 3 while that stage runs or someone else holds it). Inside the lock
# the guard reads the live accounts (through the CDK lookup roles) and prints ImageTag=<live image>,
# or refuses with one line and exit 3; cdk deploy then deploys exactly the assembly the guard checked
# (--app cdk.out: no second synth). The lock is given back whatever the deploy ends with.
deploy: synth ## Break-glass: lock Deploy-<Env>, pre-deploy guard (release_guard), cdk deploy, unlock (STACKS="A B", default every stack)
	@python -m release_guard.lock hold --config "$(CONFIG)" --assembly cdk.out $(or $(STACKS),--all) -- bash -c '\
	parameters=$$(python -m release_guard --assembly cdk.out $(or $(STACKS),--all) $(GUARD_OPTIONS)) || exit $$?; \
	cdk deploy --app cdk.out $(or $(STACKS),--all) --require-approval never $$parameters'

# The pipeline's own infrastructure deploy (the Infrastructure action of each Deploy-<Env> stage runs it):
# one environment's stacks from an assembly already synthesized, with the commit's image tag.
deploy-environment: $(PY_STAMP) $(NODE_STAMP) ## Deploy one environment's stacks from an assembly (ENVIRONMENT=dev|staging|prod|tools IMAGE_TAG=... ASSEMBLY=cdk.out; REVIEW=file: diff only)
	python -m release_guard.environment_deploy --assembly $(or $(ASSEMBLY),cdk.out) --environment "$(ENVIRONMENT)"$(if $(IMAGE_TAG), --image-tag "$(IMAGE_TAG)")$(if $(REVIEW), --review "$(REVIEW)")

clean: ## Remove generated output (cdk.out, caches); keeps .venv and node_modules
	rm -rf cdk.out release reports imageDetail.json .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './.venv-scan/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
