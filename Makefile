# The newcomer's path: `make run` starts the local stack, `make test` runs every tier.
# Both install what they need first (a virtualenv on Python 3.13, the Lambda runtime's version).

SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
PY := $(VENV)/bin/python
LOCAL_PATH := PYTHONPATH="$(CURDIR)/local:$(CURDIR)/layers/shared"
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test test-fast lint build validate bench deploy redrive webhook-secret clean

$(VENV)/.installed: requirements/dev.txt requirements/dev.lock layers/shared/requirements.txt
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==26.3
	$(PY) -m pip install -q -r requirements/dev.txt -c requirements/dev.lock
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt requirements/sam.lock
	@test -x $(SAM_VENV)/bin/python || "$$(scripts/find-python)" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip==26.3
	$(SAM_VENV)/bin/python -m pip install -q -r requirements/sam.txt -c requirements/sam.lock
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt requirements/checkov.lock
	@test -x $(CHECKOV_VENV)/bin/python || "$$(scripts/find-python)" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --upgrade pip==26.3
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements/checkov.txt -c requirements/checkov.lock
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	@$(LOCAL_PATH) $(PY) -m textgate_local

test: $(VENV)/.installed $(SAM_VENV)/.installed
	$(MAKE) --no-print-directory validate
	$(MAKE) --no-print-directory lint
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(PY) -m pytest -n 2 --dist loadgroup

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" -x

lint: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/shared/textgate local/textgate_local functions
	@# Every finding is fixed, or skipped in the template with its reason (Metadata: checkov: skip).
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --quiet --compact

validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1
	$(SAM_VENV)/bin/cfn-lint template.yaml

build: $(SAM_VENV)/.installed $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SAM_VENV)/bin/sam build

bench: $(VENV)/.installed
	@$(LOCAL_PATH) $(PY) -m textgate_local.bench

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

redrive: $(VENV)/.installed
	@$(LOCAL_PATH) $(PY) -m textgate_local.redrive $(ARGS)

webhook-secret: $(VENV)/.installed
	@$(LOCAL_PATH) $(PY) -m textgate_local.webhook_secret $(ARGS)

clean:
	rm -rf .aws-sam $(VENV) $(SAM_VENV) $(CHECKOV_VENV)
