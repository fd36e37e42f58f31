"""pytest fixtures for code that uses observe: a Lambda context and captured output.

Enable with ``pytest_plugins = ["observe.testing"]`` in a conftest. ``observe_capture`` routes
every log line and EMF document into a buffer and parses them, and resets the cold-start flag.
Under this plugin telemetry misuse raises whatever ``ENVIRONMENT`` says (an undeclared metric, a
wrong unit or dimension), so tests catch what stg and prd would only count (``observe.guard``);
``OBSERVE_STRICT=false`` still overrides it, to test the lenient path.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from observe import guard, project, telemetry
from observe import logging as _log

guard.set_testing(True)


@dataclass
class FakeLambdaContext:
    """The attributes of ``awslambdaric``'s LambdaContext that handlers and observe read."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:123456789012:function:test-function"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/26/[$LATEST]0123456789abcdef"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Captured:
    """What observe wrote while the fixture was active, parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        """Everything written, verbatim."""
        return self.stream.getvalue()

    def _parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Log lines (everything that is not an EMF document)."""
        return [d for d in self._parsed() if "_aws" not in d]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """EMF documents."""
        return [d for d in self._parsed() if "_aws" in d]

    def metric_values(self, name: str, **dimensions: str) -> list[float]:
        """Every value of metric ``name`` in documents whose dimension sets are exactly the
        standard ones plus ``dimensions`` (so totals and breakdowns are not mixed up)."""
        out: list[float] = []
        for doc in self.metrics:
            directive = doc["_aws"]["CloudWatchMetrics"][0]
            names = {m["Name"] for m in directive["Metrics"]}
            dims = set(directive["Dimensions"][0])
            extra = dims - {"service", "pipeline", "environment"}
            if name not in names or extra != set(dimensions):
                continue
            if any(doc.get(k) != v for k, v in dimensions.items()):
                continue
            value = doc[name]
            out.extend(value if isinstance(value, list) else [value])
        return out

    def clear(self) -> None:
        """Forget what was captured so far."""
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A fresh fake Lambda context with a new request id."""
    return FakeLambdaContext()


@pytest.fixture
def observe_capture() -> Iterator[Captured]:
    """Capture observe's output (logs and EMF) and start from a cold start.

    The memory warning is off while capturing: the test runner's memory is not the function's, and
    a long test session would cross 90% of a fake context's limit. A test of the warning turns it on
    with ``telemetry.configure_memory_warning(90)``.
    """
    captured = Captured()
    telemetry.reset_cold_start()
    telemetry.configure_memory_warning(0)
    _log.configure(level="DEBUG", stream=captured.stream)
    try:
        yield captured
    finally:
        _log.reset()
        telemetry.reset_cold_start()
        telemetry.configure_memory_warning()


@pytest.fixture
def observe_config() -> project.ProjectConfig:
    """The project configuration the code under test runs with (found as at run time)."""
    project.ensure_loaded()
    configs = project.active()
    if not configs:
        pytest.fail(f"no {project.FILENAME} found from {Path.cwd()} (set {project.ENV_VAR})")
    return configs[0]
