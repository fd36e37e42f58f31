"""The FAPI 2.0 test authorization server is only worth testing against if it refuses what
Singpass refuses. Each case sends one non-compliant request over HTTP and checks the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from pipelines.auth import crypto
from pipelines.auth import keys as auth_keys
from tests.support.fapi_server import FapiServer, fapi_server

pytestmark = [pytest.mark.integration]
CID = "conformance-client"
REDIRECT = "https://rp.example/cb"
HTTP = httpx.Client(timeout=10)  # one client: no TLS context per request


@pytest.fixture(scope="module")
def client_keys() -> auth_keys.ClientKeys:
    values = auth_keys.generate_all()
    return auth_keys.parse_keys(values["signing"], values["encryption"], values["cookie"])


@pytest.fixture
def server(client_keys) -> Iterator[FapiServer]:
    with fapi_server(client_id=CID, redirect_uris=(REDIRECT,), client_jwks=client_keys.public_jwks()) as srv:
        yield srv


@dataclass
class Client:
    """A deliberately bendable client: every request can be overridden."""

    server: FapiServer
    keys: auth_keys.ClientKeys
    dpop: ECKey = field(default_factory=crypto.new_dpop_key)
    verifier: str = ""
    challenge: str = ""

    def __post_init__(self) -> None:
        self.verifier, self.challenge = crypto.pkce_pair()

    def assertion(self, **claims: Any) -> str:
        token = crypto.client_assertion(self.keys.active_signing, CID, self.server.issuer)
        if not claims:
            return token
        body = {**json.loads(crypto.b64url_decode(token.split(".")[1])), **claims}
        header = {"alg": "ES256", "typ": "JWT", "kid": self.keys.active_signing.kid}
        return jws.serialize_compact(header, json.dumps(body), self.keys.active_signing)

    def proof(self, method: str, path: str, **kw: Any) -> str:
        return crypto.dpop_proof(self.dpop, method, self.server.url(path), **kw)

    def par(
        self, form: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body = {
            "response_type": "code",
            "scope": "openid",
            "client_id": CID,
            "redirect_uri": REDIRECT,
            "state": "s" * 20,
            "nonce": "n" * 20,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "client_assertion_type": crypto.CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        body.update(form or {})
        hdrs = {"DPoP": self.proof("POST", "/par")}
        hdrs.update(headers or {})
        return HTTP.post(
            self.server.url("/par"),
            data={k: v for k, v in body.items() if v is not None},
            headers={k: v for k, v in hdrs.items() if v},
        )

    def code(self) -> str:
        request_uri = self.par().json()["request_uri"]
        resp = HTTP.get(self.server.url("/authorize"), params={"client_id": CID, "request_uri": request_uri})
        return dict(parse_qsl(urlsplit(resp.headers["location"]).query))["code"]

    def token(
        self, code: str, form: dict[str, Any] | None = None, proof: str | None = None
    ) -> httpx.Response:
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CID,
            "code_verifier": self.verifier,
            "client_assertion_type": crypto.CLIENT_ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        body.update(form or {})
        return HTTP.post(
            self.server.url("/token"), data=body, headers={"DPoP": proof or self.proof("POST", "/token")}
        )


@pytest.fixture
def client(server, client_keys) -> Client:
    return Client(server, client_keys)


def _refused(resp: httpx.Response, error: str, description: str) -> None:
    assert resp.status_code in (400, 401), resp.text
    body = resp.json()
    assert body["error"] == error and description in body["error_description"], body


PAR_CASES = [
    ("no DPoP header", {}, {"DPoP": ""}, "invalid_dpop_proof", "DPoP header missing"),
    ("assertion aud is not the issuer", {"client_assertion": "AUD"}, {}, "invalid_client", "aud"),
    ("assertion lives over 2 minutes", {"client_assertion": "LONG"}, {}, "invalid_client", "over 2 minutes"),
    ("assertion expired", {"client_assertion": "EXPIRED"}, {}, "invalid_client", "expired"),
    ("assertion for another client", {"client_assertion": "SUB"}, {}, "invalid_client", "mismatch"),
    ("assertion HS256", {"client_assertion": "HS256"}, {}, "invalid_client", "alg HS256 not allowed"),
    ("no PKCE", {"code_challenge": None}, {}, "invalid_request", "PKCE"),
    ("PKCE plain", {"code_challenge_method": "plain"}, {}, "invalid_request", "PKCE"),
    ("unregistered redirect_uri", {"redirect_uri": "https://evil/cb"}, {}, "invalid_request", "redirect_uri"),
    ("request_uri inside a PAR", {"request_uri": "urn:x"}, {}, "invalid_request", "request_uri"),
    ("no openid scope", {"scope": "profile"}, {}, "invalid_scope", "openid"),
    ("DPoP for GET", {}, {"DPoP": "GET"}, "invalid_dpop_proof", "htm"),
    ("DPoP for another URL", {}, {"DPoP": "HTU"}, "invalid_dpop_proof", "htu"),
    ("DPoP too old", {}, {"DPoP": "OLD"}, "invalid_dpop_proof", "iat"),
    ("DPoP carrying a private key", {}, {"DPoP": "PRIVATE"}, "invalid_dpop_proof", "public"),
    ("dpop_jkt of another key", {"dpop_jkt": "A" * 43}, {}, "invalid_dpop_proof", "dpop_jkt"),
]


@pytest.mark.parametrize(
    ("name", "form", "headers", "error", "description"), PAR_CASES, ids=[c[0] for c in PAR_CASES]
)
def test_par_refuses(name, form, headers, error, description, client, client_keys):
    special_assertions = {
        "AUD": lambda: client.assertion(aud="https://someone-else"),
        "LONG": lambda: client.assertion(exp=int(time.time()) + 300),
        "EXPIRED": lambda: client.assertion(iat=int(time.time()) - 200, exp=int(time.time()) - 100),
        "SUB": lambda: client.assertion(sub="other-client"),
        "HS256": lambda: jws.serialize_compact(
            {"alg": "HS256", "typ": "JWT"}, "{}", client_keys.active_cookie
        ),
    }
    if form.get("client_assertion") in special_assertions:
        form = {**form, "client_assertion": special_assertions[form["client_assertion"]]()}
    special_proofs = {
        "GET": lambda: client.proof("GET", "/par"),
        "HTU": lambda: client.proof("POST", "/token"),
        "OLD": lambda: crypto.dpop_proof(
            client.dpop, "POST", client.server.url("/par"), now=time.time() - 600
        ),
        "PRIVATE": lambda: _proof_with_private_jwk(client),
    }
    if headers.get("DPoP") in special_proofs:
        headers = {"DPoP": special_proofs[headers["DPoP"]]()}
    _refused(client.par(form, headers), error, description)


def _proof_with_private_jwk(client: Client) -> str:
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": client.dpop.as_dict(private=True)}
    claims = {
        "jti": "j" * 22,
        "htm": "POST",
        "htu": client.server.url("/par"),
        "iat": int(time.time()),
    }
    return jws.serialize_compact(header, json.dumps(claims), client.dpop)


def test_a_reused_client_assertion_jti_is_refused(client):
    assertion = client.assertion()
    assert client.par({"client_assertion": assertion}).status_code == 201
    _refused(client.par({"client_assertion": assertion}), "invalid_client", "jti reused")


def test_a_reused_dpop_proof_is_refused(client):
    proof = client.proof("POST", "/par")
    assert client.par(headers={"DPoP": proof}).status_code == 201
    _refused(client.par(headers={"DPoP": proof}), "invalid_dpop_proof", "jti reused")


def test_authorize_takes_only_client_id_and_a_single_use_request_uri(client, server):
    request_uri = client.par().json()["request_uri"]
    extra = HTTP.get(
        server.url("/authorize"), params={"client_id": CID, "request_uri": request_uri, "scope": "x"}
    )
    _refused(extra, "invalid_request", "only client_id and request_uri")
    request_uri = client.par().json()["request_uri"]
    ok = HTTP.get(server.url("/authorize"), params={"client_id": CID, "request_uri": request_uri})
    assert ok.status_code == 302 and "iss=" in ok.headers["location"]
    again = HTTP.get(server.url("/authorize"), params={"client_id": CID, "request_uri": request_uri})
    _refused(again, "invalid_request_uri", "unknown, used or expired")


def test_token_enforces_single_use_codes_pkce_dpop_binding_and_redirect_uri(client, server, client_keys):
    code = client.code()
    assert client.token(code).status_code == 200
    _refused(client.token(code), "invalid_grant", "code already used")

    _refused(client.token(client.code(), {"code_verifier": crypto.pkce_pair()[0]}), "invalid_grant", "PKCE")
    _refused(
        client.token(client.code(), {"redirect_uri": "https://rp.example/other"}),
        "invalid_grant",
        "redirect_uri",
    )
    other_key_proof = crypto.dpop_proof(crypto.new_dpop_key(), "POST", server.url("/token"))
    _refused(client.token(client.code(), proof=other_key_proof), "invalid_grant", "DPoP key differs")
    _refused(client.token("never-issued"), "invalid_grant", "code unknown")


def test_userinfo_needs_the_dpop_scheme_and_a_matching_ath(client, server):
    tokens = client.token(client.code()).json()
    assert tokens["token_type"] == "DPoP"
    at = tokens["access_token"]
    url = server.url("/userinfo")
    bearer = HTTP.get(
        url,
        headers={"Authorization": f"Bearer {at}", "DPoP": client.proof("GET", "/userinfo", access_token=at)},
    )
    _refused(bearer, "invalid_token", "DPoP access token required")
    wrong_ath = HTTP.get(
        url,
        headers={"Authorization": f"DPoP {at}", "DPoP": client.proof("GET", "/userinfo", access_token="x")},
    )
    _refused(wrong_ath, "invalid_dpop_proof", "ath")
    assert wrong_ath.headers["WWW-Authenticate"].startswith("DPoP")
    ok = HTTP.get(
        url,
        headers={"Authorization": f"DPoP {at}", "DPoP": client.proof("GET", "/userinfo", access_token=at)},
    )
    assert (
        ok.status_code == 200 and ok.headers["content-type"] == "application/jwt" and ok.text.count(".") == 4
    )


def test_id_token_is_an_es256_jws_inside_an_ecdh_es_jwe_to_the_client_key(client, server, client_keys):
    id_token = client.token(client.code()).json()["id_token"]
    header = crypto.decode_header(id_token.split(".")[0])
    assert header["alg"] == "ECDH-ES+A256KW" and header["enc"] == "A256GCM"
    assert header["kid"] == client_keys.encryption[0].kid
    inner = crypto.decrypt_jwe(id_token, client_keys.encryption_by_kid()).decode()
    assert crypto.decode_header(inner.split(".")[0])["alg"] == "ES256"
    claims = crypto.verify_jws(
        inner, lambda kid: next((k for k in server.signing_keys if k.kid == kid), None)
    )
    assert claims["iss"] == server.issuer and claims["aud"] == CID and claims["nonce"] == "n" * 20
