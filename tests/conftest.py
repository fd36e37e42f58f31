"""Shared test set-up: observe's fixtures and a clean environment for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from observe import telemetry

pytest_plugins = ["observe.testing"]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A known ENVIRONMENT, no stray tracing configuration, and no memory warning in this process:
    the test runner's own memory (hundreds of MB once the integration tests have run) is not a
    function's, so it would cross 90% of a fake context's limit. Tests of the warning set it."""
    monkeypatch.setenv("ENVIRONMENT", "dev")
    for name in ("LOG_LEVEL", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    telemetry.configure_memory_warning(0)
    yield
    telemetry.configure_memory_warning(0)
