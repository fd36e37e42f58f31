"""What leaves the handler: under OBSERVE_REDACT_ERRORS (on in stg and prd) the exception `observed`
re-raises carries no secret in anything the Lambda runtime prints, and stays the same object."""

from __future__ import annotations

import traceback

import pytest

from observe import observed
from observe.redact import errors_redacted, redact_exception

TOKEN = "Zm9yZ2VkLWNvZGUtdmFsdWU"


class ClientError(Exception):
    """Shaped like botocore's: the message formatted at init, the response kept as a dict."""

    def __init__(self, response: dict, operation: str) -> None:
        self.response = response
        self.operation_name = operation
        super().__init__(f"An error occurred ({response['Error']['Code']}): {response['Error']['Message']}")


class Computed(Exception):
    def __init__(self, token: str) -> None:
        super().__init__("computed")
        self._t = token

    def __str__(self) -> str:
        return f"refused access_token={self._t}"


@pytest.mark.parametrize(
    ("env", "override", "expected"),
    [
        ("dev", None, False),
        ("stg", None, True),
        ("prd", None, True),
        ("dev", "true", True),
        ("prd", "off", False),
    ],
)
def test_the_setting_defaults_per_environment(monkeypatch, env, override, expected) -> None:
    monkeypatch.setenv("ENVIRONMENT", env)
    if override is None:
        monkeypatch.delenv("OBSERVE_REDACT_ERRORS", raising=False)
    else:
        monkeypatch.setenv("OBSERVE_REDACT_ERRORS", override)
    assert errors_redacted() is expected


def test_message_args_notes_attributes_and_the_chain_are_redacted_in_place() -> None:
    cause = KeyError("\nS1234567D")
    err = ClientError({"Error": {"Code": "AccessDenied", "Message": f"token={TOKEN}"}}, "GetItem")
    err.__cause__ = cause
    err.add_note(f"for jane@example.com with password={TOKEN}")
    err.detail = f"code={TOKEN}"
    err.password = TOKEN
    same = redact_exception(err)
    assert same is err and type(err) is ClientError and isinstance(err, Exception)
    assert str(err) == "An error occurred (AccessDenied): token=[REDACTED]"
    assert err.__notes__ == ["for [REDACTED:email] with password=[REDACTED]"]
    assert err.detail == "code=[REDACTED]" and err.password == "[REDACTED]"
    assert err.response["Error"]["Code"] == "AccessDenied"  # what the caller reads is kept
    assert err.operation_name == "GetItem" and err.__cause__ is cause
    printed = "".join(traceback.format_exception(err))
    assert TOKEN not in printed and "S1234567D" not in printed and "jane@" not in printed


def test_text_from_elsewhere_gets_a_same_named_subclass() -> None:
    err = Computed(TOKEN)
    redact_exception(err)
    assert isinstance(err, Computed) and type(err).__name__ == "Computed"
    assert str(err) == "refused access_token=[REDACTED]"
    with pytest.raises(Computed):
        raise err


def test_builtins_groups_and_os_errors() -> None:
    group = ExceptionGroup("batch", [ValueError(f"api_key={TOKEN}"), OSError(2, "gone", "/tmp/S1234567D")])
    redact_exception(group)
    printed = "".join(traceback.format_exception(group))
    assert TOKEN not in printed and "S1234567D" not in printed
    assert group.exceptions[1].errno == 2 and isinstance(group.exceptions[1], FileNotFoundError)


def test_observed_reraises_the_redacted_exception_in_prd(
    monkeypatch, observe_capture, lambda_context
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prd")

    @observed
    def handler(event, context):
        raise ValueError(f"bad client_secret={TOKEN} for S1234567D")

    with pytest.raises(ValueError) as info:
        handler({}, lambda_context)
    assert str(info.value) == "bad client_secret=[REDACTED] for [REDACTED:nric]"
    assert TOKEN not in observe_capture.text


def test_dev_keeps_the_original_message(observe_capture, lambda_context) -> None:
    @observed
    def handler(event, context):
        raise ValueError(f"bad client_secret={TOKEN}")

    with pytest.raises(ValueError, match=TOKEN):
        handler({}, lambda_context)
    assert TOKEN not in observe_capture.text  # the log line is redacted whatever the setting


async def test_async_handlers_too(monkeypatch, observe_capture, lambda_context) -> None:
    monkeypatch.setenv("OBSERVE_REDACT_ERRORS", "1")

    @observed
    async def handler(event, context):
        raise RuntimeError(f"password: {TOKEN}")

    with pytest.raises(RuntimeError) as info:
        await handler({}, lambda_context)
    assert TOKEN not in str(info.value)
