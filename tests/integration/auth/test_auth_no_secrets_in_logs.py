"""Nothing secret reaches a log line: complete flows (successful and failing, FAPI and legacy)
are run under one capture, and the captured text is searched for the actual values used:
the NRIC, codes, PKCE verifiers, client assertions, DPoP proofs and keys, access and ID tokens,
userinfo, cookie and session values, and every private key member in SSM."""

from __future__ import annotations

import json

import pytest

from pipelines.auth.cookie import open_sealed
from pipelines.auth.runtime import get_runtime

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _cookie_secrets(cookie: str) -> list[str]:
    """The verifier and the DPoP private key sealed in a login cookie (state and nonce are not
    secrets: the legacy flow puts them on the browser's URL by design)."""
    ctx = open_sealed(cookie, get_runtime().keys().cookie_by_kid())
    out = [ctx.code_verifier]
    if ctx.dpop_jwk:
        out.append(ctx.dpop_jwk["d"])
    return out


def test_no_secret_or_personal_data_in_any_log_line(
    configure, fapi, mockpass_server, browser, key_material, replay_table, observe_capture
):
    extra: list[str] = []

    # FAPI, with DPoP nonces and userinfo: a success, then failures of several kinds
    fapi.require_dpop_nonce = True
    configure("fapi", fapi.issuer, SINGPASS_USERINFO="true", SESSION_CLAIMS="name", REPLAY_TABLE=replay_table)
    resp, cookie = browser.login()
    extra += _cookie_secrets(cookie)
    params = browser.authorize(resp["headers"]["Location"])
    assert browser.callback(params, cookie)["statusCode"] == 302
    assert browser.callback(params, cookie)["statusCode"] == 400  # replayed
    resp2, cookie2 = browser.login()
    extra += _cookie_secrets(cookie2)
    params2 = browser.authorize(resp2["headers"]["Location"])
    assert browser.callback({**params2, "code": params["code"]}, cookie2)["statusCode"] == 400  # code replay
    assert browser.callback(params2, cookie2[:-4] + "AAAA")["statusCode"] == 400  # tampered cookie
    fapi.id_token_hook = lambda parts: parts.claims.update(nonce="not-the-login-nonce")
    assert browser.full_login()["statusCode"] == 400

    # legacy against MockPass: a success and a crash of the provider on a forged code
    configure("legacy", mockpass_server.issuer)
    resp3, cookie3 = browser.login()
    extra += _cookie_secrets(cookie3)
    params3 = browser.authorize(resp3["headers"]["Location"])
    assert browser.callback(params3, cookie3)["statusCode"] == 302
    resp4, cookie4 = browser.login()
    params4 = browser.authorize(resp4["headers"]["Location"])
    assert (
        browser.callback({**params4, "code": "Zm9yZ2VkLWNvZGUtdmFsdWUtMTIzNDU2"}, cookie4)["statusCode"]
        == 502
    )
    mockpass_server.wait_healthy()

    text = observe_capture.text
    reasons = browser.failure_reasons(observe_capture.logs)
    assert reasons == [
        "state_replayed",
        "code_replayed",
        "cookie_invalid",
        "id_token_nonce",
        "provider_unavailable",
    ]

    secrets = browser.all_secrets() | set(extra) | set(key_material.private_parts())
    kinds = {
        "client_assertion": [s for s in browser.spy.secrets if s.count(".") == 2],
        "id_token_or_jwe": [s for s in browser.spy.secrets if s.count(".") == 4],
    }
    assert kinds["client_assertion"] and kinds["id_token_or_jwe"]  # the spy saw the real traffic
    assert len(secrets) > 30
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
    for person in (browser.nric, browser.nric.lower(), browser.uuid, "TAN XIAO HUI"):
        assert person not in text
    # the JSON-escaped forms too (a value inside a string field would be escaped)
    assert not [s for s in secrets if json.dumps(s)[1:-1] in text]

    # and the chain never relied on the redaction net: none of our lines needed masking
    ours = [
        line
        for line in observe_capture.logs
        if str(line.get("logger", "")).startswith(("pipelines", "observe"))
    ]
    assert ours and not [line for line in ours if "[REDACTED" in json.dumps(line)]
