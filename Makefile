# Everything a fresh machine needs comes from here: the venv, the Python packages, MockPass from
# npm. Servers (moto, the local source API, MockPass, the FAPI test server) are started and
# stopped by the tests and demos themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := otel,checks,ingest,auth,diagnostics,dev
# uv installs everything from uv.lock (the exact versions and hashes CI and the Lambda artifacts use);
# pinned itself, so every machine reads and writes the lock the same way.
UV_VERSION := 0.13.9
UV := UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv
comma := ,
UV_EXTRAS := $(addprefix --extra ,$(subst $(comma), ,$(EXTRAS))) --group release
export CHECKPOINT_DISABLE := 1

.PHONY: demo test install lint unit bench docs clean infra-static lock lock-check chromium report-shots

demo: install ## the pipelines end to end on the local emulator, with logs, metrics and a report
	$(PY) -m demo

test: install lint infra-static chromium ## lint, type-check, infra checks, then every test (unit, integration, e2e)
	$(PY) -m pytest -q

# Headless Chromium for the report's screenshots (Debian's package; CI runs as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

report-shots: install chromium ## the triage report of the demo incident, screenshotted to out/shots (first screen to last)
	$(PY) -c "import demo.triage as t; t.main()"
	$(PY) -m tests.support.screenshots out/demo/report.html out/shots

# The offline infrastructure checks (terraform fmt/test, checkov, zizmor, actionlint); the
# python-hcl2 rule tests in tests/infra run with the rest of pytest above.
infra-static: install infra-terraform infra-checkov infra-workflows

include mk/infra.mk
include mk/lambda.mk
include mk/release.mk

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml uv.lock $(VENV)/.uv-$(UV_VERSION)
	$(UV) sync -q --locked --inexact $(UV_EXTRAS) \
	  || { echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock"; exit 1; }
	touch $@

$(VENV)/.uv-$(UV_VERSION):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	rm -f $(VENV)/.uv-* && touch $@

lock: $(VENV)/.uv-$(UV_VERSION) infra-lock ## update uv.lock after changing dependencies in pyproject.toml (ARGS=--upgrade for newer versions)
	$(UV) lock $(ARGS)

lock-check: $(VENV)/.uv-$(UV_VERSION) infra-lock-check ## fail when uv.lock and pyproject.toml disagree
	$(UV) lock --check \
	  || { echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock"; exit 1; }

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install lock-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest -q tests/unit

bench: install ## the benchmarks; results land in docs/benchmarks.md
	$(PY) -m benchmarks

docs: install ## regenerate the generated parts of docs/ and terraform/generated from observe.toml
	$(VENV)/bin/observe metrics --out docs/metrics.md
	$(VENV)/bin/observe dashboards build --out terraform/generated

clean:
	rm -rf $(VENV) .venv-checkov node_modules tests/infra/tools/node_modules .pytest_cache .mypy_cache .ruff_cache build dist
