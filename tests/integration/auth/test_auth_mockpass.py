"""The legacy Singpass v2 flow end to end against MockPass (the npm Singpass mock), for real:
our keys in SSM (moto over HTTP), our jwks handler served on 127.0.0.1 and fetched by MockPass
to verify our client assertion and to encrypt the ID token to our key."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from pipelines.auth.cookie import LOGIN_COOKIE
from pipelines.auth.runtime import get_runtime
from pipelines.auth.session import verify_session

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_legacy_login_against_mockpass(configure, mockpass_server, browser, observe_capture):
    configure("legacy", mockpass_server.issuer)
    resp, cookie = browser.login()

    # legacy: the whole authorization request rides on the URL, with PKCE S256
    location = urlsplit(resp["headers"]["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{mockpass_server.issuer}/authorize"
    query = dict(parse_qsl(location.query))
    assert query["client_id"] == browser.client_id
    assert query["redirect_uri"] == browser.redirect_uri
    assert query["response_type"] == "code" and query["scope"] == "openid"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["state"] != query["nonce"]
    login_cookie = resp["cookies"][0]
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=600"):
        assert attribute in login_cookie

    params = browser.authorize(resp["headers"]["Location"])
    assert params["state"] == query["state"] and params["code"]
    done = browser.callback(params, cookie)

    assert done["statusCode"] == 302 and done["headers"]["Location"] == "/home"
    assert any(c.startswith(f"{LOGIN_COOKIE}=;") and "Max-Age=0" in c for c in done["cookies"])
    session = verify_session(
        browser.session_cookie(done), get_runtime().keys(), audience="https://app.example.test"
    )
    assert session["sub"] == browser.uuid  # from sub "s=<NRIC>,u=<UUID>"
    assert session["nric_masked"] == "S****370B"
    assert browser.nric not in str(session)
    assert session["mode"] == "legacy" and session["amr"] == ["pwd"]
    assert observe_capture.metric_values("AuthLogins") == [1]
    (latency,) = observe_capture.metric_values("TokenExchangeLatency")
    assert 0 < latency < 10_000
    assert browser.failure_reasons(observe_capture.logs) == []
    # MockPass really fetched our JWKS to check the assertion and encrypt the token
    assert 'POST /singpass/v2/token HTTP/1.1" 200' in mockpass_server.log_text()


def test_unknown_code_crashes_mockpass_and_the_wrapper_restarts_it(
    configure, mockpass_server, browser, observe_capture
):
    configure("legacy", mockpass_server.issuer)
    restarts = mockpass_server.restarts
    resp, cookie = browser.login()
    params = browser.authorize(resp["headers"]["Location"])
    forged = {**params, "code": "bm90LWEtY29kZS1tb2NrcGFzcy1pc3N1ZWQ"}
    failed = browser.callback(forged, cookie)

    # MockPass dies on the unknown code; the browser gets the generic page, we get a reason
    assert failed["statusCode"] == 502
    assert "Sign-in failed" in failed["body"] and "provider" not in failed["body"]
    assert browser.failure_reasons(observe_capture.logs) == ["provider_unavailable"]
    assert observe_capture.metric_values("AuthFailures", reason="provider_unavailable") == [1]

    mockpass_server.wait_healthy(timeout_s=30)
    assert mockpass_server.restarts == restarts + 1
    # and the next person logs in normally
    again = browser.full_login()
    assert again["statusCode"] == 302 and again["headers"]["Location"] == "/home"


def test_legacy_replay_guard_blocks_a_replayed_callback(
    configure, mockpass_server, browser, replay_table, observe_capture
):
    configure("legacy", mockpass_server.issuer, REPLAY_TABLE=replay_table)
    resp, cookie = browser.login()
    params = browser.authorize(resp["headers"]["Location"])
    assert browser.callback(params, cookie)["statusCode"] == 302
    restarts = mockpass_server.restarts

    replayed = browser.callback(params, cookie)  # the same cookie and redirect, again

    assert replayed["statusCode"] == 400
    assert browser.failure_reasons(observe_capture.logs) == ["state_replayed"]
    # stopped before the token endpoint: MockPass never saw the used code a second time
    assert mockpass_server.restarts == restarts
    assert httpx.get(f"{mockpass_server.issuer}/.well-known/openid-configuration").status_code == 200


def test_legacy_redirect_with_a_foreign_iss_is_refused(configure, mockpass_server, browser, observe_capture):
    configure("legacy", mockpass_server.issuer)
    resp, cookie = browser.login()
    params = browser.authorize(resp["headers"]["Location"])
    assert "iss" not in params  # MockPass (like Singpass v2) does not send iss: accepted when absent
    failed = browser.callback({**params, "iss": "https://idp.attacker.example"}, cookie)
    assert failed["statusCode"] == 400
    assert browser.failure_reasons(observe_capture.logs) == ["iss_mismatch"]
