"""Functions run under ``awslambdaric`` against the local Runtime API, and moto for the SQS tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.lambda_function import FunctionConfig, LambdaFunction
from emulator.moto_server import FAKE_ENV, moto_server

HANDLERS = "tests.integration.runtime.handlers"


@pytest.fixture
def make_function() -> Iterator[Callable[..., LambdaFunction]]:
    """``make_function("counter", timeout=2, ...)``: a function whose handler is in handlers.py
    (or a full ``module.function``); every one made is closed at the end of the test."""
    made: list[LambdaFunction] = []

    def make(handler: str, *, name: str = "runtime-test", **config: Any) -> LambdaFunction:
        target = handler if "." in handler else f"{HANDLERS}.{handler}"
        fn = LambdaFunction(FunctionConfig(name, target, **config))
        made.append(fn)
        return fn

    yield make
    for fn in made:
        fn.close()


@pytest.fixture(scope="session")
def runtime_moto() -> Iterator[str]:
    with moto_server(set_env=False) as url:
        yield url


@pytest.fixture
def runtime_aws(runtime_moto: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS variables pointing at the session's moto server for this test (and its functions)."""
    for k, v in FAKE_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", runtime_moto)
    return runtime_moto
