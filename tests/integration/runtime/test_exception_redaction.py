"""What the Lambda runtime itself prints and returns for an exception that leaves an ``observed``
handler: awslambdaric's ``[ERROR]`` line with its stack trace (Text format) or its error record (JSON
format), the invoke response's ``errorMessage`` and ``stackTrace``, and everything on stdout and
stderr. In stg and prd not a secret, nor any 6-character fragment of one, is in any of it; in dev
the message is kept for the developer (which shows that the search below finds a secret)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest

from emulator.lambda_function import InvokeResult, LambdaFunction

pytestmark = pytest.mark.integration

HANDLER = "tests.integration.runtime.raising_handlers.fails"
CASES = {  # case: (errorType the caller still gets, the secrets in its message)
    "nric_in_message": ("ValueError", ("nric",)),
    "missing_key": ("KeyError", ("nric",)),
    "bearer_header": ("RuntimeError", ("token",)),
    "password_pair": ("ConnectionError", ("password",)),
    "file_name": ("FileNotFoundError", ("nric",)),
    "command": ("CalledProcessError", ("token",)),
    "chained": ("LookupError", ("password", "email")),
}


def _secrets() -> dict[str, str]:
    digits = str(secrets.randbelow(9_000_000) + 1_000_000)
    return {
        "nric": f"S{digits}D",
        "token": secrets.token_urlsafe(32),
        "password": "Pw" + secrets.token_urlsafe(12),
        "email": f"jane.{secrets.token_hex(4)}@example.gov.sg",
    }


def _everything(result: InvokeResult) -> str:
    return "\n".join([result.response.decode(), json.dumps(result.payload), *result.lines])


def _fragments(value: str, text: str) -> list[str]:
    return [value[i : i + 6] for i in range(len(value) - 5) if value[i : i + 6] in text]


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
@pytest.mark.parametrize("environment", ["stg", "prd"])
def test_the_runtime_prints_no_secret_of_an_exception(
    make_function: Callable[..., LambdaFunction], environment: str, log_format: str
) -> None:
    fn = make_function(
        HANDLER, name=f"raising-{environment}", env={"ENVIRONMENT": environment}, log_format=log_format
    )
    leaked = {}
    for case, (error_type, names) in CASES.items():
        event = _secrets()
        result = fn.invoke({"case": case, "secrets": event})
        assert result.status == "error" and result.error_type == error_type, (case, result.payload)
        everything = _everything(result)
        assert "Traceback" in everything or "stackTrace" in everything  # the runtime's own report
        assert "[REDACTED" in result.payload["errorMessage"], (case, result.payload)
        for name in names:
            found = _fragments(event[name], everything)
            if found:
                leaked[f"{case}.{name}"] = (found[:3], everything[-1500:])
    assert not leaked, leaked


def test_dev_keeps_the_message(make_function: Callable[..., LambdaFunction]) -> None:
    fn = make_function(HANDLER, name="raising-dev", env={"ENVIRONMENT": "dev"})
    for case in ("bearer_header", "password_pair", "command"):
        event = _secrets()
        result = fn.invoke({"case": case, "secrets": event})
        secret = event["token"] if case != "password_pair" else event["password"]
        assert secret in result.payload["errorMessage"], (case, result.payload)
