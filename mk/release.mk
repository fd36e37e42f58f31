# Releases (mk/release.py; the workflow is .github/workflows/release.yml).
.PHONY: dist release-check

dist: install ## build the sdist and the wheel into dist/ and check them (twine, clean-venv installs, imports)
	$(PY) mk/release.py build --out dist
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) mk/release.py verify dist

release-check: install ## TAG=vX.Y.Z: the tag, pyproject.toml, CHANGELOG.md and the module pins agree
	$(PY) mk/release.py check-tag "$(TAG)"
