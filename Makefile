# Everything a fresh machine needs comes from here: the venv, the Python packages, MockPass from
# npm. Servers (moto, the local source API, MockPass, the FAPI test server) are started and
# stopped by the tests and demos themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := otel,checks,ingest,auth,diagnostics,dev
export CHECKPOINT_DISABLE := 1

.PHONY: demo test install lint unit bench docs clean infra-static

demo: install ## the pipelines end to end on the local emulator, with logs, metrics and a report
	$(PY) -m demo

test: install lint infra-static ## lint, type-check, infra checks, then every test (unit, integration, e2e)
	$(PY) -m pytest -q

# The offline infrastructure checks (terraform fmt/test, checkov, zizmor, actionlint); the
# python-hcl2 rule tests in tests/infra run with the rest of pytest above.
infra-static: install infra-terraform infra-checkov infra-workflows

include mk/infra.mk

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --python $(PY) -e '.[$(EXTRAS)]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest -q tests/unit

bench: install ## the benchmarks; results land in docs/benchmarks.md
	$(PY) -m benchmarks

docs: install ## regenerate the generated parts of docs/
	$(PY) -c "from observe.catalogue import write_docs; write_docs()"
	$(PY) -m dashboards build --out terraform/generated

clean:
	rm -rf $(VENV) .venv-checkov node_modules tests/infra/tools/node_modules .pytest_cache .mypy_cache .ruff_cache
