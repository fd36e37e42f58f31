"""FAPI 2.0 end to end: PAR, PKCE S256, DPoP (with nonce challenges), private_key_jwt, JWE ID
tokens and Myinfo-style userinfo, against the spec-faithful test authorization server."""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey

from observe.testing import FakeLambdaContext
from pipelines.auth import keys as auth_keys
from pipelines.auth.handlers import login
from pipelines.auth.runtime import get_runtime
from pipelines.auth.session import verify_session
from tests.support.fapi_server import IdTokenParts

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
APP = "https://app.example.test"


@pytest.mark.parametrize("enc", ["A256GCM", "A256CBC-HS512"])
def test_fapi_login_with_par_dpop_and_userinfo(enc, configure, fapi, browser, observe_capture):
    fapi.require_dpop_nonce = True
    fapi.id_token_enc = enc
    configure("fapi", fapi.issuer, SINGPASS_USERINFO="true", SESSION_CLAIMS="name")

    resp, cookie = browser.login()
    location = urlsplit(resp["headers"]["Location"])
    query = dict(parse_qsl(location.query))
    # the browser carries only client_id and request_uri (everything else was pushed)
    assert set(query) == {"client_id", "request_uri"}
    assert query["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")

    done = browser.callback(browser.authorize(resp["headers"]["Location"]), cookie)

    assert done["statusCode"] == 302 and done["headers"]["Location"] == "/home"
    session = verify_session(browser.session_cookie(done), get_runtime().keys(), audience=APP)
    assert session["sub"] == browser.uuid and session["nric_masked"] == "S****370B"
    assert session["name"] == "TAN XIAO HUI" and session["mode"] == "fapi"
    # every DPoP-protected endpoint challenged for a nonce once, then accepted
    trail = [(e["endpoint"], e.get("error", "ok")) for e in fapi.events if e["endpoint"] != "/jwks"]
    assert trail == [
        ("/.well-known/openid-configuration", "ok"),
        ("/par", "use_dpop_nonce"),
        ("/par", "ok"),
        ("/authorize", "ok"),
        ("/token", "use_dpop_nonce"),
        ("/token", "ok"),
        ("/userinfo", "use_dpop_nonce"),
        ("/userinfo", "ok"),
    ]
    assert observe_capture.metric_values("AuthLogins") == [1]
    assert len(observe_capture.metric_values("TokenExchangeLatency")) == 1


@pytest.mark.parametrize("fractional", [True, False])
def test_fractional_or_integer_iat_is_accepted(fractional, configure, fapi, browser):
    fapi.fractional_iat = fractional
    seen: list[float] = []
    fapi.id_token_hook = lambda parts: seen.append(parts.claims["iat"])
    configure("fapi", fapi.issuer)
    assert browser.full_login()["statusCode"] == 302
    assert isinstance(seen[0], float if fractional else int)


def test_provider_jwks_is_cached_and_refetched_once_after_rotation(configure, fapi, browser):
    configure("fapi", fapi.issuer)
    assert browser.full_login()["statusCode"] == 302
    assert browser.full_login()["statusCode"] == 302
    provider = get_runtime().provider
    assert provider.fetches == {"discovery": 1, "jwks": 1}  # cached across warm invocations

    fapi.rotate_signing_key()  # the provider signs with a new kid from now on
    assert browser.full_login()["statusCode"] == 302
    assert provider.fetches == {"discovery": 1, "jwks": 2}  # one re-fetch for the new kid
    assert browser.full_login()["statusCode"] == 302
    assert provider.fetches["jwks"] == 2


def test_client_key_rotation_keeps_in_flight_tokens_working(
    configure, fapi, browser, key_material, jwks_url, observe_capture
):
    # rotate our signing and encryption keys in SSM with the package's tool: new first, old kept
    prefix = f"/auth/rot-{secrets.token_hex(3)}"
    names, _ = auth_keys.write_to_ssm(prefix, key_material.values)
    names, rotated = auth_keys.write_to_ssm(prefix, auth_keys.generate_all(), rotate_existing=True)
    configure(
        "fapi",
        fapi.issuer,
        SIGNING_KEY_PARAM=names["signing"],
        ENCRYPTION_KEY_PARAM=names["encryption"],
        COOKIE_KEY_PARAM=names["cookie"],
    )
    published = httpx.get(jwks_url).json()["keys"]
    kids = [k["kid"] for k in published]
    assert len(published) == 4 and len(set(kids)) == 4
    assert sorted(k["use"] for k in published) == ["enc", "enc", "sig", "sig"]
    assert all(not ({"d", "k"} & set(k)) for k in published)
    old_enc = next(k for k in json.loads(key_material.values["encryption"])["keys"])
    assert old_enc["kid"] in kids
    assert kids[0] == json.loads(rotated["signing"])["keys"][0]["kid"]  # the new key is active

    # a token the provider encrypted to our *old* key just before it saw the new JWKS
    old_public = ECKey.import_key({k: v for k, v in old_enc.items() if k != "d"})

    def to_old_key(parts: IdTokenParts) -> None:
        parts.encryption_key = old_public
        parts.jwe_header["kid"] = old_enc["kid"]

    fapi.id_token_hook = to_old_key
    assert browser.full_login()["statusCode"] == 302
    fapi.id_token_hook = None
    assert browser.full_login()["statusCode"] == 302  # and the new active key, as normal
    assert observe_capture.metric_values("AuthLogins") == [1, 1]


def test_login_cookie_from_a_legacy_deployment_is_refused_in_fapi(configure, fapi, browser, observe_capture):
    configure("legacy", fapi.issuer)
    _, cookie = browser.login()
    configure("fapi", fapi.issuer)
    resp, _ = browser.login()
    params = browser.authorize(resp["headers"]["Location"])
    assert browser.callback(params, cookie)["statusCode"] == 400
    assert browser.failure_reasons(observe_capture.logs) == ["cookie_invalid"]


def test_provider_down_fails_closed_with_a_reason(configure, browser, observe_capture):
    configure("fapi", "http://127.0.0.1:9")  # nothing listens on the discard port
    out = login.handler(browser.event("/login"), FakeLambdaContext())
    assert out["statusCode"] == 502 and "Sign-in failed" in out["body"]
    assert browser.failure_reasons(observe_capture.logs) == ["provider_unavailable"]
    assert observe_capture.metric_values("AuthFailures", reason="provider_unavailable") == [1]
