"""Provider caching (discovery, JWKS, one re-fetch on an unknown kid) with an in-process
transport, and the API Gateway / local-server event shapes."""

from __future__ import annotations

import json

import httpx
import pytest
from joserfc.jwk import ECKey

from pipelines.auth import apigw, local
from pipelines.auth.errors import AuthFailure, Reason
from pipelines.auth.provider import Provider

ISSUER = "https://idp.example"


class FakeIdP:
    """Counts requests; serves a discovery document and a mutable JWKS."""

    def __init__(self) -> None:
        self.calls = {"discovery": 0, "jwks": 0}
        self.keys = [ECKey.generate_key("P-256", parameters={"kid": "k1", "use": "sig"})]
        self.discovery = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
            "pushed_authorization_request_endpoint": f"{ISSUER}/par",
        }
        self.extra_jwks: list[dict] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            self.calls["discovery"] += 1
            return httpx.Response(200, json=self.discovery)
        if request.url.path == "/jwks":
            self.calls["jwks"] += 1
            keys = [k.as_dict(private=False) for k in self.keys] + self.extra_jwks
            return httpx.Response(200, json={"keys": keys})
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp() -> FakeIdP:
    return FakeIdP()


def _provider(idp: FakeIdP, clock: Clock, *, fapi: bool = True) -> Provider:
    http = httpx.Client(transport=httpx.MockTransport(idp.handle))
    return Provider(ISSUER, http, fapi=fapi, ttl_s=3600, refetch_cooldown_s=30, clock=clock)


def test_discovery_and_jwks_are_cached_for_the_ttl(idp):
    clock = Clock()
    p = _provider(idp, clock)
    for _ in range(5):
        assert p.endpoint("token_endpoint") == f"{ISSUER}/token"
        assert p.signing_key("k1") is not None
    assert idp.calls == {"discovery": 1, "jwks": 1}
    clock.now += 3601
    assert p.signing_key("k1") is not None and p.endpoint("token_endpoint")
    assert idp.calls == {"discovery": 2, "jwks": 2}


def test_unknown_kid_refetches_once_then_fails_closed_and_is_rate_limited(idp):
    clock = Clock()
    p = _provider(idp, clock)
    assert p.signing_key("k1") is not None
    idp.keys.append(ECKey.generate_key("P-256", parameters={"kid": "k2", "use": "sig"}))
    assert p.signing_key("k2") is not None  # rotation picked up by the one re-fetch
    assert idp.calls["jwks"] == 2
    assert p.signing_key("forged") is None  # within the cooldown: no fetch at all
    assert idp.calls["jwks"] == 2
    clock.now += 31
    assert p.signing_key("forged") is None  # one more re-fetch, still unknown
    assert p.signing_key("forged") is None
    assert idp.calls["jwks"] == 3


def test_private_or_broken_keys_in_the_provider_jwks_are_ignored(idp):
    private = ECKey.generate_key("P-256", parameters={"kid": "leaked"}).as_dict(private=True)
    idp.extra_jwks = [private, {"kid": "junk", "kty": "EC"}, {"kty": "EC"}]
    p = _provider(idp, Clock())
    assert p.signing_key("leaked") is None and p.signing_key("junk") is None
    assert p.signing_key("k1") is not None


@pytest.mark.parametrize(
    ("change", "fapi", "reason"),
    [
        ({"issuer": "https://impostor.example"}, True, Reason.DISCOVERY_INVALID),
        ({"pushed_authorization_request_endpoint": None}, True, Reason.DISCOVERY_INVALID),
        ({"token_endpoint": None}, False, Reason.DISCOVERY_INVALID),
    ],
)
def test_bad_discovery_documents_fail_closed(idp, change, fapi, reason):
    idp.discovery = {k: v for k, v in {**idp.discovery, **change}.items() if v is not None}
    with pytest.raises(AuthFailure) as err:
        _provider(idp, Clock(), fapi=fapi).metadata()
    assert err.value.reason is reason


def test_legacy_does_not_need_a_par_endpoint(idp):
    del idp.discovery["pushed_authorization_request_endpoint"]
    assert _provider(idp, Clock(), fapi=False).endpoint("authorization_endpoint")


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(503), Reason.PROVIDER_UNAVAILABLE),
        (httpx.Response(404), Reason.DISCOVERY_INVALID),
        (httpx.Response(200, text="<html>"), Reason.DISCOVERY_INVALID),
        (httpx.Response(200, json=[1, 2]), Reason.DISCOVERY_INVALID),
    ],
)
def test_provider_http_failures_are_classified(response, reason):
    http = httpx.Client(transport=httpx.MockTransport(lambda request: response))
    with pytest.raises(AuthFailure) as err:
        Provider(ISSUER, http, fapi=True).metadata()
    assert err.value.reason is reason


def test_connection_errors_are_provider_unavailable():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(AuthFailure) as err:
        Provider(ISSUER, http, fapi=True).metadata()
    assert err.value.reason is Reason.PROVIDER_UNAVAILABLE


# --- API Gateway shapes --------------------------------------------------------------------------


def test_cookies_from_payload_v2_and_from_a_raw_header():
    event = {"cookies": ["a=1", "b=2=3", "a=shadowed"], "headers": {"Cookie": "c=4; d=5"}}
    assert apigw.cookies(event) == {"a": "1", "b": "2=3", "c": "4", "d": "5"}
    assert apigw.cookies({}) == {} and apigw.query({}) == {}


def test_responses_are_uncacheable_and_the_error_page_is_generic():
    page = apigw.error_page(400, "<cid>", ["x=; Max-Age=0"])
    assert page["headers"]["Cache-Control"] == "no-store"
    assert page["headers"]["Referrer-Policy"] == "no-referrer"
    assert "&lt;cid&gt;" in page["body"] and "<cid>" not in page["body"]
    assert page["cookies"] == ["x=; Max-Age=0"]
    redirect = apigw.redirect("/home", ["s=1"])
    assert redirect["statusCode"] == 302 and redirect["headers"]["Location"] == "/home"


def test_local_server_builds_payload_v2_events():
    event = local.to_event(
        "GET", "/callback?code=a&state=b&x=1&x=2", {"Cookie": "k=v; j=w", "User-Agent": "ua"}, b"", "1.2.3.4"
    )
    assert event["version"] == "2.0" and event["rawPath"] == "/callback"
    assert event["queryStringParameters"] == {"code": "a", "state": "b", "x": "1,2"}
    assert event["cookies"] == ["k=v", "j=w"] and "cookie" not in event["headers"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == "1.2.3.4"


def test_local_server_serves_a_handler_over_http():
    def handler(event: dict, context: object) -> dict:
        body = json.dumps({"path": event["rawPath"], "q": event.get("queryStringParameters")})
        return {"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["a=1", "b=2"], "body": body}

    with local.serve({"/h": handler}) as base:
        resp = httpx.get(f"{base}/h?x=1")
        assert resp.status_code == 201 and resp.json() == {"path": "/h", "q": {"x": "1"}}
        assert resp.headers.get_list("set-cookie") == ["a=1", "b=2"]
        assert httpx.get(f"{base}/other").status_code == 404
