"""Handlers fail closed on a bad deployment or an unexpected crash: generic page, a reason,
and nothing from the exception's text in the log."""

from __future__ import annotations

import pytest

from pipelines.auth.handlers import callback, jwks, login
from pipelines.auth.runtime import reset_runtime


@pytest.fixture(autouse=True)
def _cold():
    reset_runtime()
    yield
    reset_runtime()


def _event(path: str) -> dict:
    return {"version": "2.0", "rawPath": path, "headers": {}, "requestContext": {"http": {"method": "GET"}}}


def test_a_missing_setting_answers_500_and_names_the_variable(monkeypatch, observe_capture, lambda_context):
    for name in ("SINGPASS_MODE", "SINGPASS_ISSUER", "CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    out = login.handler(_event("/login"), lambda_context)
    assert out["statusCode"] == 500 and "Sign-in failed" in out["body"]
    errors = [line for line in observe_capture.logs if line["message"] == "auth configuration error"]
    assert errors and "SINGPASS_MODE" in errors[0]["error"]
    assert observe_capture.metric_values("AuthFailures", reason="config_invalid") == [1]
    assert jwks.handler(_event("/jwks"), lambda_context)["statusCode"] == 500


def test_an_unexpected_crash_is_reported_by_type_and_place_only(monkeypatch, observe_capture, lambda_context):
    class Runtime:
        config = None

    monkeypatch.setattr("pipelines.auth.handlers.callback.get_runtime", lambda: Runtime())

    def boom(*args, **kwargs):
        raise ValueError("code=SECRET-CODE-123 verifier=SECRET-VERIFIER")

    monkeypatch.setattr("pipelines.auth.handlers.callback.complete_login", boom)
    out = callback.handler(_event("/callback"), lambda_context)
    assert out["statusCode"] == 500 and "Sign-in failed" in out["body"]
    assert "SECRET" not in observe_capture.text
    (crash,) = [line for line in observe_capture.logs if line["message"] == "login step crashed"]
    assert crash["error_type"] == "ValueError" and "boom" in crash["where"]
    assert observe_capture.metric_values("AuthFailures", reason="internal_error") == [1]
    # answered, not raised: the alarm is on AuthFailures{reason=internal_error}, not Lambda Errors
    assert observe_capture.metric_values("Errors") == [0]
