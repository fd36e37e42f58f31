"""What leaves a handler that fails with secrets, as the real Lambda runtime client (awslambdaric)
prints and returns it: the invoke response's errorMessage and stackTrace, the runtime's [ERROR] log
line, stdout and stderr. In stg and prd none of them carries a secret; in dev the message is kept."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from emulator.lambda_function import FunctionConfig, LambdaFunction

pytestmark = pytest.mark.integration

HANDLERS = "tests.integration.redaction.secret_handlers"


def _event() -> dict[str, str]:
    return {
        "code": secrets.token_urlsafe(24),
        "secret": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(43),
        "password": secrets.token_urlsafe(12),
        "nric": "S" + str(secrets.randbelow(9_000_000) + 1_000_000) + "Z",
        "email": f"user.{secrets.token_hex(4)}@example.gov.sg",
    }


@pytest.fixture
def function() -> Iterator[object]:
    made: list[LambdaFunction] = []

    def make(handler: str, environment: str) -> LambdaFunction:
        fn = LambdaFunction(
            FunctionConfig(
                f"secrets-{environment}", f"{HANDLERS}.{handler}", env={"ENVIRONMENT": environment}
            )
        )
        made.append(fn)
        return fn

    yield make
    for fn in made:
        fn.close()


@pytest.mark.parametrize("environment", ["stg", "prd"])
@pytest.mark.parametrize("handler", ["fails", "fails_computed"])
def test_nothing_secret_leaves_in_stg_and_prd(function, environment, handler) -> None:
    event = _event()
    result = function(handler, environment).invoke(event)  # type: ignore[operator]
    assert result.status == "error"
    assert result.error_type == ("ValueError" if handler == "fails" else "UpstreamError")
    everything = "\n".join([result.response.decode(), json.dumps(result.payload), *result.lines])
    assert "[ERROR]" in everything  # the runtime's own error line is in what we searched
    for name, value in event.items():
        if handler == "fails_computed" and name != "secret":
            continue
        assert value not in everything, f"{name} left the handler: {everything}"
    assert "[REDACTED" in result.payload["errorMessage"]
    if handler == "fails":
        assert result.payload["errorMessage"].startswith("token exchange failed: client_secret=[REDACTED]")


def test_dev_keeps_the_message_for_the_developer(function) -> None:
    event = _event()
    result = function("fails", "dev").invoke(event)  # type: ignore[operator]
    assert event["secret"] in result.payload["errorMessage"]
    logs = "\n".join(line for line in result.lines if line.startswith("{"))  # observe's own lines
    assert event["secret"] not in logs and event["code"] not in logs and event["nric"] not in logs
