"""Shared test set-up: observe's fixtures and a clean environment for every test."""

from __future__ import annotations

import pytest

pytest_plugins = ["observe.testing"]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A known ENVIRONMENT and no stray tracing configuration."""
    monkeypatch.setenv("ENVIRONMENT", "dev")
    for name in ("LOG_LEVEL", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
